"""The time model's prediction pinned down on hand-made calibrations: for a given table of
rates, what each backend call and each engine call must be predicted to take (bench.model's
docstring states the formula; these are its worked cases, computed here by hand). No time
is measured."""
import math

import pytest

from bench import model
from bench.points import Point
from modes import predict
from modes.shapes import shape_plan

KIB = 1024


def cal(gemm=None, read=None, write=None, dtype="float64", c_call=1e-5):
    """A calibration whose every rate is flat unless a table is given; fixed costs that are
    distinct powers of ten, so a test can tell which of them a prediction includes."""
    return {"dtype": dtype, "backend": "numpy",
            "gemm_rate": gemm or {"1": 1e9, "1024": 1e9},
            "bandwidth": read or {"16384": 1e20, "268435456": 1e20},
            "write_bandwidth": write or {"16384": 1e20, "67108864": 1e20},
            "c_step_s": {"matmul": 1e-6, "elementwise": 1e-7, "view": 1e-8}, "c_call_s": c_call}


# GEMM rate 1e9 at k = 1 rising to 1e11 at k = 1024: log-linear, so at k = 4 (a fifth of the
# way in log scale) it is 1e9 · 100^0.2 and at k = 256 (four fifths) 1e9 · 100^0.8.
RISING = {"1": 1e9, "1024": 1e11}
R4, R256 = 1e9 * 100 ** 0.2, 1e9 * 100 ** 0.8


@pytest.mark.parametrize("a, b, k", [
    ((1024, 1024), (1024, 4), 4),      # the calibrated shape: k is the narrow right side
    ((4, 1024), (1024, 1024), 4),      # the narrow side on the left
    ((1024, 4), (4, 1024), 4),         # an outer-product-like shape: k is the inner width
    ((256, 1024), (1024, 1024), 256),
    ((1024,), (1024, 1024), 1),        # a row vector times a matrix is a GEMV: k = 1
    ((1024, 1024), (1024,), 1),
])
def test_a_product_runs_at_the_gemm_rate_of_its_smallest_dimension(a, b, k):
    """flops / R_gemm(min(n, m, l)): the calibration times (1024 × 1024)(1024 × k), so a
    product is as fast as its narrowest side lets it be, whichever side that is."""
    c = cal(gemm=RISING)
    n, m = (1, a[0]) if len(a) == 1 else a
    l = 1 if len(b) == 1 else b[1]
    rate = {1: 1e9, 4: R4, 256: R256}[k]
    t = model.step_seconds(c, "matmul", [a, b], None, 1)
    assert t == pytest.approx(1e-6 + 2 * n * m * l / rate + 8 / 1e20, rel=1e-12)


def test_rates_between_and_beyond_the_table():
    """Between two sizes a rate is interpolated log-linearly (weights by the distance in log
    size, the nearer size weighing more); outside the table it is the nearest end's."""
    c = cal(gemm=RISING)
    flops = 2 * 1024 * 1024 * 4
    assert model.step_seconds(c, "matmul", [(1024, 1024), (1024, 4)], None, 1) - 1e-6 == \
        pytest.approx(flops / R4, rel=1e-12)
    # a product wider than the table: the widest rate; the table's own sizes: their rates
    c2 = cal(gemm={"2": 1e9, "8": 4e9})
    assert model.step_seconds(c2, "matmul", [(64, 64), (64, 64)], None, 1) - 1e-6 == \
        pytest.approx(2 * 64 ** 3 / 4e9, rel=1e-12)
    assert model.step_seconds(c2, "matmul", [(64, 64), (64,)], None, 1) - 1e-6 == \
        pytest.approx(2 * 64 * 64 / 1e9, rel=1e-12)
    assert model.step_seconds(c2, "matmul", [(64, 64), (64, 4)], None, 1) - 1e-6 == \
        pytest.approx(2 * 64 * 64 * 4 / 2e9, rel=1e-12)  # halfway in log size: √(1e9 · 4e9)


def test_flops_of_a_non_square_product():
    """(4 × 3)(3 × 5) is 2·4·3·5 = 120 flops, at the rate of k = 3."""
    c = cal(gemm={"1": 1e9, "1024": 1e9})
    assert model.step_seconds(c, "matmul", [(4, 3), (3, 5)], None, 1) == \
        pytest.approx(1e-6 + 120 / 1e9 + 8 / 1e20, rel=1e-12)


