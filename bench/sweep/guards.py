"""Estimates made before a point runs: its memory and its time, from the engines' own
plans run on shapes alone (modes.shapes: no weight is drawn to estimate a point), and the
guards that skip a point, with the reason, when either is over its limit or when the point
needs a GPU this machine lacks.

Memory: the weights, plus the counted peak of every mode asked for and of reverse mode
(the agreement check keeps its answer), plus a quarter for a peer's or the allocator's
extra. Time: the calibrated time model (bench.model) over the plan's steps — the same
numbers as the time_model_s column — plus, for a peer, its calibrated fixed cost per call
over the engine of its direction. Without a calibration (a bare `pytest bench/`, a shard
split that must be the same on every machine) DEFAULT_RATES stand in: one CPU core's
typical rates.
"""
from __future__ import annotations

from modes import cuda_available, traits
from modes.shapes import shape_plan

from bench import model
from bench.axes import LAYER_AXES
from bench.model import ITEMSIZE
from bench.points import Point

BUILD_ELEMS_PER_S = 5.0e7  # drawing the random weights of a chain (outside the timed call)
PEER_CALL_S = 2.0e-4       # a peer's fixed cost per call, without a calibration
CHILD_START_S = 4.0        # the timing child's start: Python, pytest, numpy and torch imported
BENCHMARK_SET_UP_S = 0.12  # per benchmark beyond its calls: pytest's test, the timer's
# calibration, the traced memory call, the row written (the gaps between rows of a quick run,
# less their modelled calls, on a 2-core Xeon: 0.1-0.5 s as the machine's load goes from idle)


CALIBRATE_S = 15.0         # one calibration (bench.model.calibrate) on a 2-core Xeon, shared
# with other work; a dry run counts it for each configuration with no cached calibration


def overhead_seconds(cases) -> float:
    """Wall seconds a sweep spends beyond its benchmarks' modelled calls: the child's
    start-up, each benchmark's set-up, each distinct per-call floor's measurement
    (bench.sweep.floor: a warm-up and a budget of calls, on the chain of width 1, plus
    its preparation, counted as one set-up), and the one call of a counting engine on numpy
    that tracemalloc watches (bench.sweep.memory); 0 when there is nothing to time."""
    if not cases:
        return 0.0
    from bench.sweep import floor
    floors = {(floor.floor_point(Point.from_dict(c["point"])).key(), c["mode"]) for c in cases}
    per_floor = floor.WARMUP_S + floor.BUDGET_S + BENCHMARK_SET_UP_S
    traced = sum(c["call_s"] for c in cases if traits(c["mode"]).counts
                 and c["point"]["backend"] == "numpy" and c["point"].get("exec", "eager") == "eager")
    return CHILD_START_S + BENCHMARK_SET_UP_S * len(cases) + per_floor * len(floors) + traced

DEFAULT_RATES = {
    "gemm_rate": {"1": 6e9, "16": 2e10, "128": 3e10, "1024": 3e10},
    "bandwidth": {"16384": 2e10, "1048576": 4e10, "33554432": 3e10, "268435456": 1e10},
    "write_bandwidth": {"16384": 1e10, "67108864": 5e9},
    "c_step_s": {"matmul": 2e-6, "elementwise": 1e-6, "view": 5e-7}, "c_call_s": 5e-6}
"""One CPU core's typical rates (float64), standing in for a calibration."""


def kind(point: Point, mode: str) -> str:
    """The engine a mode is estimated as: itself for a counting engine that records a plan
    on shapes (modes.shapes), else the engine of its direction (its `direction` trait)."""
    tr = traits(mode)
    if tr.counts:
        try:
            profile, _, mem = plan_of(point, mode)
            if profile is not None and mem:  # it records a plan of its own, counted
                return mode
        except Exception:  # noqa: BLE001  an engine from a plugin need not run on shapes
            pass
    return tr.direction


def plan_of(point: Point, mode: str):
    """(profile, ops, mem) of engine `mode`'s plan at the point, on shapes alone."""
    return shape_plan(point.widths, mode, point.target, **point.layers, B=point.batch)


def widths(point: Point) -> list:
    """[d, m, …, m, K] of the point's chain (an hourglass's waist included)."""
    return point.widths


def peak_elements(point: Point, mode: str) -> int:
    """A mode's counted peak live elements beyond the weights (its plan on shapes)."""
    return plan_of(point, kind(point, mode))[2]["peak"]


def memory_bytes(point: Point, modes=("forward", "reverse")) -> int:
    """Estimated peak bytes of a point: weights, plus the counted peak of every mode asked
    for and of reverse mode (the agreement check keeps its answer), plus a quarter."""
    elems = model.weight_elements(widths(point)) + sum(peak_elements(point, m) for m in {*modes, "reverse"})
    return int(1.25 * elems * ITEMSIZE.get(point.dtype, 8))


def call_seconds(point: Point, mode: str, cal=None) -> float:
    """Estimated seconds of one call: the time model over the plan's steps (on shapes),
    with the calibration `cal` or DEFAULT_RATES; a peer adds its fixed cost per call."""
    t = model.predict_seconds(cal or {**DEFAULT_RATES, "dtype": point.dtype}, point,
                              kind(point, mode))
    if not traits(mode).counts:
        t += (cal or {}).get("c_peer_s", {}).get(mode, PEER_CALL_S)
    return t


def benchmark_seconds(t_call: float, timing: dict) -> float:
    """Wall time pytest-benchmark spends on one benchmark of a t_call-second function:
    calibration and warm-up (a few calls each), the rounds (max_time, but at least
    min_rounds calls), and the one extra call it makes for the return value."""
    w = timing["warmup_iterations"]
    rounds = max(timing["max_time"], timing["min_rounds"] * t_call)
    return rounds + (2 * w + 2) * t_call + 0.005


def point_seconds(point: Point, modes, timing: dict, cal=None) -> dict:
    """{mode: estimated wall seconds} to check and time `point` (set-up in the first mode)."""
    calls = {m: call_seconds(point, m, cal) for m in {*modes, "forward", "reverse"}}
    setup = model.weight_elements(widths(point)) / BUILD_ELEMS_PER_S + sum(calls.values())  # + agreement
    setup += sum(traits(m).compile_s for m in modes)
    out = {m: benchmark_seconds(calls[m], timing) for m in modes}
    if out:
        out[next(iter(out))] += setup
    return out


def skip_reason(point: Point, modes, limits: dict, timing: dict, cal=None):
    """Why `point` must not run here (a one-line reason), or None when it may: a CUDA device
    (cuda, cuda:N) without a GPU, or an estimate strictly over its limit (one exactly at
    it runs)."""
    if point.device.startswith("cuda") and not cuda_available():
        return "no CUDA GPU"
    mem, budget = memory_bytes(point, modes), limits["mem_budget_gb"]
    if mem > budget * 2 ** 30:
        return f"memory estimate {mem / 2 ** 30:.2f} GiB exceeds budget {budget:g} GiB"
    secs = sum(point_seconds(point, modes, timing, cal).values())
    if secs > limits["max_point_s"]:
        return f"time estimate {secs:.0f} s exceeds cap {limits['max_point_s']:g} s per point"
    return None


def mode_skip_reason(mode: str, point: Point = None):
    """Why one mode cannot run here at all (a package its `requires` trait names is
    missing, or its `unavailable` trait says why: a compiler), or on this point (a chain
    its `handles` trait leaves out), or None."""
    t = traits(mode)
    why = t.missing() or (point is not None and t.refuses(
        {a: getattr(point, a) for a in LAYER_AXES}))
    return why or None
