"""The per-call floor: what a call costs when there is (almost) no work to do.

For a point and a mode, the floor is the median time of the same call — same backend,
device, exec, dtype, threads, target, depth L and hourglass or not — on the chain of
width 1 (m = d = K = 1, and a waist of 1): the same plan, step for step, on 1 × 1 arrays.
It is timed as the sweep times (unchecked, the device synchronised, one call a sample),
once per process per distinct floor point, and lands in each row's `floor_s`.

The report keeps a point out of the slope fits (and draws it hollow) while its time is
within 5× its own floor (bench.report.analysis.fit): a floor measured for that configuration and
exec — a CUDA graph's is an order of magnitude below eager's — never a constant.
"""
from __future__ import annotations

import time
from dataclasses import replace

from bench.stats import median
from bench.points import Point, prepare

WARMUP_S = 0.01
BUDGET_S = 0.02
BLOCKS = 8
MIN_CALLS = 5
_CACHE: dict = {}


def floor_point(point: Point) -> Point:
    """The point's chain at width 1: every layer 1 × 1, the same depth and layer kinds."""
    return replace(point, m=1, d=1, K=1, waist=1 if point.waist else 0)


def floor_seconds(point: Point, mode: str) -> float:
    """Seconds of one unchecked call of `mode` on the point's floor chain: after WARMUP_S of
    untimed calls (a process's first floors are measured while its caches are cold), the
    smallest of the medians of BLOCKS stretches of BUDGET_S / BLOCKS each — the quietest
    stretch: on a shared machine a burst of other work can cover a whole 20 ms."""
    p = floor_point(point)
    key = (p.key(), mode)
    if key not in _CACHE:
        call = prepare(p, modes=(mode,))[0][mode]  # checked once: records, captures a graph
        _repeat(call, WARMUP_S)
        _CACHE[key] = min(median(_repeat(call, BUDGET_S / BLOCKS)) for _ in range(BLOCKS))
    return _CACHE[key]


def _repeat(call, seconds) -> list:
    """Seconds of each call, for at least MIN_CALLS calls and `seconds` in all."""
    times, clock = [], time.perf_counter
    t_end = clock() + seconds
    while len(times) < MIN_CALLS or clock() < t_end:
        t0 = clock()
        call()
        times.append(clock() - t0)
    return times