def test_reads_are_priced_at_the_bandwidth_of_the_working_set():
    """bytes read / B(working set): the same GEMV is slower when the call's working set is
    beyond the cache, however few bytes the step itself reads."""
    read = {"16384": 1e11, "268435456": 1e9}
    c = cal(gemm={"1": 1e30, "1024": 1e30}, read=read)
    args = [(8, 8), (8,)]
    read_bytes = 8 * (64 + 8)
    small = model.step_seconds(c, "matmul", args, (8,), 16 * KIB)
    big = model.step_seconds(c, "matmul", args, (8,), 256 * KIB * KIB)
    assert small == pytest.approx(1e-6 + read_bytes / 1e11 + 64 / 1e20, rel=1e-9)
    assert big == pytest.approx(1e-6 + read_bytes / 1e9 + 64 / 1e20, rel=1e-9)
    # halfway in log size (2^21 bytes, between 2^14 and 2^28): the geometric mean
    mid = model.step_seconds(c, "matmul", args, (8,), 2 ** 21)
    assert mid == pytest.approx(1e-6 + read_bytes / 1e10 + 64 / 1e20, rel=1e-9)


def test_a_product_costs_the_larger_of_its_flops_and_its_reads():
    c = cal(gemm={"1": 1e9, "1024": 1e9}, read={"16384": 8e9, "268435456": 8e9})
    # (1000 × 1000)(1000): 2e6 flops = 2 ms; 8.008e6 bytes read = 1.001 ms: flops decide
    t = model.step_seconds(c, "matmul", [(1000, 1000), (1000,)], (1000,), 10 ** 7)
    assert t == pytest.approx(1e-6 + 2e-3 + 8e3 / 1e20, rel=1e-9)
    # the same GEMV read at 2e9 B/s: 4.004 ms of reads decide
    c["bandwidth"] = {"16384": 2e9, "268435456": 2e9}
    t = model.step_seconds(c, "matmul", [(1000, 1000), (1000,)], (1000,), 10 ** 7)
    assert t == pytest.approx(1e-6 + 8.008e6 / 2e9 + 8e3 / 1e20, rel=1e-9)


def test_writes_are_priced_at_the_write_bandwidth_of_the_new_arrays_size():
    """bytes written / W(bytes written), apart from the reads: a fresh large array is new
    pages. 2^20 bytes lie halfway (in log size) between 2^14 and 2^26."""
    write = {"16384": 1e10, "67108864": 1e8}
    c = cal(read={"16384": 1e20, "268435456": 1e20}, write=write)
    n = 2 ** 17  # 2^20 bytes of float64
    t = model.step_seconds(c, "sub", [(n,), (n,)], (n,), 16 * KIB)
    assert t == pytest.approx(1e-7 + 2 * 8 * n / 1e20 + 8 * n / 1e9, rel=1e-9)
    # float32: half the bytes, read and written (2^19 bytes: a third of the way from 2^14
    # to 2^26 is 2^18, so 2^19 is 5/12 of the way: 1e10 · 100^(−5/12))
    c32 = {**c, "dtype": "float32"}
    t32 = model.step_seconds(c32, "sub", [(n,), (n,)], (n,), 16 * KIB)
    assert t32 == pytest.approx(1e-7 + 2 * 4 * n / 1e20 + 4 * n / (1e10 * 100 ** (-5 / 12)), rel=1e-9)


def test_a_scalar_result_is_one_element_written():
    c = cal(write={"1": 8.0, "67108864": 8.0})
    assert model.step_seconds(c, "mul", [None, ()], None, 1) == pytest.approx(1e-7 + 8 / 1e20 + 1.0)


@pytest.mark.parametrize("name", ["reshape", "transpose", "slice"])
def test_every_view_costs_its_fixed_cost_alone(name):
    """A view shares its argument's storage: no bytes read or written, c_step['view']."""
    c = cal(read={"16384": 1.0, "268435456": 1.0}, write={"16384": 1.0, "67108864": 1.0})
    assert model.step_seconds(c, name, [(1000, 1000)], (1000, 1000), 10 ** 9) == 1e-8


def test_a_plan_by_hand():
    """c_call + Σ steps over a three-step plan, every term computed by hand: a GEMV (4 × 3)(3)
    (24 flops at 1e9/s against 120 bytes read at 1e9 B/s, 32 written at 1e8 B/s), a sub of two
    4-vectors (64 bytes read, 32 written) and a reshape (its fixed cost)."""
    c = cal(gemm={"1": 1e9, "1024": 1e9}, read={"16384": 1e9, "268435456": 1e9},
            write={"16384": 1e8, "67108864": 1e8})
    prof = [("matmul", [(4, 3), (3,)], (4,)), ("sub", [(4,), (4,)], (4,)),
            ("reshape", [(4,), None], (4, 1))]
    want = 1e-5 + (1e-6 + max(24 / 1e9, 120 / 1e9) + 32 / 1e8) + (1e-7 + 64 / 1e9 + 32 / 1e8) + 1e-8
    assert model.profile_seconds(c, prof, 10 ** 6) == pytest.approx(want, rel=1e-12)
    assert model.profile_seconds(c, [], 1) == 1e-5  # the call's fixed cost alone


