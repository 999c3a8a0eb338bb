"""Memory: the counted peak of live array elements equals modes.predict's closed forms,
and numpy's own allocations (tracemalloc) measure 1.0–1.5x the count on large calls."""
import itertools

import pytest

from bench.sweep.memory import NO_TORCH_CPU, measured_peak_bytes
from modes import MODES, Chain, predict

GRID = list(itertools.product([0, 1, 2, 3, 4], [1, 2, 3, 8], [1, 2, 5], [1, 3, 7]))  # (L, m, d, K)
CALLS = {"gradient": lambda e, c, x: e.gradient(c, x),
         "params": lambda e, c, x: e.gradient(c, x, wrt="params"),
         "jacobian": lambda e, c, x: e.jacobian(c, x)}


@pytest.mark.parametrize("target", list(CALLS))
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_counted_peak_equals_the_closed_form(target, mode):
    for L, m, d, K in GRID:
        c = Chain.random([d] + [m] * L + [K], seed=L + m + d + K)
        res = CALLS[target](MODES[mode], c, c.random_x())
        assert res.mem["peak"] == predict.memory_peak(target, mode, L, m, d, K), (L, m, d, K)
        assert isinstance(res.mem["peak"], int)
        assert max(res.mem["phases"].values()) == res.mem["peak"]
        again = CALLS[target](MODES[mode], c, c.random_x(2))  # a replay counts the same
        assert again.mem == res.mem


def test_forward_pays_md_where_reverse_pays_m():
    # the figure's point: forward's accumulator is m × d, reverse holds a few rows
    L, m, d, K = 3, 64, 64, 1
    f, r = (predict.memory_peak("gradient", mo, L, m, d, K) for mo in ("forward", "reverse"))
    assert f >= 2 * m * d and r <= 3 * m + d


@pytest.mark.parametrize("target,mode,shape", [
    ("gradient", "forward", (2, 512, 512, 1)), ("gradient", "forward", (4, 512, 512, 10)),
    ("jacobian", "forward", (2, 1024, 256, 1)), ("params", "reverse", (2, 256, 256, 1)),
    ("params", "reverse", (4, 512, 512, 10)), ("params", "forward", (2, 24, 24, 1)),
])
def test_numpy_measures_what_is_counted(target, mode, shape):
    L, m, d, K = shape
    c = Chain.random([d] + [m] * L + [K], seed=3)
    x = c.random_x()
    call = lambda: CALLS[target](MODES[mode], c, x)  # noqa: E731
    counted = 8 * call().mem["peak"]  # records the plan; the measured call replays it
    measured, why = measured_peak_bytes(call, "numpy")
    assert why == ""
    assert counted > 2 ** 20 or target == "params" and mode == "forward"
    assert 1.0 <= measured / counted <= 1.5, (measured, counted)


def test_torch_cpu_has_no_measured_peak():
    c = Chain.random([3, 4, 2], backend="torch")
    assert measured_peak_bytes(lambda: MODES["reverse"].gradient(c, c.random_x()), "torch") == (None, NO_TORCH_CPU)


def test_peers_do_not_count_memory():
    c = Chain.random([3, 4, 2])
    assert MODES["autograd"].gradient(c, c.random_x()).mem is None
