"""fwdrev compare and fwdrev list, on small runs written here (no timing)."""
import json

import pytest

from bench import compare, listing, store
from bench.points import Point, predicted_ops


def write_run(root, name, rows, complete=True, device="cpu", backend="numpy"):
    """A run directory with one row per (point, mode, seconds) in `rows`."""
    d = root / name
    out = []
    for (L, m, d_, mode, seconds) in rows:
        p = Point(backend=backend, device=device, L=L, m=m, d=d_)
        ops = predicted_ops(p, mode)
        row = {c: "" for c in store.COLUMNS}
        if ops is not None:  # a peer's counts stay empty
            row.update(ops_mults=str(ops.mults), ops_adds=str(ops.adds), ops_total=str(ops.total),
                       ops_predicted=str(ops.total), ops_exact="True")
        row.update(run_id=name, point_key=p.key(), mode=mode, status="ok", **{
            k: str(v) for k, v in p.as_dict().items()}, time_median_s=str(seconds),
            time_iqr_s=str(seconds / 10), time_min_s=str(seconds), rounds="5", iterations="1",
            grad_relerr="0", tol="1e-10", mem_estimate_bytes="0", finished_utc="2026-01-01T00:00:00Z")
        out.append(row)
    store.upsert_rows(d / "points.csv", out)
    store.write_json(d / "meta.json", {"run_id": name, "preset": "quick", "complete": complete,
                                       "date": "2026-01-01T00:00:00Z", "machine": {"cpu": "Test CPU"}})
    return d


ROWS = [(1, 8, 8, "forward", 2e-3), (1, 8, 8, "reverse", 1e-3), (2, 16, 16, "forward", 8e-3),
        (2, 16, 16, "reverse", 2e-3)]


def test_compare_pairs_points_and_reports_ratios(tmp_path, capsys):
    write_run(tmp_path, "a", ROWS)
    write_run(tmp_path, "b", [(L, m, d, mo, 2 * t) for L, m, d, mo, t in ROWS[:3]] + [(3, 4, 4, "forward", 1e-3)])
    rc = compare.main(["a", "b", "--results-dir", str(tmp_path), "--plots-dir", str(tmp_path / "p")])
    out = capsys.readouterr().out
    assert rc == 0 and "3 pair(s)" in out
    table = [l for l in out.splitlines() if l.startswith("gradient L")]
    assert len(table) == 3 and all("  2.000 " in l for l in table)  # B/A for every pair
    assert "only in A: 1 point(s)" in out and "only in B: 1 point(s)" in out
    assert "counted operations: all equal" in out
    assert "   2.00    2.00" in out                        # forward/reverse of both runs at L=1
    assert (tmp_path / "p" / "compare-a-b.png").stat().st_size > 1000


