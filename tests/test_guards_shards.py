"""The guards' estimates and limits, and the shard split, on worked cases: what a point is
estimated as, where exactly a limit bites, and which shard each point goes to (longest
first, each to the least-loaded shard) against a hand-run of that rule."""
import pytest

from bench.errors import UsageError

from bench.model import predict_seconds
from bench.points import Point
from bench.sweep import guards, shard
from modes import cuda_available, predict

TIMING = {"warmup_iterations": 2, "max_time": 0.1, "min_rounds": 5}
LIMITS = {"mem_budget_gb": 1e6, "max_point_s": 1e9}


@pytest.mark.parametrize("mode, kind", [("forward", "forward"), ("reverse", "reverse"),
                                        ("cheapest", "cheapest"), ("func-fwd", "forward"),
                                        ("jax-fwd", "forward"), ("func-rev", "reverse"),
                                        ("autograd", "reverse"), ("jax-rev", "reverse")])
def test_a_peer_is_estimated_as_the_engine_of_its_direction(mode, kind):
    p = Point(L=2, m=64, d=64)
    assert guards.kind(p, mode) == kind
    extra = 0.0 if mode in ("forward", "reverse", "cheapest") else guards.PEER_CALL_S
    assert guards.call_seconds(p, mode) == pytest.approx(guards.call_seconds(p, kind) + extra, rel=1e-12)


def test_a_peers_fixed_cost_comes_from_the_calibration_when_there_is_one():
    p = Point(L=1, m=8, d=8)
    cal = {**guards.DEFAULT_RATES, "dtype": "float64", "c_peer_s": {"func-rev": 0.5}}
    assert guards.call_seconds(p, "func-rev", cal) == pytest.approx(predict_seconds(cal, p, "reverse") + 0.5)
    assert guards.call_seconds(p, "autograd", cal) == pytest.approx(
        predict_seconds(cal, p, "reverse") + guards.PEER_CALL_S)
    assert guards.call_seconds(p, "reverse", cal) == predict_seconds(cal, p, "reverse")


def test_without_a_calibration_the_default_rates_at_the_points_dtype():
    p = Point(L=2, m=512, d=512, dtype="float32")
    assert guards.call_seconds(p, "forward") == predict_seconds(
        {**guards.DEFAULT_RATES, "dtype": "float32"}, p, "forward")


@pytest.mark.parametrize("dtype, item", [("float64", 8), ("float32", 4)])
def test_memory_is_weights_and_the_peaks_of_the_modes_and_reverse_plus_a_quarter(dtype, item):
    """The peaks from modes.predict's closed form (independent of the plans the guards run)."""
    L, m, d, K = 2, 32, 24, 3
    p = Point(L=L, m=m, d=d, K=K, dtype=dtype)
    weights = d * m + (L - 1) * m * m + m * K
    peak = {mode: predict.memory_peak("gradient", mode, L, m, d, K) for mode in ("forward", "reverse")}
    assert guards.memory_bytes(p, ("forward",)) == int(1.25 * item * (weights + peak["forward"] + peak["reverse"]))
    assert guards.memory_bytes(p, ("reverse",)) == int(1.25 * item * (weights + peak["reverse"]))


def test_a_benchmarks_wall_time_by_hand():
    """max(max_time, min_rounds · t) of rounds, (2·warm-up + 2) calls more, 5 ms."""
    assert guards.benchmark_seconds(0.05, TIMING) == pytest.approx(0.25 + 6 * 0.05 + 0.005)
    assert guards.benchmark_seconds(0.001, TIMING) == pytest.approx(0.1 + 6 * 0.001 + 0.005)


def test_a_points_set_up_is_the_weights_and_one_checked_call_of_each_mode_and_both_engines():
    p = Point(L=2, m=64, d=32)
    calls = {m: guards.call_seconds(p, m) for m in ("func-fwd", "forward", "reverse")}
    setup = (32 * 64 + 64 * 64 + 64) / guards.BUILD_ELEMS_PER_S + sum(calls.values())
    out = guards.point_seconds(p, ("func-fwd",), TIMING)
    assert out == {"func-fwd": pytest.approx(guards.benchmark_seconds(calls["func-fwd"], TIMING) + setup)}
    two = guards.point_seconds(p, ("reverse", "forward"), TIMING)
    assert two["reverse"] == pytest.approx(guards.benchmark_seconds(calls["reverse"], TIMING) + setup
                                           - calls["func-fwd"])
    assert two["forward"] == pytest.approx(guards.benchmark_seconds(calls["forward"], TIMING))


