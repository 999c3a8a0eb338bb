"""Runs a user can tell apart and tidy: run ids that say what changed, --name, `fwdrev list`'s
rows and points done / planned, latest~N wherever a run is named, and `fwdrev rm`."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import listing, remove, store
from bench.errors import UsageError
from bench.sweep import runs
from bench.sweep.runlock import RunLock
from sweep_helpers import MICRO, run_sweep


def _make(root, name, date):
    """A run folder whose meta.json says when it was started."""
    d = root / name
    d.mkdir(parents=True)
    store.write_json(d / "meta.json", {"run_id": name, "sessions": [{"date": date}],
                                       "date": date, "complete": True})
    store.atomic_write(d / "points.csv", store.format_rows([]))
    return d


def test_run_label_says_preset_and_axes():
    """A torch quick run and a numpy one get different ids; numbers follow their axis."""
    assert runs.run_label({"preset": "quick", "axes": {"backend": ["torch"]}}) == "quick-torch"
    assert runs.run_label({"preset": None, "axes": {"L": [1], "m": [8, 16]}}) == "custom-L1-m8_16"
    assert runs.run_label({"preset": "quick", "axes": {}}) == "quick"


@pytest.mark.parametrize("bad", ["a/b", "..", "", "../x", "latest~1"])
def test_bad_name_is_one_line_exit_2(tmp_path, capsys, bad):
    assert run_sweep(tmp_path, *MICRO, "--name", bad) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--name" in err
    assert not any(tmp_path.iterdir())                              # nothing written


def test_list_shows_rows_points_planned_and_a_custom_runs_axes(tmp_path, capsys):
    assert run_sweep(tmp_path, *MICRO, "--name", "mine") == 0
    info = json.loads((tmp_path / "mine" / "meta.json").read_text())
    assert info["planned"] == {"points": 2, "rows": 4}
    rows = store.read_rows(tmp_path / "mine" / "points.csv")[:1]   # as if interrupted after one
    store.atomic_write(tmp_path / "mine" / "points.csv", store.format_rows(rows))
    store.write_json(tmp_path / "mine" / "meta.json", {**info, "complete": False})
    capsys.readouterr()
    assert listing.main(["--results-dir", str(tmp_path)]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.split()[0] == "mine" and "None" not in line
    assert "L=1 m=4,8 d=m" in line and " 1/4 " in line and " 1/2 " in line
    assert "incomplete" in line


def test_latest_back_resolves_in_start_order_and_unknown_is_usage(tmp_path):
    for i, name in enumerate(["old", "mid", "new"]):
        _make(tmp_path, name, f"2026-01-0{i + 1}T00:00:00Z")
    store.set_latest(tmp_path, tmp_path / "new")
    assert [store.resolve_run(tmp_path, f"latest~{n}").name for n in range(3)] == \
        ["new", "mid", "old"]
    with pytest.raises(UsageError, match="latest~3"):
        store.resolve_run(tmp_path, "latest~3")


def test_compare_takes_latest_back(tmp_path, capsys):
    """latest~1 works where a run id is taken: compare's arguments."""
    from bench import compare
    assert run_sweep(tmp_path, *MICRO, "--name", "a") == 0
    assert run_sweep(tmp_path, *MICRO, "--name", "b") == 0
    assert compare.main(["latest~1", "latest", "--results-dir", str(tmp_path),
                         "--plots-dir", str(tmp_path / "p")]) == 0
    assert compare.main(["latest~5", "latest", "--results-dir", str(tmp_path)]) == 2


def test_rm_removes_runs_and_repoints_latest(tmp_path, capsys):
    _make(tmp_path, "a", "2026-01-01T00:00:00Z")
    _make(tmp_path, "b", "2026-01-02T00:00:00Z")
    store.set_latest(tmp_path, tmp_path / "b")
    assert remove.main(["latest", "--results-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "b").exists() and store.resolve_run(tmp_path).name == "a"
    assert remove.main(["a", "--results-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "latest").exists() and not (tmp_path / "latest").is_symlink()


def test_rm_refuses_reference_unknown_and_busy_removing_nothing(tmp_path, capsys):
    for name in ("a", "reference", "busy"):
        _make(tmp_path, name, "2026-01-01T00:00:00Z")
    for args, code in ((["a", "reference"], 2), (["a", "nope"], 2), (["a", "../x"], 2)):
        assert remove.main([*args, "--results-dir", str(tmp_path)]) == code
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with RunLock(tmp_path / "busy"):
        assert remove.main(["a", "busy", "--results-dir", str(tmp_path)]) == 4
    assert all((tmp_path / n / "meta.json").exists() for n in ("a", "reference", "busy"))


def test_rm_never_follows_a_planted_link(tmp_path):
    """A run folder holding a link to outside: the link goes, its target stays."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    root = tmp_path / "results"
    d = _make(root, "a", "2026-01-01T00:00:00Z")
    os.symlink(outside, d / "planted")
    assert remove.main(["a", "--results-dir", str(root)]) == 0
    assert (outside / "keep.txt").read_text() == "keep" and not d.exists()


def test_dry_run_shows_lines_and_rates_and_calibrates_nothing(tmp_path, capsys):
    assert run_sweep(tmp_path, "--preset", "quick", "--dry-run", "--threads", "999") == 0
    out, err = capsys.readouterr()
    lines = [l for l in out.splitlines() if l.startswith("  line  ")]
    from bench.sweep.presets import PRESETS
    assert len(lines) == len(PRESETS["quick"]["grids"]) and any("m (d = m)" in l and " 6 points " in l for l in lines)
    assert "typical rates" in out and "calibration ≈" in out
    assert "more than the" in err and len(err.strip().splitlines()) == 1   # the threads warning
    assert not (tmp_path / "calibration").exists()                       # nothing measured


def test_load_run_types_columns_and_carries_meta(tmp_path):
    from bench import load_run
    assert run_sweep(tmp_path, *MICRO, "--name", "a") == 0
    df = load_run("latest", tmp_path)
    assert len(df) == 4 and set(df["mode"]) == {"forward", "reverse"}
    assert str(df.m.dtype) == "Int64" and str(df.backend.dtype) == "string"
    assert df.time_median_s.dtype.kind == "f" and (df.time_median_s > 0).all()
    assert df.attrs["meta"]["run_id"] == "a" and df.attrs["meta"]["complete"] is True
    assert len(load_run(tmp_path / "a")) == 4                       # a run's folder too
    with pytest.raises(FileNotFoundError):
        load_run("nope", tmp_path)


def test_rounds_are_kept_once_in_rounds_json(tmp_path):
    """pytest-benchmark.json keeps the statistics, rounds.json every round's time: the
    per-round data is not stored twice (a default run's folder stays small)."""
    from bench import rounds
    assert run_sweep(tmp_path, *MICRO, "--min-rounds", "5", "--name", "a") == 0
    doc = json.loads((tmp_path / "a" / "pytest-benchmark.json").read_text())
    assert doc["benchmarks"] and all("data" not in b["stats"] and b["stats"]["rounds"] >= 5
                                     for b in doc["benchmarks"])
    times = rounds.load(tmp_path / "a")
    assert len(times) == 4 and all(len(t) >= 5 for t in times.values())