def test_peers_without_counts_are_not_count_differences(tmp_path, capsys):
    write_run(tmp_path, "a", ROWS + [(1, 8, 8, "autograd", 5e-3)])
    write_run(tmp_path, "b", ROWS + [(1, 8, 8, "autograd", 6e-3)])
    compare.main(["a", "b", "--results-dir", str(tmp_path), "--plots-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "5 pair(s)" in out and "counted operations: all equal (4 counted pair(s)" in out
    assert "DIFFER" not in out


def test_compare_flags_count_differences(tmp_path, capsys):
    write_run(tmp_path, "a", ROWS)
    d = write_run(tmp_path, "b", ROWS)
    rows = store.read_rows(d / "points.csv")
    rows[0]["ops_total"] = str(int(rows[0]["ops_total"]) + 1)
    store.upsert_rows(d / "points.csv", rows)
    compare.main(["a", "b", "--results-dir", str(tmp_path), "--plots-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "1 pair(s) DIFFER" in out and "DIFFER" in out.splitlines()[4] + "".join(out.splitlines()[4:8])


def test_compare_cpu_against_gpu_pairs_on_shape(tmp_path, capsys):
    write_run(tmp_path, "cpu", ROWS, backend="torch")
    write_run(tmp_path, "gpu", [(L, m, d, mo, t / 4) for L, m, d, mo, t in ROWS], device="cuda", backend="torch")
    compare.main(["cpu", "gpu", "--results-dir", str(tmp_path), "--plots-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "4 pair(s)" in out and "device" not in out.split("paired on")[1].split(":")[0]
    table = [l for l in out.splitlines() if l.startswith("gradient L")]
    assert len(table) == 4 and all("  0.250 " in l for l in table)


def test_compare_unknown_run_is_one_line(tmp_path, capsys):
    write_run(tmp_path, "a", ROWS)
    assert compare.main(["a", "nope", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("compare: error:") and "nope" in err and "\n" not in err


def test_list_shows_every_run_and_names_damage(tmp_path, capsys):
    write_run(tmp_path, "one", ROWS)
    write_run(tmp_path, "two", ROWS[:2], complete=False)
    bad = tmp_path / "three"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json")
    (tmp_path / "calibration").mkdir()
    assert listing.main(["--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = {l.split()[0]: l for l in out.splitlines()[1:]}
    assert set(lines) == {"one", "two", "three"}
    assert "complete" in lines["one"] and "4/4" in lines["one"]
    assert "incomplete" in lines["two"] and "2/2" in lines["two"]
    assert "damaged meta.json" in lines["three"]


def test_list_of_nothing(tmp_path, capsys):
    assert listing.main(["--results-dir", str(tmp_path / "none")]) == 0
    assert "no runs" in capsys.readouterr().out


def test_two_slices_of_one_run(tmp_path, capsys):
    """RUN:column=value keeps those rows: numpy against torch within one run here, as exec
    eager against graph within one GPU run."""
    torch_rows = [(L, m, d, mo, t / 2) for L, m, d, mo, t in ROWS]
    a = write_run(tmp_path, "both", ROWS)
    rows = store.read_rows(a / "points.csv") + store.read_rows(
        write_run(tmp_path, "t", torch_rows, backend="torch") / "points.csv")
    store.upsert_rows(a / "points.csv", rows)
    args = ["--results-dir", str(tmp_path), "--plots-dir", str(tmp_path / "p")]
    assert compare.main(["both:backend=numpy", "both:backend=torch", *args]) == 0
    out = capsys.readouterr().out
    assert "where backend=numpy  (4 rows)" in out and "4 pair(s)" in out
    assert "B/A time: median 0.500" in out and "counted operations: all equal" in out
    assert (tmp_path / "p" / "compare-both-numpy-both-torch.png").exists()
    assert compare.main(["both:backend=numpy", "both:bakend=torch", *args]) == 2
    assert "bad selection 'bakend=torch'" in capsys.readouterr().err
    assert compare.main(["both:backend=numpy", "both:device=cuda", *args]) == 2
    assert "no rows with device=cuda" in capsys.readouterr().err


def test_a_column_with_several_values_on_one_side_stays_in_the_pairing(tmp_path, capsys):
    """A holds numpy and torch rows, B numpy only: the torch rows are A's alone, never
    paired with B's numpy rows (which leaving `backend` out of the pairing would do)."""
    a = write_run(tmp_path, "a", ROWS)
    store.upsert_rows(a / "points.csv", store.read_rows(a / "points.csv") + store.read_rows(
        write_run(tmp_path, "t", ROWS, backend="torch") / "points.csv"))
    write_run(tmp_path, "b", ROWS)
    assert compare.main(["a", "b", "--results-dir", str(tmp_path), "--plots-dir", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "4 pair(s)" in out and "B/A time: median 1.000" in out and "only in A: 4 point(s)" in out


def test_compare_of_a_damaged_run_is_one_line(tmp_path, capsys):
    """A binary points.csv: exit 3 and one line naming it, never a traceback."""
    write_run(tmp_path, "a", ROWS)
    (write_run(tmp_path, "b", ROWS) / "points.csv").write_bytes(b"run_id,x\n\x00\x01")
    assert compare.main(["a", "b", "--results-dir", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("compare: error:") and "points.csv" in err and "\n" not in err