def test_weights_of_a_chain_are_every_layers():
    """Σ n_{i+1}·n_i over the layers, the first (d → m) and last (m → K) included."""
    assert model.weight_elements([3, 5, 7, 2]) == 15 + 35 + 14
    assert model.weight_elements([6, 1]) == 6
    assert model.weight_elements([4]) == 0


@pytest.mark.parametrize("mode, target", [("reverse", "gradient"), ("forward", "gradient"),
                                          ("reverse", "params"), ("forward", "jacobian")])
def test_the_working_set_is_the_weights_plus_the_counted_peak(mode, target):
    """predict_seconds prices every step at B(itemsize × (weights + counted peak)); the
    weights are counted here from the widths and the peak from modes.predict's closed form
    (independent of the plan that predict_seconds reads). A bandwidth table that falls 100×
    across the sizes makes a working set off by the weights visibly wrong."""
    L, m, d, K = 2, 48, 40, 3
    p = Point(L=L, m=m, d=d, K=K, target=target)
    weights = d * m + (L - 1) * m * m + m * K
    peak = predict.memory_peak(target, mode, L, m, d, K)
    read = {"1024": 1e11, "1048576": 1e9}
    for dtype, item in (("float64", 8), ("float32", 4)):
        c = cal(gemm={"1": 1e30, "1024": 1e30}, read=read, dtype=dtype)
        profile = shape_plan(p.widths, mode, target)[0]
        want = model.profile_seconds(c, profile, item * (weights + peak))
        assert model.predict_seconds(c, Point(L=L, m=m, d=d, K=K, target=target, dtype=dtype),
                                     mode) == pytest.approx(want, rel=1e-12)
        assert abs(want - model.profile_seconds(c, profile, item * peak)) > 1e-3 * want  # it matters


def test_a_uniform_reverse_gradient_by_hand():
    """L = 1, m = 4, d = 3, K = 2, reverse ∇_x f on a flat calibration (one GEMM rate, one
    read and one write bandwidth), all from the engine's seven steps (test_model pins the
    steps): z_1 = W_0 x, ŷ = W_1 z_1, r = ŷ − y, rᵀr, ½·(rᵀr), G = rᵀW_1, ∇f = G W_0."""
    c = cal(gemm={"1": 1e9, "1024": 1e9}, read={"16384": 1e9, "268435456": 1e9},
            write={"16384": 1e9, "67108864": 1e9})
    gemv = lambda rows, cols: 1e-6 + max(2 * rows * cols, 8 * (rows * cols + cols)) / 1e9 + 8 * rows / 1e9  # noqa: E731
    want = (1e-5 + gemv(4, 3) + gemv(2, 4)              # the evaluation
            + 1e-7 + 8 * 4 / 1e9 + 8 * 2 / 1e9          # r = ŷ − y
            + 1e-6 + max(2 * 2, 8 * 4) / 1e9 + 8 / 1e9  # rᵀr
            + 1e-7 + 8 / 1e9 + 8 / 1e9                  # ½ · (rᵀr)
            + gemv(4, 2) + gemv(3, 4))                  # G = rᵀ W_1, ∇f = G W_0
    assert model.predict_seconds(c, Point(L=1, m=4, d=3, K=2), "reverse") == pytest.approx(want, rel=1e-12)


def test_a_cache_without_write_bandwidth_is_measured_again(tmp_path, monkeypatch):
    made = []

    def fake(backend, device, dtype, threads):
        made.append(backend)
        return {**cal(), "backend": backend}
    monkeypatch.setattr(model, "calibrate", fake)
    model.calibration(tmp_path, "numpy")
    path, = (tmp_path / "calibration").glob("*.json")
    old = {k: v for k, v in cal().items() if k != "write_bandwidth"}
    path.write_text(__import__("json").dumps({**old, "backend": "numpy"}))
    model.calibration(tmp_path, "numpy")
    assert made == ["numpy", "numpy"]
    assert math.isclose(model.calibration(tmp_path, "numpy")["c_call_s"], 1e-5) and len(made) == 2
