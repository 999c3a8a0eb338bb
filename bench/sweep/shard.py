"""`fwdrev sweep --shard I/N`: a deterministic 1/N of a sweep's points, balanced by time.

Every machine given the same grid computes the same assignment: the points are sorted by
their estimated time (bench.sweep.guards' rate model, a pure function of the point and the
timing settings — never a machine's calibration), longest first, ties by point key, and
each goes to the shard with the least estimated time so far (ties: the lowest shard). The
N shards are disjoint and together are the whole grid; `fwdrev merge` joins their runs.
A grid with device "auto" expands by the GPUs present, so shard such a sweep only across
machines of one kind (or name the devices).
"""
from __future__ import annotations

import re

from bench.errors import UsageError
from bench.sweep import guards
from bench.sweep.grid import spec_hash

SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse(text):
    """`I/N` as (I, N) with 1 ≤ I ≤ N; None for None; a one-line UsageError otherwise."""
    if text is None:
        return None
    m = SHARD.fullmatch(str(text))
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise UsageError(f"--shard must be I/N with 1 ≤ I ≤ N (e.g. 2/3), got {text!r}")
    return int(m[1]), int(m[2])


def label(shard) -> str | None:
    """(I, N) as "I/N" (what meta.json's `shard` holds); None for None."""
    return None if shard is None else f"{shard[0]}/{shard[1]}"


def point_seconds(point, modes, timing: dict) -> float:
    """The estimated seconds of one point, every mode (the weight a shard balances)."""
    return sum(guards.point_seconds(point, modes, timing).values())


def assign(expanded, n: int, timing: dict) -> dict:
    """{point key: shard number 1..n} for the expanded grid [(Point, modes, lines)]."""
    weighted = sorted(((point_seconds(p, modes, timing), p.key()) for p, modes, _ in expanded),
                      key=lambda t: (-t[0], t[1]))
    load, out = [0.0] * n, {}
    for secs, key in weighted:
        i = min(range(n), key=lambda s: (load[s], s))
        load[i] += secs
        out[key] = i + 1
    return out


def select(expanded, shard, timing: dict) -> list:
    """The part of the expanded grid shard (I, N) runs (all of it for None), in grid order."""
    if shard is None:
        return list(expanded)
    which = assign(expanded, shard[1], timing)
    return [e for e in expanded if which[e[0].key()] == shard[0]]


def run_hash(spec) -> str:
    """The run's spec hash: grid, timing and guards (what `fwdrev merge` compares), and
    the shard when there is one (so one shard never resumes another's run)."""
    defining = {k: spec[k] for k in ("grids", "timing", "guards")}
    if spec.get("shard"):
        defining["shard"] = label(spec["shard"])
    return spec_hash(defining)
