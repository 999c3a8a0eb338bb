"""The sweep with every mode, the hourglass, memory and the time model's columns."""
import csv

import pytest

from bench import model
from bench.sweep import extras, guards, timing
from bench.points import Point, predicted_ops
from modes import predict

from sweep_helpers import FakeBenchmark, run_sweep

FAST = ["--max-time", "0.002", "--min-rounds", "2", "--warmup-iterations", "1", "--no-progress"]


def rows(run_dir):
    with open(run_dir / "points.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def modes_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    assert run_sweep(root, "--L", "1", "--m", "8", "--d", "m", "--mode",
                     "forward,reverse,cheapest,autograd,func-rev", *FAST, "--run-id", "m") == 0
    assert run_sweep(root, "--L", "3", "--m", "64", "--d", "32", "--K", "32", "--waist", "2",
                     "--target", "jacobian", "--mode", "forward,reverse,cheapest", *FAST,
                     "--run-id", "h") == 0
    return root


def test_every_mode_is_timed_and_peers_leave_counts_empty(modes_run):
    got = {r["mode"]: r for r in rows(modes_run / "m")}
    assert set(got) == {"forward", "reverse", "cheapest", "autograd", "func-rev"}
    assert all(r["status"] == "ok" and float(r["time_median_s"]) > 0 for r in got.values())
    for m in ("forward", "reverse", "cheapest"):
        assert got[m]["ops_exact"] == "True" and int(got[m]["ops_total"]) > 0
    for m in ("autograd", "func-rev"):
        assert got[m]["ops_total"] == "" and got[m]["ops_predicted"] == ""
        assert int(got[m]["flops_torch"]) > 0 and "peer" in got[m]["mem_reason"]


def test_memory_columns_count_predict_and_measure(modes_run):
    for r in rows(modes_run / "m"):
        if r["mode"] in ("forward", "reverse"):
            p = Point(L=1, m=8, d=8)
            assert int(r["mem_counted_bytes"]) == 8 * predict.memory_peak("gradient", r["mode"], 1, 8, 8, 1)
            assert r["mem_predicted_bytes"] == r["mem_counted_bytes"]
            assert int(r["mem_measured_bytes"]) >= int(r["mem_counted_bytes"]) and p.uniform


def test_the_hourglass_line_times_the_cheapest_bracketing(modes_run):
    got = {r["mode"]: r for r in rows(modes_run / "h")}
    assert "waist=2" in got["cheapest"]["point_key"] and got["cheapest"]["waist"] == "2"
    ops = {m: int(r["ops_total"]) for m, r in got.items()}
    assert ops["cheapest"] <= 0.5 * min(ops["forward"], ops["reverse"])
    assert all(r["ops_exact"] == "True" for r in got.values())
    p = Point(target="jacobian", L=3, m=64, d=32, K=32, waist=2)
    assert ops["cheapest"] == predicted_ops(p, "cheapest").total


def test_jax_rows_are_skipped_with_a_reason_where_jax_is_missing(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "jax" else real(n, *a))
    p = Point(L=1, m=4, d=4)
    cases, skipped = timing.cases_to_run([(p, ("reverse", "jax-rev"), ["l"])], set(),
                                   {"mem_budget_gb": 1, "max_point_s": 10, "tol": None},
                                   {"max_time": 0.01, "min_rounds": 1, "warmup_iterations": 0}, "r")
    assert [c["mode"] for c in cases] == ["reverse"]
    assert [(s["mode"], s["reason"]) for s in skipped] == [("jax-rev", "jax not installed")]


FLAT = {"dtype": "float64", "backend": "numpy",
        "gemm_rate": {"1": 1e9, "1024": 1e9}, "bandwidth": {"16384": 8e9, "268435456": 8e9},
        "write_bandwidth": {"16384": 8e9, "67108864": 8e9},
        "c_step_s": {"matmul": 1e-6, "elementwise": 5e-7, "view": 1e-7}, "c_call_s": 1e-5}


def test_a_calibrated_sweep_records_the_model_and_estimates_with_it(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "calibrate", lambda *a: dict(FLAT))
    p = Point(L=2, m=16, d=16)
    cases, _ = timing.cases_to_run([(p, ("forward", "reverse"), ["l"])], set(),
                                   {"mem_budget_gb": 1, "max_point_s": 10, "tol": None},
                                   {"max_time": 0.01, "min_rounds": 1, "warmup_iterations": 0},
                                   "r", extras.Calibrations(tmp_path))
    assert cases[0]["calibration"]["c_call_s"] == 1e-5
    assert guards.call_seconds(p, "forward", FLAT) != guards.call_seconds(p, "forward")
    for case in cases:
        timing.run_case(FakeBenchmark(), case, tmp_path)
    got = {r["mode"]: r for r in rows(tmp_path)}
    for m in ("forward", "reverse"):
        assert float(got[m]["time_model_s"]) == pytest.approx(model.predict_seconds(FLAT, p, m))
