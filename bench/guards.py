"""Estimates made before a point runs: its memory (from the shapes) and its time (from a
small rate model), and the guards that skip a point, with the reason, when either is over
its limit or when the point needs a GPU this machine lacks.

The rate model is deliberately simple — compute-bound GEMM at one rate, memory-bound GEMV
at another, a fixed cost per product and per call — because it only has to be right to a
factor of a few: it decides what is too big to try and drives the progress bar's estimate.
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


def memory_bytes(point: Point, modes=("forward", "reverse")) -> int:
    """Estimated peak bytes of a point: weights, plus every mode's working set and answer
    (the agreement check keeps both answers at once), plus a quarter for temporaries."""
    n = widths(point)
    elems = _weights(n) + sum(working_elements(point, m) for m in modes)
    return int(1.25 * elems * ITEMSIZE.get(point.dtype, 8))


def call_seconds(point: Point, mode: str) -> float:
    """Estimated seconds of one engine call (evaluation + derivative chain)."""
    n = widths(point)
    chain = predict.ops_for(point.target, mode, point.L, point.m, point.d, point.K).total
    gemm = mode == "forward" or (point.target == "jacobian" and point.K >= 8)
    s = chain / (GEMM_OPS_PER_S if gemm else GEMV_OPS_PER_S)
    s += 2 * _weights(n) / GEMV_OPS_PER_S                      # evaluating the z_i
    if point.target == "params" and mode == "forward":
        s += sum(a * r for a, r in zip(n[1:], _param_columns(n))) / COPY_ELEMS_PER_S
    return s + PER_CALL_S + 2 * (point.L + 2) * PER_PRODUCT_S


def benchmark_seconds(t_call: float, timing: dict) -> float:
    """Wall time pytest-benchmark spends on one benchmark of a t_call-second function:
    calibration and warm-up (a few calls each), the rounds (max_time, but at least
    min_rounds calls), and the one extra call it makes for the return value."""
    w = timing["warmup_iterations"]
    rounds = max(timing["max_time"], timing["min_rounds"] * t_call)
    return rounds + (2 * w + 2) * t_call + 0.005


def point_seconds(point: Point, modes, timing: dict) -> dict:
    """{mode: estimated wall seconds} to check and time `point` (set-up in the first mode)."""
    both = ("forward", "reverse")
    calls = {m: call_seconds(point, m) for m in both}
    setup = _weights(widths(point)) / BUILD_ELEMS_PER_S + sum(calls.values())  # + agreement
    out = {m: benchmark_seconds(calls[m], timing) for m in modes}
    if out:
        out[next(iter(out))] += setup
    return out


def skip_reason(point: Point, modes, limits: dict, timing: dict):
    """Why `point` must not run here (a one-line reason), or None when it may."""
    if point.device.startswith("cuda") and not cuda_available():
        return "no CUDA GPU"
    mem, budget = memory_bytes(point), limits["mem_budget_gb"]
    if mem > budget * 2 ** 30:
        return f"memory estimate {mem / 2 ** 30:.2f} GiB exceeds budget {budget:g} GiB"
    secs = sum(point_seconds(point, modes, timing).values())
    if secs > limits["max_point_s"]:
        return f"time estimate {secs:.0f} s exceeds cap {limits['max_point_s']:g} s per point"
    return None
