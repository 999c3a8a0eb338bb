"""Estimates made before a point runs: its memory (the engines' exact counts) and its time
(the calibrated rates of bench.model, from the shapes alone), and the guards that skip a
point, with the reason, when either is over its limit or when the point needs a GPU this
machine lacks.

Memory: the weights, plus each mode's counted peak (modes.predict.memory_peak, exact for
the engines on uniform chains; the shape estimate below elsewhere), plus a quarter for a
peer's or the allocator's extra. Time: the evaluation reads every weight once at the
calibrated bandwidth for that working set; the derivative chain is GEMM work at the
calibrated rate for its smallest dimension (forward mode, a many-row Jacobian) or another
read of the weights (reverse mode); plus the calibrated fixed costs per step and per call.
Without a calibration (a bare `pytest bench/`), one CPU core's typical rates stand in.
A peer is estimated as the engine of its direction.
"""
from __future__ import annotations

from modes import cuda_available, predict

from .points import Point

GEMM_OPS_PER_S = 3.0e10   # one core, float64 matrix-matrix (measured ≈ 3.7e10 on the dev box)
GEMV_OPS_PER_S = 6.0e9    # matrix-vector: reads each weight once, memory-bound
COPY_ELEMS_PER_S = 2.0e9  # concatenating J_O in forward params
PER_PRODUCT_S = 1.5e-5    # Python dispatch through the counting kernel, per array operation
PER_CALL_S = 5.0e-5       # one engine call: checks, evaluation set-up, the Result
BUILD_ELEMS_PER_S = 5.0e7  # drawing the random weights of a chain (outside the timed call)
ITEMSIZE = {"float64": 8, "float32": 4}
KIND = {"forward": "forward", "func-fwd": "forward", "jax-fwd": "forward"}
"""The engine whose work a mode resembles (everything else: reverse)."""


def kind(mode: str) -> str:
    return KIND.get(mode, "reverse")


def widths(point: Point) -> list:
    """[d, m, …, m, K] of a uniform chain."""
    return point.widths


def _weights(n):
    return sum(a * b for a, b in zip(n, n[1:]))


def _param_columns(n):
    """R_i = r_0 + … + r_i, the columns of J_{O_i} in forward params."""
    out, total = [], 0
    for a, b in zip(n, n[1:]):
        total += a * b
        out.append(total)
    return out


def working_elements(point: Point, mode: str) -> int:
    """Array elements a mode holds at its peak, beyond the chain's weights."""
    n, t = widths(point), point.target
    if t == "params" and mode == "forward":
        R = _param_columns(n)
        # step i holds the old J_O, A_i J_O, the dense B_i and the concatenation.
        peaks = [n[i + 1] * (R[i - 1] if i else 0) + n[i] * (R[i - 1] if i else 0)
                 + 2 * n[i + 1] * R[i] for i in range(len(R))]
        return max(peaks)
    if t == "params":
        return _weights(n)  # one gradient per weight
    if mode == "forward":
        return 2 * max(n[1:]) * point.d  # F_{i-1} and F_i
    if t == "jacobian":
        return 2 * point.K * max(n)      # G and G A_i
    return 2 * max(n)


def peak_elements(point: Point, mode: str) -> int:
    """A mode's peak live elements beyond the weights: the engines' exact closed form on a
    uniform chain, the shape estimate otherwise."""
    k = kind(mode)
    if point.uniform:
        return predict.memory_peak(point.target, k, point.L, point.m, point.d, point.K)
    return working_elements(point, k)


def memory_bytes(point: Point, modes=("forward", "reverse")) -> int:
    """Estimated peak bytes of a point: weights, plus the counted peak of every mode asked
    for and of reverse mode (the agreement check keeps its answer), plus a quarter."""
    elems = _weights(widths(point)) + sum(peak_elements(point, m) for m in {*modes, "reverse"})
    return int(1.25 * elems * ITEMSIZE.get(point.dtype, 8))


def call_seconds(point: Point, mode: str, cal=None) -> float:
    """Estimated seconds of one call (evaluation + derivative chain), from the calibrated
    rates `cal` (bench.model.calibrate) or one core's typical ones."""
    from .model import rate_table
    n, k = widths(point), kind(mode)
    item = ITEMSIZE.get(point.dtype, 8)
    pred = predict.ops_for(point.target, k, point.L, point.m, point.d, point.K) if point.uniform \
        else None
    chain = pred.total if pred is not None else 2 * _weights(n) * (point.d if k == "forward" else 1)
    w_bytes = item * _weights(n)
    gemm_rate, bandwidth, c_step, c_call = rate_table(cal, GEMM_OPS_PER_S, GEMV_OPS_PER_S * item,
                                                      PER_PRODUCT_S, PER_CALL_S)
    gemm = k == "forward" or (point.target == "jacobian" and point.K >= 8)
    narrow = min(point.d if k == "forward" else point.K, point.m)
    s = chain / gemm_rate(narrow) if gemm else w_bytes / bandwidth(w_bytes)
    s += w_bytes / bandwidth(w_bytes)                           # evaluating the z_i
    if point.target == "params" and k == "forward":
        s += item * sum(a * r for a, r in zip(n[1:], _param_columns(n))) / bandwidth(w_bytes)
    return s + c_call + (4 * point.L + 8) * c_step


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
    setup = _weights(widths(point)) / BUILD_ELEMS_PER_S + sum(calls.values())  # + agreement
    out = {m: benchmark_seconds(calls[m], timing) for m in modes}
    if out:
        out[next(iter(out))] += setup
    return out


def skip_reason(point: Point, modes, limits: dict, timing: dict, cal=None):
    """Why `point` must not run here (a one-line reason), or None when it may."""
    if point.device.startswith("cuda") and not cuda_available():
        return "no CUDA GPU"
    mem, budget = memory_bytes(point, modes), limits["mem_budget_gb"]
    if mem > budget * 2 ** 30:
        return f"memory estimate {mem / 2 ** 30:.2f} GiB exceeds budget {budget:g} GiB"
    secs = sum(point_seconds(point, modes, timing, cal).values())
    if secs > limits["max_point_s"]:
        return f"time estimate {secs:.0f} s exceeds cap {limits['max_point_s']:g} s per point"
    return None


def mode_skip_reason(mode: str):
    """Why one mode cannot run here at all (its library is missing), or None."""
    import importlib.util
    if mode.startswith("jax") and importlib.util.find_spec("jax") is None:
        return "jax not installed"
    return None
