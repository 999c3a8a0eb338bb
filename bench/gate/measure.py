"""What the gate measures: its checks, the engine and reference callables, the timing.

A check is a point and the modes timed there. For each mode, the engine call and the
reference (bench.gate.reference) run on the same chain and x, in ABBA blocks (engine,
reference, reference, engine; the next block BAAB), each block giving one ratio
t_engine / t_reference. Interleaving puts both sides under the same load, clock and cache
state, so a busy neighbour or another BLAS kernel moves both alike. A small check's
rounds alternate single calls and take each side's quickest (interleaved_min).
"""
from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass

from bench.gate.canary import delayed, slowed
from bench.gate.reference import REFERENCES
from bench.gate.stats import median
from bench.timer import WARMUP_BLOCKS, interleaved
from bench.points import (Point, call_for, chain_for, predicted_ops, relerr, set_threads,
                          to_numpy_list)

MODES = ("forward", "reverse", "cheapest")
"""Every mode the gate times somewhere (and a canary can slow)."""
REFERENCE_OF = {"forward": "forward", "reverse": "reverse", "cheapest": "reverse"}
"""The hand-written products each mode is held to. The cheapest bracketing of a scalar
loss's J_ℓ A_L ⋯ A_0 is the row-vector chain, so cheapest's gradient is reverse's
arithmetic (the answers are checked equal before any timing)."""
MIN_SAMPLE_S = 4e-3
"""A sample is as many calls as take at least this long: a preemption or a neighbour's burst
(a millisecond or so) then moves a sample by a small fraction, not by half."""
MIN_SAMPLE_S_SMALL = 1e-3
"""A small check's round: as many calls of each side as the reference makes in this long
(interleaved_min)."""
AGREE_TOL = 1e-9


@dataclass(frozen=True)
class Check:
    """A gate point and the modes whose engine/reference ratio is timed there. A small
    check's band is wider (bench.gate.stats.SMALL_TOL_FLOOR): see SMALL_CHECKS."""

    point: Point
    modes: tuple
    small: bool = False


# Sizes where the arithmetic dominates an engine call (≥ 2 ms on a 2-core EPYC, ~25 µs of
# Python around it), so t_engine / t_reference sits near 1 on any CPU or BLAS kernel. At
# m = 2048, d = 16 forward multiplies a 2048² matrix by 2048 × 16 and reverse by a vector:
# both timed at one point, the forward/reverse ratios can be shown side by side. The
# parameter gradient is timed for reverse only: forward's J_O at these sizes would be
# 2048 × 4·10⁶ entries (it is counted at small sizes instead). The engines are timed
# without their finiteness checks (checked once before timing), as the sweep times them:
# torch.isfinite over an m × m gradient ran at a speed against the products' that varied
# by 30% between runs.
LARGE_CHECKS = (
    Check(Point(backend="numpy", target="gradient", L=2, m=2048, d=16, K=1), MODES[:2]),
    Check(Point(backend="torch", target="gradient", L=2, m=2048, d=16, K=1), MODES[:2]),
    Check(Point(backend="numpy", target="params", L=2, m=1024, d=16, K=1), ("reverse",)),
    Check(Point(backend="torch", target="params", L=2, m=1024, d=16, K=1), ("reverse",)),
)

# Small sizes, where a call's fixed cost (Python, the trace, the plan lookup) is most of
# its time: a change that adds microseconds to every call shows here and nowhere else.
# The ratio to the hand-written products then follows the interpreter's speed against the
# BLAS's small-matrix speed, which differs between CPUs and kernels, so these checks get a
# wider band; a +20 µs call still moves the ratio far past it (several times at L2 m16).
_SMALL = ((2, 16, 16, 10), (3, 64, 32, 1))
SMALL_CHECKS = tuple(
    Check(Point(backend=b, target=t, L=L, m=m, d=d, K=K),
          ("reverse",) if t == "params" else MODES if m == 16 else MODES[:2], small=True)
    for (L, m, d, K) in _SMALL for b in ("numpy", "torch") for t in ("gradient", "params"))

CHECKS = LARGE_CHECKS + SMALL_CHECKS

