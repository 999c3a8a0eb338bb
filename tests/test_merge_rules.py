"""compare's pairing and merge's rules on hand-made runs whose answers are known: what pairs
with what, what is unpaired and on which side, when counts differ, when a merged run is
complete, and what --prefer-last keeps."""
import json

import pytest

from bench import compare, merge, store
from bench.errors import UsageError
from bench.points import Point
from bench.report import analysis
from bench.rows import COLUMNS
from bench.sweep import grid
from bench.sweep.shard import run_hash


def row(mode="forward", t=1.0, ops=100, status="ok", run="a", **kw):
    point = {k: kw.pop(k) for k in list(kw) if k in Point.__dataclass_fields__}
    p = Point(**{"L": 3, "m": 8, "d": 8, **point})
    r = dict.fromkeys(COLUMNS, "")
    r.update({k: str(v) for k, v in p.as_dict().items()}, point_key=p.key(), mode=mode,
             status=status, run_id=run, finished_utc="2026-01-01T00:00:00Z",
             mem_estimate_bytes="0", ops_predicted=str(ops))
    if status == "ok":
        r.update(time_median_s=str(t), time_iqr_s="0.0", time_min_s=str(t), rounds="3",
                 ops_total="" if ops is None else str(ops))
    r.update(kw)
    return r


def frame(rows):
    return analysis.load(".", rows=rows)


# -- compare ----------------------------------------------------------------------------------
def test_an_hourglass_pairs_with_the_hourglass_only():
    """Same L, m, d, K: the uniform chain and the hourglass of waist 2 are other points."""
    a = frame([row(t=1.0), row(t=2.0, waist=2)])
    b = frame([row(t=3.0), row(t=8.0, waist=2)])
    both, key, only_a, only_b = compare.pair(a, b)
    assert "waist" in key and len(both) == 2 and only_a.empty and only_b.empty
    assert sorted(zip(both.waist, both.ratio)) == [(0, 3.0), (2, 4.0)]


def test_rows_not_ok_pair_with_nothing_and_unpaired_rows_are_listed_on_their_side():
    a = frame([row(m=8, t=1.0), row(m=16, t=1.0), row(m=32, t=1.0)])
    b = frame([row(m=8, t=2.0), row(m=16, status="disagree"), row(m=64, t=1.0)])
    both, key, only_a, only_b = compare.pair(a, b)
    assert list(both.m) == [8] and list(both.ratio) == [2.0]
    assert sorted(only_a.m) == [16, 32]      # A's ok rows without an ok partner
    assert sorted(only_b.m) == [64]          # B's disagree row is no result: not listed


def test_counts_are_compared_only_where_both_sides_count():
    a = frame([row(ops=100), row("autograd", ops=None)])
    b = frame([row(ops=None), row("autograd", ops=None)])
    both, *_ = compare.pair(a, b)
    assert not any(compare.counted(r) for _, r in both.iterrows())
    both, *_ = compare.pair(a, frame([row(ops=120)]))
    assert [compare.counted(r) for _, r in both.iterrows()] == [True]


def test_forward_over_reverse_per_run():
    rows = frame([row("forward", t=6.0), row("reverse", t=2.0)])
    both, key, *_ = compare.pair(rows, rows)
    fr = compare.fwd_rev(both.rename(columns={"time_median_s_a": "time"}), key)
    assert list(fr.values()) == [3.0]


def test_a_selection_names_configuration_columns_only():
    assert compare.selection("run:exec=graph,threads=2") == ("run", {"exec": "graph", "threads": "2"})
    for bad in ("run:colour=red", "run:exec"):
        with pytest.raises(compare.SelectionError):
            compare.selection(bad)
    df = frame([row(backend="numpy"), row(backend="torch", t=2.0)])
    assert list(compare.select(df, {"backend": "torch"}, "run").backend) == ["torch"]


def write_run(root, run_id, rows, **meta):
    d = root / run_id
    store.atomic_write(d / "points.csv", store.format_rows(rows))
    info = {"run_id": run_id, "grids": [{"m": [8]}], "timing": {"max_time": 1},
            "guards": {"tol": 1e-8}, "shard": None, "complete": True, "machine": {"cpu": "c"},
            **meta}
    info["spec_hash"] = run_hash(info)  # as a sweep hashes it: a shard's differs
    store.write_json(d / "meta.json", info)
    return d


