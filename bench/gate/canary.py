"""The gate's canaries: `--inject-slowdown MODE=FACTOR` and `MODE=+AMOUNT`.

    reverse=1.25     every reverse engine call takes 1.25 times its own time
    reverse=+20us    every reverse engine call takes 20 µs longer (units: ns, us, µs, ms, s)

A multiplicative canary is what a change to the arithmetic does; an additive one is what a
change that puts a fixed cost on every call does, which only the small checks can see.
"""
from __future__ import annotations

import math
import re
import time

from bench.errors import UsageError

UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_ADDITIVE = re.compile(r"\+(?P<num>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?P<unit>[a-zµ]*)")


def parse(items, modes) -> dict:
    """["forward=1.5", "reverse=+20us", ...] -> {mode: (factor, add_s)}; UsageError (one
    line) on anything else. A mode named twice keeps both: a factor and an addition."""
    out = {}
    for item in items or ():
        mode, sep, val = item.partition("=")
        if not sep or mode not in modes:
            raise UsageError(f"--inject-slowdown wants MODE=FACTOR or MODE=+AMOUNTUNIT with MODE "
                             f"in {', '.join(modes)}, got {item!r}")
        factor, add = out.get(mode, (1.0, 0.0))
        if val.startswith("+"):
            add += _amount(mode, val)
        else:
            factor = _factor(mode, val)
        out[mode] = (factor, add)
    return out


def _amount(mode, val) -> float:
    m = _ADDITIVE.fullmatch(val)
    if not m or m["unit"] not in UNITS:
        raise UsageError(f"--inject-slowdown {mode}: an addition is +NUMBER with a unit among "
                         f"{', '.join(UNITS)} (e.g. +20us), got {val!r}")
    seconds = float(m["num"]) * UNITS[m["unit"]]
    if not (math.isfinite(seconds) and 0 < seconds <= 1):
        raise UsageError(f"--inject-slowdown {mode}: an addition must be more than 0 and at "
                         f"most 1 s, got {val!r}")
    return seconds


def _factor(mode, val) -> float:
    try:
        f = float(val)
    except ValueError:
        raise UsageError(f"--inject-slowdown {mode}: FACTOR must be a number (or +AMOUNT with a "
                         f"unit, e.g. +20us), got {val!r}") from None
    if not (math.isfinite(f) and f >= 1):
        raise UsageError(f"--inject-slowdown {mode}: FACTOR must be a number >= 1, got {val!r}")
    return f


def describe(canaries: dict) -> str:
    """"reverse x1.25, forward +20 µs" for the gate's output."""
    parts = []
    for mode, (factor, add) in canaries.items():
        if factor != 1.0:
            parts.append(f"{mode} x{factor:g}")
        if add:
            parts.append(f"{mode} +{add * 1e6:g} µs")
    return ", ".join(parts)


# -- the canaries themselves, wrapped around an engine call -----------------------------------
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


def delayed(fn, seconds: float):
    """fn with `seconds` of busy waiting added to every call, the additive canary: what a
    change that puts a fixed cost on each call does, at any size."""
    if seconds <= 0:
        return fn
    clock = time.perf_counter

    def call():
        fn()
        goal = clock() + seconds
        while clock() < goal:
            pass
    return call
