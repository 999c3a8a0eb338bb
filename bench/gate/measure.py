"""What the gate measures: its checks, the engine and reference callables, the timing.

A check is a point and the modes timed there. For each mode, the engine call and the
reference (bench.gate.reference) run on the same chain and x, in ABBA blocks (engine,
reference, reference, engine; the next block BAAB), each block giving one ratio
t_engine / t_reference. Interleaving puts both sides under the same load, clock and cache
state, so a busy neighbour or another BLAS kernel moves both alike.
"""
from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass

from bench.gate.reference import REFERENCES
from bench.gate.stats import median
from bench.points import (Point, call_for, chain_for, predicted_ops, relerr, set_threads,
                          to_numpy_list)

MODES = ("forward", "reverse")
WARMUP_BLOCKS = 3
MIN_SAMPLE_S = 4e-3
"""A sample is as many calls as take at least this long: a preemption or a neighbour's burst
(a millisecond or so) then moves a sample by a small fraction, not by half."""
AGREE_TOL = 1e-9


@dataclass(frozen=True)
class Check:
    """A gate point and the modes whose engine/reference ratio is timed there."""

    point: Point
    modes: tuple


# Sizes where the arithmetic dominates an engine call (≥ 2 ms on a 2-core EPYC, ~25 µs of
# Python around it), so t_engine / t_reference sits near 1 on any CPU or BLAS kernel. At
# m = 2048, d = 16 forward multiplies a 2048² matrix by 2048 × 16 and reverse by a vector:
# both timed at one point, the forward/reverse ratios can be shown side by side. The
# parameter gradient is timed for reverse only: forward's J_O at these sizes would be
# 2048 × 4·10⁶ entries (it is counted at small sizes instead). The engines are timed
# without their finiteness checks (checked once before timing), as the sweep times them:
# torch.isfinite over an m × m gradient ran at a speed against the products' that varied
# by 30% between runs. Small sizes, where per-call overhead is most of the time, are not
# gated: there the ratio follows the interpreter's speed against the BLAS's, which differs
# between CPUs by more than a useful band (README, "The CI gate").
CHECKS = (
    Check(Point(backend="numpy", target="gradient", L=2, m=2048, d=16, K=1), MODES),
    Check(Point(backend="torch", target="gradient", L=2, m=2048, d=16, K=1), MODES),
    Check(Point(backend="numpy", target="params", L=2, m=1024, d=16, K=1), ("reverse",)),
    Check(Point(backend="torch", target="params", L=2, m=1024, d=16, K=1), ("reverse",)),
)

# Counted but not timed: forward accumulation of the parameter gradient, at sizes it fits.
COUNT_ONLY = (
    Check(Point(backend="numpy", target="params", L=2, m=24, d=24, K=1), MODES),
    Check(Point(backend="torch", target="params", L=2, m=32, d=32, K=1), MODES),
)


def label(point: Point) -> str:
    """A short name for tables and messages (the key stays the point's identity)."""
    return f"{point.backend}/{point.target} L={point.L} m={point.m} d={point.d} K={point.K}"


def ops_dict(ops) -> dict:
    return {"mults": int(ops.mults), "adds": int(ops.adds), "total": int(ops.total)}


def exact_counts(check: Check) -> dict:
    """{mode: {mults, adds, total}} of one untimed engine call per mode of the check."""
    chain = chain_for(check.point)
    x = chain.random_x(1)
    return {mode: ops_dict(call_for(mode, check.point)(chain, x).ops) for mode in check.modes}


def predicted_counts(check: Check) -> dict:
    return {mode: ops_dict(predicted_ops(check.point, mode)) for mode in check.modes}


# -- callables ------------------------------------------------------------------------------
def pair(point: Point, mode: str, seed=0):
    """(engine, reference): zero-argument callables doing one call each on the same chain
    and x and waiting for the device; FwdrevError if their answers differ."""
    if (point.target, mode) not in REFERENCES:
        raise KeyError(f"no reference for {point.target}/{mode} (bench.gate.reference)")
    chain = chain_for(point, seed)
    x = chain.random_x(seed + 1)
    b = chain.backend
    Ws = [layer.W for layer in chain.linear_layers]
    ref = REFERENCES[(point.target, mode)](Ws, chain.loss.y)
    _agree(b, call_for(mode, point)(chain, x), ref(x), f"{label(point)} {mode}")
    fn = call_for(mode, point, check=False)  # checked once above, timed without

    def engine():
        fn(chain, x)
        b.synchronize()

    def reference():
        ref(x)
        b.synchronize()
    return engine, reference