# Counted but not timed: forward accumulation of the parameter gradient, at sizes it fits.
COUNT_ONLY = (
    Check(Point(backend="numpy", target="params", L=2, m=24, d=24, K=1), MODES[:2]),
    Check(Point(backend="torch", target="params", L=2, m=32, d=32, K=1), MODES[:2]),
)


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
    ref_key = (point.target, REFERENCE_OF[mode])
    if ref_key not in REFERENCES:
        raise KeyError(f"no reference for {point.target}/{mode} (bench.gate.reference)")
    chain = chain_for(point, seed)
    x = chain.random_x(seed + 1)
    backend = chain.backend
    Ws = [layer.W for layer in chain.linear_layers]
    ref = REFERENCES[ref_key](Ws, chain.loss.y)
    _agree(backend, call_for(mode, point)(chain, x), ref(x), f"{point.label('short')} {mode}")
    fn = call_for(mode, point, check=False)  # checked once above, timed without

    def engine():
        fn(chain, x)
        backend.synchronize()

    def reference():
        ref(x)
        backend.synchronize()
    return engine, reference


def _agree(backend, res, ref_answer, what):
    """The reference must compute what the engine does, or its timing means nothing."""
    f, grad = ref_answer
    grads = grad if isinstance(grad, list) else [grad]
    eng = to_numpy_list(backend, res)
    if len(eng) != len(grads):
        raise ValueError(f"{what}: the reference returns {len(grads)} gradient array(s), "
                         f"the engine {len(eng)}; fix bench/gate/reference.py")
    want = [*(backend.to_numpy(g) for g in grads), backend.to_numpy(f)]
    err = relerr([*eng, backend.to_numpy(res.value)], want)
    if not err <= AGREE_TOL:
        raise ValueError(f"{what}: the reference differs from the engine (relative error "
                         f"{err:.2e}); fix bench/gate/reference.py")


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


def interleaved_min(engine, reference, rounds: int, calls: int):
    """A small check's rounds (interleaved): `calls` engine and reference calls alternated,
    the order flipped each round; the round's ratio is its quickest engine call over its
    quickest reference call. Returns the per-round ratios and the median over rounds of
    each side's quickest call (seconds)."""
    t = interleaved({"engine": engine, "reference": reference}, rounds=rounds, calls=calls)
    ratios = [e / r for e, r in zip(t["engine"], t["reference"])]
    return ratios, median(t["engine"]), median(t["reference"])


def calls_per_sample(reference, sample_s=MIN_SAMPLE_S) -> int:
    """How many calls make a sample of at least sample_s (the reference's time decides, so a
    slowed engine gets the same count as an unslowed one): from the quickest of 5 calls, as
    one call a neighbour interrupted would make the samples too short."""
    reference()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        reference()
        times.append(time.perf_counter() - t0)
    return max(1, math.ceil(sample_s / max(min(times), 1e-9)))


def repeated(fn, n: int):
    if n == 1:
        return fn

    def run():
        for _ in range(n):
            fn()
    return run


def measure(check: Check, mode: str, blocks: int, factor=1.0, add_s=0.0, seed=0) -> dict:
    """{"ratios", "t_engine", "t_reference" (per call), "calls"} for one mode of one check;
    factor and add_s are the canaries (every engine call `factor` times as long, or
    `add_s` seconds longer)."""
    engine, reference = pair(check.point, mode, seed)
    slow = delayed(slowed(engine, factor), add_s)
    if check.small:
        n = calls_per_sample(reference, MIN_SAMPLE_S_SMALL)
        ratios, te, tr = interleaved_min(slow, reference, blocks, n)
        return {"ratios": ratios, "t_engine": te, "t_reference": tr, "calls": n}
    n = calls_per_sample(reference)
    ratios, te, tr = abba(repeated(slow, n), repeated(reference, n), blocks)
    return {"ratios": ratios, "t_engine": te / n, "t_reference": tr / n, "calls": n}


def measure_all(checks, blocks: int, threads: int, canaries=None, seed=0) -> dict:
    """{check key: {mode: measure(...)}} for every check, threads pinned first; canaries:
    {mode: (factor, add_s)}."""
    set_threads(threads)
    canaries = canaries or {}
    return {c.point.key(): {m: measure(c, m, blocks, *canaries.get(m, (1.0, 0.0)), seed=seed)
                            for m in c.modes} for c in checks}
