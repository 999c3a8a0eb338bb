"""fwdrev compare and fwdrev list, on small runs written here (no timing)."""
import json

import pytest

from bench import compare, listing, rounds, store, verdicts
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


def table_lines(out):
    """The pair rows of compare's table, without their verdict mark."""
    return [l[2:] for l in out.splitlines() if l[2:].startswith(("gradient L", "params L"))]


ROWS = [(1, 8, 8, "forward", 2e-3), (1, 8, 8, "reverse", 1e-3), (2, 16, 16, "forward", 8e-3),
        (2, 16, 16, "reverse", 2e-3)]


def test_compare_pairs_points_and_reports_ratios(tmp_path, capsys):
    write_run(tmp_path, "a", ROWS)
    write_run(tmp_path, "b", [(L, m, d, mo, 2 * t) for L, m, d, mo, t in ROWS[:3]] + [(3, 4, 4, "forward", 1e-3)])
    rc = compare.main(["a", "b", "--results-dir", str(tmp_path), "--plots-dir", str(tmp_path / "p")])
    out = capsys.readouterr().out
    assert rc == 0 and "3 pair(s)" in out
    table = table_lines(out)
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
    table = table_lines(out)
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
    assert "complete" in lines["one"] and "4/?" in lines["one"]     # no plan in its meta.json
    assert "incomplete" in lines["two"] and "2/?" in lines["two"]
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


# -- verdicts from the raw rounds -----------------------------------------------------------------
def with_rounds(run_dir, scale=1.0, slow=(), n=40, seed=0):
    """Give every row of a run n rounds around its median (a fixed scatter of ±5%);
    rows whose mode is in `slow` get their median and rounds times `scale`."""
    import random
    rng = random.Random(seed)
    rows = store.read_rows(run_dir / "points.csv")
    for r in rows:
        f = scale if r["mode"] in slow else 1.0
        t = float(r["time_median_s"]) * f
        r["time_median_s"] = str(t)
        rounds.save(run_dir, r["point_key"], r["mode"], [t * (1 + 0.05 * rng.uniform(-1, 1))
                                                        for _ in range(n)])
    store.upsert_rows(run_dir / "points.csv", rows)


def run_compare(tmp_path, *args):
    return compare.main([*args, "--results-dir", str(tmp_path), "--plots-dir", str(tmp_path / "p")])


def test_a_slowed_mode_is_slower_listed_first_and_fails_above(tmp_path, capsys):
    with_rounds(write_run(tmp_path, "a", ROWS), seed=1)
    with_rounds(write_run(tmp_path, "b", ROWS), scale=1.5, slow=("reverse",), seed=2)
    assert run_compare(tmp_path, "a", "b", "--fail-above", "1.2") == 1
    out = capsys.readouterr().out
    table = [l for l in out.splitlines() if l[2:].startswith("gradient L")]
    assert [l[0] for l in table] == ["!", "!", " ", " "]  # the slowed pairs first, marked
    assert all(" reverse " in l and " slower " in l for l in table[:2])
    assert all(" forward " in l and " no change " in l for l in table[2:])
    assert "verdicts: 2 slower, 0 faster, 2 no change (of 4 pairs)" in out
    assert "FAIL: 2 pair(s) more than 1.2x slower" in out
    # the same slow-down under a higher threshold passes; the verdicts stay
    assert run_compare(tmp_path, "a", "b", "--fail-above", "1.6") == 0
    assert "2 slower" in capsys.readouterr().out
    # --only-changed prints the two changed pairs only
    run_compare(tmp_path, "a", "b", "--only-changed")
    assert len(table_lines(capsys.readouterr().out)) == 2


def test_unchanged_runs_have_no_change_and_pass(tmp_path, capsys):
    with_rounds(write_run(tmp_path, "a", ROWS), seed=1)
    with_rounds(write_run(tmp_path, "b", ROWS), seed=2)
    assert run_compare(tmp_path, "a", "b", "--fail-above", "1.2") == 0
    assert "verdicts: 0 slower, 0 faster, 4 no change (of 4 pairs)" in capsys.readouterr().out


def test_a_big_ratio_on_too_few_rounds_is_not_a_change(tmp_path, capsys):
    """3 rounds a side cannot reach significance: a 1.5x ratio is reported, not judged."""
    with_rounds(write_run(tmp_path, "a", ROWS), n=3, seed=1)
    with_rounds(write_run(tmp_path, "b", ROWS), scale=1.5, slow=("reverse",), n=3, seed=2)
    assert run_compare(tmp_path, "a", "b", "--fail-above", "1.2") == 0
    assert "0 slower" in capsys.readouterr().out


