"""fwdrev sweep --shard I/N and fwdrev merge: the shards partition the grid the same way
everywhere, balanced by estimated time, and merged shards are one run that report reads.
Everything is written under tmp_path."""
from __future__ import annotations

import json
import random

import pytest

from bench import merge, report, store
from bench.sweep import grid, presets, shard
from bench.errors import UsageError
from sweep_helpers import MICRO, copy_run, run_sweep

ARGS = [a if a != "4,8" else "4,8,16" for a in MICRO]
"""A micro sweep of 3 points × 2 modes."""


def timing_of(name):
    return {**presets.TIMING_DEFAULTS, **presets.PRESETS[name]["timing"]}


@pytest.mark.parametrize("name", ["quick", "default"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_shards_partition_the_grid(name, n):
    """The union of the N shards is the grid, no point twice; every order of the input
    gives the same assignment; the loads differ by at most the longest point."""
    expanded, tim = grid.expand(grid.subgrids(name, {})), timing_of(name)
    parts = [shard.select(expanded, (i, n), tim) for i in range(1, n + 1)]
    keys = [p.key() for part in parts for p, _, _ in part]
    assert sorted(keys) == sorted(p.key() for p, _, _ in expanded)
    assert len(keys) == len(set(keys))
    shuffled = list(expanded)
    random.Random(n).shuffle(shuffled)
    assert shard.assign(shuffled, n, tim) == shard.assign(expanded, n, tim)
    loads = [sum(shard.point_seconds(p, m, tim) for p, m, _ in part) for part in parts]
    longest = max(shard.point_seconds(p, m, tim) for p, m, _ in expanded)
    assert max(loads) - min(loads) <= longest + 1e-9


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_bad_shard(tmp_path, capsys, text):
    with pytest.raises(UsageError, match="--shard must be I/N"):
        shard.parse(text)
    assert run_sweep(tmp_path / "r", *ARGS, "--shard", text) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """A results root with a real 2-shard sweep (runs s1, s2) merged into run `all`."""
    root = tmp_path_factory.mktemp("results")
    for i in (1, 2):
        assert run_sweep(root, *ARGS, "--shard", f"{i}/2", "--run-id", f"s{i}") == 0
    assert merge.main(["s1", "s2", "--run-id", "all", "--results-dir", str(root)]) == 0
    return root


def test_two_shards_merge_into_the_whole_grid(shards, tmp_path):
    root = shards
    pairs = {i: {(r["point_key"], r["mode"]) for r in store.read_rows(root / i / "points.csv")}
             for i in ("s1", "s2", "all")}
    assert pairs["s1"] and pairs["s2"] and not pairs["s1"] & pairs["s2"]
    assert pairs["all"] == pairs["s1"] | pairs["s2"] and len(pairs["all"]) == 6
    metas = {i: json.loads((root / i / "meta.json").read_text()) for i in pairs}
    assert metas["s1"]["shard"] == "1/2" and metas["s2"]["shard"] == "2/2"
    m = metas["all"]
    assert m["complete"] and m["shard"] is None and set(m["sources"]) == {"s1", "s2"}
    assert m["schema"] == "fwdrev-run/4" and m["grids"] == metas["s1"]["grids"]
    raw = json.loads((root / "all" / "pytest-benchmark.json").read_text())
    assert len(raw["benchmarks"]) == 6
    assert (root / "latest").resolve().name == "all"
    # the merged run is the unsharded run: a sweep of the same grid resumes it, times nothing
    assert run_sweep(root, *ARGS, "--run-id", "all") == 0
    assert report.main(["all", "--results-dir", str(root),
                        "--plots-dir", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "all" / "REPORT.md").exists()


def test_a_shard_never_resumes_another(shards, capsys):
    assert run_sweep(shards, *ARGS, "--shard", "2/2", "--run-id", "s1") == 2
    assert "is shard 1/2, not 2/2" in capsys.readouterr().err


def test_merge_refuses_a_point_twice_unless_asked(shards, capsys):
    root = shards
    copy_run(root / "s1", root, "s1b")
    assert merge.main(["s1", "s2", "s1b", "--run-id", "dup", "--results-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is in both s1 and s1b" in err
    assert not (root / "dup").exists()
    assert merge.main(["s1", "s2", "s1b", "--run-id", "dup", "--prefer-last",
                       "--results-dir", str(root)]) == 0
    assert {r["run_id"] for r in store.read_rows(root / "dup" / "points.csv")} >= {"s2"}


def test_merge_refuses_other_settings_and_taken_ids(shards, capsys):
    root = shards
    other = copy_run(root / "s2", root, "s2t")
    info = json.loads((other / "meta.json").read_text())
    store.write_json(other / "meta.json", {**info, "timing": {**info["timing"], "max_time": 9}})
    assert merge.main(["s1", "s2t", "--run-id", "x", "--results-dir", str(root)]) == 2
    assert "differ in timing" in capsys.readouterr().err
    assert merge.main(["s1", "s2", "--run-id", "all", "--results-dir", str(root)]) == 2
    assert "exists already" in capsys.readouterr().err