def test_compare_by_mode_pairs_forward_of_a_with_reverse_of_b(tmp_path, capsys):
    root = tmp_path / "results"
    write_run(root, "a", [row("forward", t=6.0), row("reverse", t=1.0)])
    write_run(root, "b", [row("forward", t=100.0), row("reverse", t=2.0)])
    assert compare.main(["a", "b", "--by", "mode", "--results-dir", str(root),
                         "--plots-dir", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "1 pair(s)" in out and "B/A time: median 0.333" in out


def test_compare_says_when_counts_differ(tmp_path, capsys):
    root = tmp_path / "results"
    write_run(root, "a", [row("forward", ops=100), row("reverse", ops=50)])
    write_run(root, "b", [row("forward", ops=101), row("reverse", ops=50)])
    assert compare.main(["a", "b", "--results-dir", str(root), "--plots-dir", str(tmp_path)]) == 0
    assert "counted operations: 1 pair(s) DIFFER (2 counted pair(s)" in capsys.readouterr().out


# -- merge ----------------------------------------------------------------------------------------
def meta(shard=None, complete=True):
    return {"shard": shard, "complete": complete}


@pytest.mark.parametrize("metas, want", [
    ([meta("1/3"), meta("2/3"), meta("3/3")], True),
    ([meta("3/3"), meta("1/3"), meta("2/3")], True),
    ([meta("1/3"), meta("2/3")], False),                       # a shard missing
    ([meta("1/3"), meta("2/3"), meta("3/3", complete=False)], False),
    ([meta("1/2"), meta("2/2", complete=False)], False),
    ([meta("1/2"), meta("1/3"), meta("2/3"), meta("3/3")], False),  # shards of two splits
    ([meta("1/2"), meta("2/3")], False),
    ([meta(), meta("1/2")], True),                             # one whole run covers the grid
    ([meta(), meta(complete=False)], False),
    ([meta(complete=False), meta(complete=False)], False),
])
def test_a_merged_run_is_complete_when_its_runs_cover_the_grid(metas, want):
    assert merge.complete(metas) is want


def test_prefer_last_keeps_the_later_runs_row_and_the_default_refuses():
    s1 = {"id": "r1", "rows": [row(t=1.0, run="r1"), row("reverse", t=1.0, run="r1")]}
    s2 = {"id": "r2", "rows": [row(t=2.0, run="r2")]}
    with pytest.raises(UsageError, match="r1 and r2"):
        merge.union([s1, s2])
    rows, keep = merge.union([s1, s2], prefer_last=True)
    assert len(rows) == 2
    by = {r["mode"]: r for r in rows}
    assert by["forward"]["run_id"] == "r2" and by["reverse"]["run_id"] == "r1"
    assert keep == {(row()["point_key"], "forward"): "r2", (row()["point_key"], "reverse"): "r1"}


def bench_doc(run, rows):
    return {"machine_info": {"run": run}, "commit_info": {}, "datetime": "d", "version": "v",
            "benchmarks": [{"group": r["point_key"], "extra_info": {"mode": r["mode"]}, "name": run,
                            "fullname": f"test_points.py::test_point[{r['point_key']}-{r['mode']}]"}
                           for r in rows]}


def test_merge_end_to_end(tmp_path, capsys):
    """Two shards, one point measured by both: refused without --prefer-last; with it, one
    row and one benchmark per (point, mode), the later run's; a meta unsharded, complete,
    hashed as an unsharded sweep of the grid would be."""
    root = tmp_path / "results"
    r1 = [row(m=8, run="s1"), row(m=16, run="s1")]
    r2 = [row(m=16, run="s2", t=5.0), row(m=32, run="s2")]
    for run, rows, sh in (("s1", r1, "1/2"), ("s2", r2, "2/2")):
        d = write_run(root, run, rows, shard=sh)
        store.write_json(d / "pytest-benchmark.json", bench_doc(run, rows))
    assert merge.main(["s1", "s2", "--run-id", "all", "--results-dir", str(root)]) != 0
    assert not (root / "all").exists()
    assert merge.main(["s1", "s2", "--run-id", "all", "--results-dir", str(root), "--prefer-last"]) == 0
    rows = store.read_rows(root / "all" / "points.csv")
    assert sorted(int(r["m"]) for r in rows) == [8, 16, 32]
    assert [r["run_id"] for r in rows if r["m"] == "16"] == ["s2"]
    benches = json.loads((root / "all" / "pytest-benchmark.json").read_text())["benchmarks"]
    assert sorted((b["group"], b["name"]) for b in benches) == sorted(
        [(r1[0]["point_key"], "s1"), (r2[0]["point_key"], "s2"), (r2[1]["point_key"], "s2")])
    info = json.loads((root / "all" / "meta.json").read_text())
    assert info["shard"] is None and info["complete"] is True and info["merged_from"] == ["s1", "s2"]
    shard1 = json.loads((root / "s1" / "meta.json").read_text())
    assert info["spec_hash"] == grid.spec_hash({k: shard1[k] for k in ("grids", "timing", "guards")})
    assert info["spec_hash"] != shard1["spec_hash"]


def test_merge_refuses_one_run_twice_and_runs_of_other_grids(tmp_path, capsys):
    root = tmp_path / "results"
    write_run(root, "s1", [row(m=8)], shard="1/2")
    write_run(root, "s2", [row(m=16)], shard="2/2", grids=[{"m": [16]}])
    assert merge.main(["s1", "s1", "--run-id", "x", "--results-dir", str(root)]) != 0
    assert "two or more different runs" in capsys.readouterr().err
    assert merge.main(["s1", "s2", "--run-id", "y", "--results-dir", str(root)]) != 0
    assert "differ in grid" in capsys.readouterr().err
    assert not (root / "x").exists() and not (root / "y").exists()