def test_faster_and_sort_by_ratio(tmp_path, capsys):
    with_rounds(write_run(tmp_path, "a", ROWS), seed=1)
    with_rounds(write_run(tmp_path, "b", ROWS), scale=0.5, slow=("forward",), seed=2)
    assert run_compare(tmp_path, "a", "b", "--sort", "ratio", "--fail-above", "1.2") == 0
    out = capsys.readouterr().out
    table = table_lines(out)
    assert all(" forward " in l for l in table[2:]) and "2 faster" in out
    assert [l[0] for l in out.splitlines() if l[2:].startswith("gradient L")][-2:] == ["-", "-"]


def test_json_and_csv_hold_every_pair(tmp_path, capsys):
    import csv
    with_rounds(write_run(tmp_path, "a", ROWS), seed=1)
    with_rounds(write_run(tmp_path, "b", ROWS), scale=1.5, slow=("reverse",), seed=2)
    j, c = tmp_path / "out.json", tmp_path / "out.csv"
    run_compare(tmp_path, "a", "b", "--json", str(j), "--csv", str(c))
    recs = json.loads(j.read_text())
    assert len(recs) == 4 and {r["verdict"] for r in recs} == {"slower", "no change"}
    assert all(r["p"] is not None and 0 <= r["p"] <= 1 for r in recs)
    slower = [r for r in recs if r["verdict"] == "slower"]
    assert all(r["mode"] == "reverse" and abs(r["ratio"] - 1.5) < 1e-9 for r in slower)
    with open(c, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["verdict"] for r in rows] == [r["verdict"] for r in recs]


