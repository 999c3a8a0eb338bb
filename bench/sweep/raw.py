"""pytest-benchmark's raw JSON of a run (results/<run-id>/pytest-benchmark.json), kept
benchmark by benchmark so that no kill loses a finished one.

The pytest child saves each benchmark's record (its statistics and every round's time) in
<run>/.raw/ the moment it is timed, before the benchmark's row. The sweep folds those
records into pytest-benchmark.json when the child ends, and again at the start of the
next sweep of the run (a sweep killed outright leaves them behind). pytest-benchmark's own
session JSON, when the child lived to write it, gives the machine and commit info.
"""
from __future__ import annotations

import contextlib
import hashlib
from importlib import metadata
from pathlib import Path

from bench import safefs, store
from bench.errors import DamagedError
from bench.meta import utc_now

RAW_DIR = ".raw"
NAME = "pytest-benchmark.json"
SESSION_GLOB = ".session-*.json"
HEAD = ("machine_info", "commit_info", "datetime", "version")


def save_record(run_dir, point_key: str, mode: str, record: dict) -> None:
    """Keep one finished benchmark's pytest-benchmark record (atomically)."""
    name = hashlib.sha256(f"{point_key}|{mode}".encode()).hexdigest()[:20]
    folder = safefs.own_dir(Path(run_dir) / RAW_DIR, create=True)
    store.write_json(folder / f"{name}.json",
                     {"point_key": point_key, "mode": mode, "benchmark": record})


def fold(run_dir) -> None:
    """Merge the saved records and session JSONs into pytest-benchmark.json, keep only the
    benchmarks of ok rows (a record whose row never got written is dropped), one per
    benchmark (a re-timed one replaces the old), and remove what was merged. Call with
    the run locked; DamagedError when pytest-benchmark.json itself is damaged."""
    run_dir = Path(run_dir)
    merged = read_benchmarks(run_dir / NAME)
    records = safefs.files(run_dir / RAW_DIR, "[!.]*.json")
    paths = records + safefs.files(run_dir, SESSION_GLOB)
    if not paths:
        return
    ok = {(r["point_key"], r["mode"]) for r in store.read_rows(run_dir / "points.csv")
          if r["status"] == "ok"}
    head = _head(merged, [p for p in paths if p.parent == run_dir])
    new = {}
    for rec in map(read_record, records):
        if (rec["point_key"], rec["mode"]) in ok:
            new[rec["benchmark"]["fullname"]] = rec["benchmark"]
    old = [b for b in (merged or {}).get("benchmarks", []) if b.get("fullname") not in new]
    if old or new:
        store.write_json(run_dir / NAME, {**head, "benchmarks": old + list(new.values())})
    for p in paths:
        p.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (run_dir / RAW_DIR).rmdir()  # only when empty


def read_record(path) -> dict:
    """One saved benchmark record of .raw/, checked: DamagedError naming it unless it holds
    point_key and mode (text) and a benchmark with a fullname."""
    rec = store.read_json(path) or {}
    b = rec.get("benchmark")
    if not (isinstance(rec.get("point_key"), str) and isinstance(rec.get("mode"), str)
            and isinstance(b, dict) and isinstance(b.get("fullname"), str)):
        raise DamagedError(f"{path} is damaged (not a benchmark record with point_key, mode "
                           "and benchmark.fullname); remove it, and its point is timed again")
    return rec


def read_benchmarks(path):
    """A run's pytest-benchmark.json, checked (None when there is none): DamagedError
    naming it unless `benchmarks` is a list of objects each with a text fullname."""
    doc = store.read_json(path)
    if doc is None:
        return None
    bs = doc.get("benchmarks", [])
    if not (isinstance(bs, list) and all(isinstance(b, dict) and isinstance(b.get("fullname"), str)
                                         and isinstance(b.get("stats", {}), dict)
                                         and isinstance(b.get("extra_info", {}), dict) for b in bs)):
        raise DamagedError(f"{path} is damaged ('benchmarks' is not a list of benchmarks); "
                           f"{store.FIX}")
    return doc


def _head(merged, sessions) -> dict:
    """machine_info, commit_info, datetime and version: from the newest session JSON that
    reads, else from the run's JSON, else minimal."""
    for p in reversed(sessions):
        doc = _quiet_json(p)
        if doc and all(k in doc for k in HEAD):
            return {k: doc[k] for k in HEAD}
    if merged:
        return {k: merged.get(k) for k in HEAD}
    return {"machine_info": {}, "commit_info": {}, "datetime": utc_now(),
            "version": metadata.version("pytest-benchmark")}


def _quiet_json(path):
    """A JSON object from a file a killed process may have left half-written, or None."""
    try:
        return store.read_json(path)
    except (DamagedError, OSError):
        return None
