"""Helpers for the sweep and report tests: one tiny real sweep, and fake runs.

Every test writes under tmp_path (never the real results/ or plots/).
"""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from bench import store, sweep
from bench.sweep import grid, guards, timing

TINY = ["--L", "2", "--m", "8,16,32", "--d", "m", "--target", "gradient,jacobian",
        "--max-time", "0.002", "--min-rounds", "2", "--warmup-iterations", "1",
        "--no-progress"]
"""A sweep of 6 points × 2 modes that times in well under a second (plus pytest start-up)."""


MICRO = ["--L", "1", "--m", "4,8", "--d", "m", "--max-time", "0.001", "--min-rounds", "1",
         "--warmup-iterations", "0", "--no-progress"]
"""The smallest real sweep: 2 points × 2 modes, the fastest timing settings."""


def run_sweep(root, *args):
    """python -m bench sweep … into root; the exit status."""
    return sweep.main([*args, "--results-dir", str(root)])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """(results root, run dir) of one real tiny sweep, shared read-only by a module's tests."""
    root = tmp_path_factory.mktemp("results")
    assert run_sweep(root, *TINY, "--run-id", "tiny") == 0
    return root, root / "tiny"


def fake_run(root, preset="default", run_id="fake"):
    """A run with the preset's points and made-up times (from the rate model), written
    without timing anything: fast, deterministic data for the report. One point is marked
    as disagreeing and one as skipped."""
    rows = []
    for n, (point, modes, lines) in enumerate(grid.expand(grid.subgrids(preset, {}))):
        for mode in modes:
            row = timing.base_row(run_id, point, mode, lines, 1e-8)
            t = guards.call_seconds(point, mode)
            row.update(ops_total=row["ops_predicted"], ops_mults=0, ops_adds=0, ops_exact=True,
                       time_median_s=t, time_iqr_s=t / 20, time_min_s=t * 0.95, rounds=10,
                       grad_relerr=1e-15, status="ok")
            if n == 1:
                row.update(status="disagree", reason="modes disagree: relerr 0.5 > tol 1e-08",
                           time_median_s=None)
            if n == 2:
                row.update(status="skipped", reason="no CUDA GPU", time_median_s=None)
            rows.append(row)
    run_dir = root / run_id
    store.upsert_rows(run_dir / "points.csv", rows)
    store.write_json(run_dir / "meta.json", {"run_id": run_id, "preset": preset,
                                             "machine": {"cpu": "Test CPU", "cores": 2}})
    return run_dir


def copy_run(src, root, run_id):
    """A copy of run directory src as root/run_id (its files only, not its lock)."""
    dst = root / run_id
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".lock"))
    return dst


class FakeBenchmark:
    """pytest-benchmark's `benchmark` fixture, stood in for: calls the function once and
    reports fixed statistics, so bench.sweep.timing.run_case can be tested in-process."""

    def __init__(self):
        self.group, self.extra_info, self.stats = None, {}, None

    def __call__(self, fn):
        fn()
        s = SimpleNamespace(median=1e-4, iqr=1e-6, min=9e-5, mean=1e-4, stddev=2e-6, rounds=3)
        record = {"fullname": "fake", "options": {"warmup": True}, "stats": {"data": [1e-4] * 3}}
        self.stats = SimpleNamespace(stats=s, iterations=1, as_dict=lambda: record)
