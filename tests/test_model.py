"""The time model's arithmetic and its calibration cache, on synthetic calibrations: no
timing is asserted here (the model's accuracy is measured by the sweep, README)."""
import json

import pytest

from bench import model
from bench.points import Point

FLAT = {"dtype": "float64", "backend": "numpy",
        "gemm_rate": {"1": 1e9, "1024": 1e9}, "bandwidth": {"16384": 8e9, "268435456": 8e9},
        "write_bandwidth": {"16384": 8e9, "67108864": 8e9},
        "c_step_s": {"matmul": 1e-6, "elementwise": 5e-7, "view": 1e-7}, "c_call_s": 1e-5}


def test_a_product_costs_the_larger_of_its_flops_and_its_bytes():
    # (100 × 100)(100 × 100): 2e6 flops at 1e9/s = 2 ms; reads 1.6e5 B at 8e9/s = 20 µs
    t = model.step_seconds(FLAT, "matmul", [(100, 100), (100, 100)], (100, 100), 10 ** 6)
    assert t == pytest.approx(1e-6 + 2e-3 + 8e4 / 8e9)
    # a GEMV (1000 × 1000)(1000): 2e6 flops = 2 ms at this flat rate; bytes 8.008e6 = 1 ms
    t = model.step_seconds(FLAT, "matmul", [(1000, 1000), (1000,)], (1000,), 10 ** 7)
    assert t == pytest.approx(1e-6 + 2e-3 + 8e3 / 8e9)


def test_elementwise_steps_are_bytes_and_views_only_their_fixed_cost():
    t = model.step_seconds(FLAT, "sub", [(1000,), (1000,)], (1000,), 10 ** 6)
    assert t == pytest.approx(5e-7 + 16e3 / 8e9 + 8e3 / 8e9)
    assert model.step_seconds(FLAT, "reshape", [(10, 10), None], (100,), 1) == 1e-7


def test_rates_interpolate_in_log_scale_and_clamp():
    table = {"10": 1.0, "1000": 100.0}
    assert model._lookup(table, 100) == pytest.approx(10.0)
    assert model._lookup(table, 1) == 1.0 and model._lookup(table, 10 ** 6) == 100.0


def test_a_call_is_its_fixed_cost_plus_its_plans_steps():
    p = Point(L=1, m=4, d=3, K=2)
    from bench.points import chain_for
    from modes import MODES, plan
    chain = chain_for(p)
    MODES["reverse"].gradient(chain, chain.random_x())  # the real call's plan
    t = model.predict_seconds(FLAT, p, "reverse")
    prof = plan.profile(chain, "reverse", "gradient")
    assert len(prof) == 7  # eval 2, loss 3, chain 2 (the flat tables make the working set moot)
    steps = sum(model.step_seconds(FLAT, n, a, o, 10 ** 4) for n, a, o in prof)
    assert t == pytest.approx(1e-5 + steps, rel=1e-9)


def test_forward_is_modelled_slower_than_reverse_where_it_does_more_work():
    p = Point(L=2, m=64, d=64, K=1)
    assert model.predict_seconds(FLAT, p, "forward") > 10 * model.predict_seconds(FLAT, p, "reverse")


def test_calibration_is_cached_per_fingerprint_and_redone_on_request(tmp_path, monkeypatch):
    made = []

    def fake(backend, device, dtype, threads):
        made.append(backend)
        return {**FLAT, "backend": backend}
    monkeypatch.setattr(model, "calibrate", fake)
    a = model.calibration(tmp_path, "numpy")
    b = model.calibration(tmp_path, "numpy")
    assert a == b and made == ["numpy"]
    files = list((tmp_path / "calibration").glob("numpy-cpu-float64-1t-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["c_call_s"] == 1e-5
    model.calibration(tmp_path, "numpy", recalibrate=True)
    assert made == ["numpy", "numpy"]
    files[0].write_text("{damaged")  # a damaged cache is measured again, not trusted
    model.calibration(tmp_path, "numpy")
    assert made == ["numpy"] * 3


def test_shape_plans_equal_the_engines_real_plans():
    """The guards estimate from plans run on shapes alone: the same steps, counts and
    memory as the real call's plan, for every engine and target."""
    import itertools
    from bench.points import chain_for
    from modes import MODES, plan
    from modes.shapes import shape_plan
    for (L, m, d, K), target, mode in itertools.product(
            [(0, 3, 2, 2), (1, 4, 3, 2), (3, 6, 4, 1)], ["gradient", "params", "jacobian"],
            ["forward", "reverse", "cheapest"]):
        p = Point(L=L, m=m, d=d, K=K, target=target)
        prof, ops, mem = shape_plan(p.widths, mode, target)
        c = chain_for(p)
        x = c.random_x()
        res = MODES[mode].jacobian(c, x) if target == "jacobian" else \
            MODES[mode].gradient(c, x, wrt="params" if target == "params" else "input")
        assert (prof, ops, mem) == (plan.profile(c, mode, target), res.ops, res.mem)
    hourglass = Point(target="jacobian", L=3, m=64, d=32, K=32, waist=2)
    assert shape_plan(hourglass.widths, "cheapest", "jacobian")[1].total < \
        shape_plan(hourglass.widths, "forward", "jacobian")[1].total