def _agree(b, res, ref_answer, what):
    """The reference must compute what the engine does, or its timing means nothing."""
    f, grad = ref_answer
    grads = grad if isinstance(grad, list) else [grad]
    eng = to_numpy_list(b, res)
    if len(eng) != len(grads):
        raise ValueError(f"{what}: the reference returns {len(grads)} gradient array(s), "
                         f"the engine {len(eng)}; fix bench/gate/reference.py")
    err = relerr([*eng, b.to_numpy(res.value)], [*(b.to_numpy(g) for g in grads), b.to_numpy(f)])
    if not err <= AGREE_TOL:
        raise ValueError(f"{what}: the reference differs from the engine (relative error "
                         f"{err:.2e}); fix bench/gate/reference.py")


def slowed(fn, factor: float):
    """fn made `factor` times slower, the canary: whole calls of fn itself, then a busy wait
    for the fractional rest of one call's own time, measured on the spot. A 1.25x canary
    costs exactly 1.25x whatever the call costs, at any size and on any machine."""
    whole = int(math.floor(factor + 1e-9))
    frac = factor - whole
    if whole < 1:
        raise ValueError(f"a slow-down factor must be at least 1, got {factor:g}")
    if whole == 1 and frac <= 1e-9:
        return fn
    clock = time.perf_counter

    def call():
        t0 = clock()
        for _ in range(whole):
            fn()
        if frac > 1e-9:
            goal = t0 + (clock() - t0) * (whole + frac) / whole
            while clock() < goal:
                pass
    return call


# -- timing ----------------------------------------------------------------------------------------
def abba(engine, reference, blocks: int):
    """Per-block ratios t_engine / t_reference and the median per-call times (seconds).
    Blocks alternate ABBA and BAAB, so neither side always runs first or second."""
    clock = time.perf_counter
    for _ in range(WARMUP_BLOCKS):
        engine()
        reference()
    ratios, te_all, tr_all = [], [], []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # a collection inside one call but not its partner skews a block
    try:
        for i in range(blocks):
            a, b = (engine, reference) if i % 2 == 0 else (reference, engine)
            t0 = clock()
            a()
            t1 = clock()
            b()
            b()
            t2 = clock()
            a()
            t3 = clock()
            ta, tb = (t1 - t0) + (t3 - t2), t2 - t1
            te, tr = (ta, tb) if a is engine else (tb, ta)
            ratios.append(te / tr)
            te_all.append(te / 2)
            tr_all.append(tr / 2)
    finally:
        if was_enabled:
            gc.enable()
    return ratios, median(te_all), median(tr_all)


def calls_per_sample(reference) -> int:
    """How many calls make a sample of at least MIN_SAMPLE_S (the reference's time decides,
    so a slowed engine gets the same count as an unslowed one)."""
    reference()
    t0 = time.perf_counter()
    reference()
    return max(1, math.ceil(MIN_SAMPLE_S / max(time.perf_counter() - t0, 1e-9)))


def repeated(fn, n: int):
    if n == 1:
        return fn

    def run():
        for _ in range(n):
            fn()
    return run


def measure(check: Check, mode: str, blocks: int, factor=1.0, seed=0) -> dict:
    """{"ratios", "t_engine", "t_reference" (per call), "calls"} for one mode of one check."""
    engine, reference = pair(check.point, mode, seed)
    n = calls_per_sample(reference)
    ratios, te, tr = abba(repeated(slowed(engine, factor), n), repeated(reference, n), blocks)
    return {"ratios": ratios, "t_engine": te / n, "t_reference": tr / n, "calls": n}


def measure_all(checks, blocks: int, threads: int, factors=None, seed=0) -> dict:
    """{check key: {mode: measure(...)}} for every check, threads pinned first."""
    set_threads(threads)
    factors = factors or {}
    return {c.point.key(): {m: measure(c, m, blocks, factors.get(m, 1.0), seed) for m in c.modes}
            for c in checks}
