"""Round-robin timing in one process, shared by the gate's small checks
(bench.gate.measure) and `fwdrev overhead` (bench.overhead): candidates timed call by call
in an order rotated round by round, so a neighbour's burst falls on all of them alike."""
from __future__ import annotations

import gc
import math
import time

WARMUP_BLOCKS = 3
"""Passes over every candidate before the first timed round (or block): they record the
plans and fill the caches."""


def interleaved(fns: dict, rounds=None, calls=1, seconds=0.0, after=()) -> dict:
    """Round-robin timing, shared by the gate's small checks and `fwdrev overhead`: per
    round, `calls` passes over the candidates `fns` ({name: zero-argument callable}) in an
    order rotated round by round, each call timed alone; then each of `after` (a peer whose
    heavy call evicts caches), then the candidates once more, untimed, to settle what it
    evicted. Rounds: `rounds` of them, or (rounds None) as many as fill `seconds`, at least
    5. Returns {name: [the round's quickest call, per round]}. A call of 10-200 µs is
    preempted now and then on a busy machine by far more than it lasts; the quickest of a
    round's calls is one that was not, so ratios of them hold under load."""
    clock = time.perf_counter
    names = list(fns) + list(after)
    for _ in range(WARMUP_BLOCKS):  # records the plans, fills the caches
        for n in names:
            (fns.get(n) or after[n])()
    best = {n: [] for n in names}
    was_enabled = gc.isenabled()
    gc.disable()  # a collection inside one call but not its partner skews a round (no
    # gc.collect first: with torch loaded it took 2 s a check on a busy machine)
    core, t_end, r = list(fns), clock() + seconds, 0
    try:
        while (r < rounds) if rounds is not None else (clock() < t_end or r < 5):
            k = r % len(core)
            quickest = dict.fromkeys(names, math.inf)
            for _ in range(calls):
                for n in core[k:] + core[:k]:
                    t0 = clock()
                    fns[n]()
                    quickest[n] = min(quickest[n], clock() - t0)
            for n in after:
                t0 = clock()
                after[n]()
                quickest[n] = clock() - t0
                for fn in fns.values():  # settle: untimed, after the peer's evictions
                    fn()
            for n in names:
                best[n].append(quickest[n])
            r += 1
    finally:
        if was_enabled:
            gc.enable()
    return best