@pytest.mark.parametrize("args,what", [
    (["--fail-above", "1"], "--fail-above"), (["--fail-above", "abc"], "--fail-above"),
    (["--fail-above", "nan"], "--fail-above"), (["--factor", "0.9"], "--factor"),
    (["--sort", "speed"], "--sort"), (["--json", "nodir/x.json"], "nodir"),
    (["--csv", "nodir/x.csv"], "nodir")])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, args, what):
    write_run(tmp_path, "a", ROWS)
    write_run(tmp_path, "b", ROWS)
    monkeypatch.chdir(tmp_path)
    before = sorted(p for p in tmp_path.rglob("*"))
    assert run_compare(tmp_path, "a", "b", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("compare: error:") and "\n" not in err and what in err
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_a_read_only_folder_is_refused(tmp_path, capsys):
    import os
    write_run(tmp_path, "a", ROWS)
    write_run(tmp_path, "b", ROWS)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert run_compare(tmp_path, "a", "b", "--json", str(ro / "x.json")) == 2
        assert "not writable" in capsys.readouterr().err and not list(ro.iterdir())
    finally:
        ro.chmod(0o700)


def test_different_fingerprints_are_said_first(tmp_path, capsys):
    for name, cpu in (("a", "CPU One"), ("b", "CPU Two")):
        d = write_run(tmp_path, name, ROWS)
        m = store.read_json(d / "meta.json")
        store.write_json(d / "meta.json", {**m, "fingerprint": {"cpu": {"model_name": cpu}}})
    run_compare(tmp_path, "a", "b")
    first = capsys.readouterr().out.splitlines()[0]
    assert "different machines" in first and "CPU One -> CPU Two" in first
    d = tmp_path / "b" / "meta.json"
    store.write_json(d, {**store.read_json(d), "fingerprint": {"cpu": {"model_name": "CPU One"}}})
    run_compare(tmp_path, "a", "b")
    assert capsys.readouterr().out.startswith("A = ")


# -- pairing ---------------------------------------------------------------------------------------
def test_by_backend_rows_carry_what_they_were_not_paired_on(tmp_path, capsys):
    """A has numpy and torch rows, B torch only: with --by backend both of A's rows pair
    with B's, and each row says which backends it compares, so no two read alike."""
    a = write_run(tmp_path, "a", ROWS)
    store.upsert_rows(a / "points.csv", store.read_rows(a / "points.csv") + store.read_rows(
        write_run(tmp_path, "t", [(L, m, d, mo, 3 * t) for L, m, d, mo, t in ROWS],
                  backend="torch") / "points.csv"))
    write_run(tmp_path, "b", ROWS, backend="torch")
    assert run_compare(tmp_path, "a", "b", "--by", "backend") == 0
    import re
    table = table_lines(capsys.readouterr().out)
    named = [re.match(r"(.*?)\s+(forward|reverse)\s", l).groups() for l in table]
    assert len(table) == 8 and len(set(named)) == 8  # no two rows read alike
    assert sum(label.endswith("backend numpy→torch") for label, _ in named) == 4
    assert sum(label.endswith("/torch") for label, _ in named) == 4


def test_unpaired_points_are_counted_or_listed_one_a_line(tmp_path, capsys):
    write_run(tmp_path, "a", ROWS + [(3, 4, 4, "forward", 1e-3), (3, 8, 8, "forward", 1e-3)])
    write_run(tmp_path, "b", ROWS)
    run_compare(tmp_path, "a", "b")
    out = capsys.readouterr().out
    assert "only in A: 2 point(s) (--show-unpaired lists them)" in out and "L=3" not in out
    run_compare(tmp_path, "a", "b", "--show-unpaired")
    lines = capsys.readouterr().out.splitlines()
    i = lines.index("only in A: 2 point(s):")
    assert all(l.startswith("  target=gradient L=3") for l in lines[i + 1:i + 3])


# -- the rounds store ------------------------------------------------------------------------------
def test_rounds_are_thinned_evenly_and_read_back(tmp_path):
    times = [1e-3 * (1 + i / 10_000) for i in range(10_000)]
    kept = rounds.thin(times)
    assert len(kept) == rounds.MAX_ROUNDS and kept[0] == times[0]
    assert kept[-1] == float(f"{times[-1]:.4g}") and kept == sorted(kept)
    rounds.save(tmp_path, "k", "reverse", times)
    assert rounds.load(tmp_path) == {("k", "reverse"): kept}
    assert (tmp_path / rounds.NAME).stat().st_size < 12 * rounds.MAX_ROUNDS  # compact


def test_rounds_fall_back_on_pytest_benchmarks_data(tmp_path):
    p = Point(L=1, m=4, d=4)
    store.write_json(tmp_path / "pytest-benchmark.json", {"benchmarks": [
        {"params": {"fwdrev_case": {"point": p.as_dict(), "mode": "forward"}},
         "stats": {"data": [1e-4, 2e-4]}}]})
    assert rounds.load(tmp_path) == {(p.key(), "forward"): [1e-4, 2e-4]}


def test_mann_whitney_against_the_exact_permutation_test():
    """The normal approximation against the exact permutation distribution of U."""
    import itertools
    a = [1.0, 2.5, 3.0, 3.5, 4.0, 6.0, 7.0, 8.0]
    b = [2.0, 4.5, 5.0, 5.5, 9.0, 10.0, 11.0, 12.0]
    both = a + b
    def u(xs):
        return sum((x > y) + 0.5 * (x == y) for x in xs for y in both if y not in xs)
    u_obs = u(a)
    mean = len(a) * len(b) / 2
    us = [u([both[i] for i in idx]) for idx in itertools.combinations(range(16), 8)]
    exact = sum(abs(x - mean) >= abs(u_obs - mean) for x in us) / len(us)
    assert verdicts.mann_whitney_p(a, b) == pytest.approx(exact, abs=0.01)
    assert verdicts.mann_whitney_p([1.0] * 5, [1.0] * 5) != verdicts.mann_whitney_p([1.0] * 5, [1.0] * 5)
    assert verdicts.mann_whitney_p(list(range(30)), list(range(100, 130))) < 1e-9


def test_a_real_sweep_keeps_its_rounds_and_compare_reads_them(tmp_path, capsys):
    """The smallest real sweep: the pytest child writes each row's rounds to rounds.json,
    and compare tests every pair on them (a p-value, not '-'; the run against itself)."""
    from sweep_helpers import MICRO, run_sweep
    assert run_sweep(tmp_path, *MICRO, "--min-rounds", "8", "--run-id", "x") == 0
    rows = [r for r in store.read_rows(tmp_path / "x" / "points.csv") if r["status"] == "ok"]
    kept = rounds.load(tmp_path / "x")
    assert rows and all(len(kept[(r["point_key"], r["mode"])]) == min(int(r["rounds"]), 256)
                        for r in rows)
    capsys.readouterr()
    j = tmp_path / "pairs.json"
    assert run_compare(tmp_path, "x", "x", "--json", str(j), "--fail-above", "1.01") == 0
    recs = json.loads(j.read_text())
    assert len(recs) == 4 and all(r["p"] is not None and r["verdict"] == "no change" for r in recs)


def test_a_burst_on_some_rounds_is_not_a_change():
    """Half of B's rounds hit by a neighbour (3x): the median moves, the quickest round does
    not, so it is no change; every round 1.5x slower (a per-call cost) is slower."""
    a = [1e-3 * (1 + 0.01 * i) for i in range(40)]
    burst = [t * (3 if i % 2 else 1) for i, t in enumerate(a)]
    for b, want in ((burst, verdicts.SAME), ([1.5 * t for t in a], verdicts.SLOWER)):
        ratio = sorted(b)[20] / sorted(a)[20]
        p, q = verdicts.test_p(a, b), min(b) / min(a)
        assert ratio > 1.2 and verdicts.significant(p)
        assert verdicts.verdict(ratio, p, quickest=q) == want
        assert verdicts.fails_above(ratio, p, 1.2, quickest=q) == (want == verdicts.SLOWER)
    assert verdicts.test_p(a[:4], [2 * t for t in a]) != verdicts.test_p(a[:4], a)  # nan: too few
