"""A run's per-round timings, compact: results/<run-id>/rounds.json.

    {"schema": "fwdrev-rounds/1", "unit": "s", "max_rounds": 256, "digits": 4,
     "rows": {"<point_key>|<mode>": [t_1, t_2, ...]}}

One list per timed row (the key is the row's point_key and mode, as in points.csv): the
time of one engine call in each round, in the order the rounds ran, to 4 significant
digits. A row with more than `max_rounds` rounds keeps `max_rounds` of them evenly spaced
over the run (the first and the last among them), so a default sweep's file is a few
hundred kB (about 10 bytes a round) however many rounds its fast points ran. The sweep's pytest child writes a row's
rounds the moment it is timed, before the row itself (bench/sweep/timing.py).

`load(run_dir)` is the one reader, for `fwdrev compare` and whoever else needs the rounds:
it reads rounds.json, and for a row it lacks (a run made before the file existed, a merged
run) pytest-benchmark.json's `stats.data`, thinned the same way.
"""
from __future__ import annotations

import json
from pathlib import Path

from bench import store
from bench.errors import DamagedError

NAME = "rounds.json"
SCHEMA = "fwdrev-rounds/1"
MAX_ROUNDS = 256
DIGITS = 4


def row_key(point_key: str, mode: str) -> str:
    return f"{point_key}|{mode}"


def thin(times, max_rounds=MAX_ROUNDS) -> list:
    """At most max_rounds of the times, evenly spaced in run order, to DIGITS digits."""
    times = list(times)
    n = len(times)
    if n > max_rounds:
        step = (n - 1) / (max_rounds - 1)
        times = [times[round(i * step)] for i in range(max_rounds)]
    return [float(f"{float(t):.{DIGITS}g}") for t in times]


def save(run_dir, point_key: str, mode: str, times) -> None:
    """Keep one row's rounds (atomically; a later save of the same row replaces it). The
    run is locked by its writer, so there is one writer of the file at a time."""
    path = Path(run_dir) / NAME
    doc = _read(path) or _empty()
    doc["rows"][row_key(point_key, mode)] = thin(times)
    store.atomic_write(path, json.dumps(doc, separators=(",", ":")) + "\n")  # compact


def load(run_dir) -> dict:
    """{(point_key, mode): [seconds per call, one per round]} of a run: rounds.json, and
    pytest-benchmark.json's stats.data for rows it lacks. DamagedError for a damaged file."""
    run_dir = Path(run_dir)
    out = {}
    bench = store.read_json(run_dir / "pytest-benchmark.json") or {}
    for b in bench.get("benchmarks", []):
        case = (b.get("params") or {}).get("fwdrev_case") or {}
        data = (b.get("stats") or {}).get("data")
        if data and "point" in case and "mode" in case:
            out[(_point_key(case["point"]), case["mode"])] = thin(data)
    doc = _read(run_dir / NAME)
    for k, times in (doc or {}).get("rows", {}).items():
        point_key, _, mode = k.rpartition("|")
        out[(point_key, mode)] = times
    return out


def _point_key(point: dict) -> str:
    from bench.points import Point
    return Point.from_dict(point).key()


def _empty() -> dict:
    return {"schema": SCHEMA, "unit": "s", "max_rounds": MAX_ROUNDS, "digits": DIGITS, "rows": {}}


def _read(path):
    doc = store.read_json(path)
    if doc is None:
        return None
    if doc.get("schema") != SCHEMA or not isinstance(doc.get("rows"), dict):
        raise DamagedError(f"{path} is damaged (not {SCHEMA}); delete it to fall back on "
                           f"pytest-benchmark.json's rounds")
    return doc