def test_a_point_exactly_at_a_limit_runs_and_one_just_over_is_skipped():
    p, modes = Point(L=2, m=64, d=64), ("forward", "reverse")
    secs = sum(guards.point_seconds(p, modes, TIMING).values())
    mem = guards.memory_bytes(p, modes)
    at = {"mem_budget_gb": mem / 2 ** 30, "max_point_s": secs}
    assert guards.skip_reason(p, modes, at, TIMING) is None
    assert "time estimate" in guards.skip_reason(p, modes, {**at, "max_point_s": secs * (1 - 1e-9)}, TIMING)
    assert "memory estimate" in guards.skip_reason(p, modes, {**at, "mem_budget_gb": mem * (1 - 1e-9) / 2 ** 30},
                                                   TIMING)


@pytest.mark.skipif(cuda_available(), reason="a GPU is present")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_every_cuda_device_is_skipped_without_a_gpu(device):
    p = Point(backend="torch", device=device)
    assert guards.skip_reason(p, ("forward",), LIMITS, TIMING) == "no CUDA GPU"
    assert guards.skip_reason(Point(backend="torch"), ("forward",), LIMITS, TIMING) is None


# -- shards ---------------------------------------------------------------------------------------
def lpt(weights, n):
    """The rule by hand: longest first (ties by key), each to the least-loaded shard
    (ties: the lowest)."""
    load, out = [0.0] * n, {}
    for key, w in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])):
        i = min(range(n), key=lambda s: (load[s], s))
        load[i] += w
        out[key] = i + 1
    return out


def grid_of(weights, monkeypatch):
    """An expanded grid of points whose estimated seconds are `weights` (by m)."""
    points = [Point(m=m) for m in weights]
    by_key = {p.key(): weights[p.m] for p in points}
    monkeypatch.setattr(shard, "point_seconds", lambda p, modes, timing: by_key[p.key()])
    return [(p, ("forward", "reverse"), []) for p in points], by_key


def test_shards_are_filled_longest_first_into_the_least_loaded(monkeypatch):
    """Weights 5, 4, 3, 3, 3 on two shards: 5 → 1, 4 → 2, 3 → 2, 3 → 1, 3 → 2 (loads 8 and
    10); shortest first, or balancing by count, would split them otherwise."""
    expanded, by_key = grid_of({10: 3.0, 11: 5.0, 12: 3.0, 13: 4.0, 14: 3.0}, monkeypatch)
    got = shard.assign(expanded, 2, TIMING)
    assert got == lpt(by_key, 2)
    assert sorted(by_key[k] for k, s in got.items() if s == 1) == [3.0, 5.0]


def test_ties_go_by_key_and_to_the_lowest_shard(monkeypatch):
    expanded, by_key = grid_of({30: 1.0, 20: 1.0, 10: 1.0}, monkeypatch)  # grid order ≠ key order
    got = shard.assign(expanded, 3, TIMING)
    assert got == lpt(by_key, 3)
    first = min(by_key)
    assert got[first] == 1


def test_shards_partition_the_grid_in_grid_order(monkeypatch):
    expanded, by_key = grid_of({m: float(m % 7 + 1) for m in range(2, 30)}, monkeypatch)
    parts = [shard.select(expanded, (i, 4), TIMING) for i in range(1, 5)]
    assert sorted(e[0].key() for part in parts for e in part) == sorted(by_key)
    for part in parts:
        assert part == [e for e in expanded if e in part]  # the grid's order kept
    assert shard.select(expanded, None, TIMING) == expanded


@pytest.mark.parametrize("text, want", [("1/1", (1, 1)), ("3/3", (3, 3)), (" 2 / 5 ", (2, 5)),
                                        ("0/3", None), ("4/3", None), ("1/0", None), ("x", None)])
def test_parse_a_shard(text, want):
    if want is None:
        with pytest.raises(UsageError):
            shard.parse(text)
    else:
        assert shard.parse(text) == want
