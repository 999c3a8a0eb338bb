"""results/baseline.json: its schema, strict validation, and how it is recorded.

    {"schema": "fwdrev-baseline/2",
     "fingerprint": {...},              # meta.fingerprint(): for information only
     "date": "...", "settings": {"threads", "blocks", "runs", "n_boot", "seed"},
     "tolerance_rule": {...},
     "checks": [{"point": {...}, "key": "...",
                 "modes": {"forward": {"ratio", "tol", "spread", "run_medians",
                                       "t_engine_ms", "t_reference_ms"}, ...}}],
     "counts": [{"point": {...}, "key": "...", "counts": {"forward": {"mults", "adds", "total"}}}]}

`ratio` is the median over `runs` separate processes of each run's median t_engine /
t_reference; `tol` comes from their spread (bench.gate.stats.tolerance_for).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from bench.gate import stats
from bench.store import atomic_write
from bench.points import Point

SCHEMA = "fwdrev-baseline/2"
OLD_SCHEMAS = ("fwdrev-baseline/1",)


class BaselineError(ValueError):
    """The baseline file is missing, unreadable or malformed (one-line message)."""


class UnknownPoint(ValueError):
    """The baseline's checks and the gate's differ (one-line message)."""


_TOP = {"schema": str, "fingerprint": dict, "date": str, "settings": dict, "checks": list,
        "counts": list}
_SETTINGS = {"threads": int, "blocks": int, "runs": int, "n_boot": int, "seed": int}
_MODE = {"ratio": float, "tol": float, "spread": float, "run_medians": list}


def _need(d, spec, where):
    if not isinstance(d, dict):
        raise BaselineError(f"{where} is not an object")
    for k, typ in spec.items():
        if k not in d:
            raise BaselineError(f"{where} has no {k!r}")
        v = d[k]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) if typ is float \
            else isinstance(v, typ) and not (typ is int and isinstance(v, bool))
        if not ok:
            raise BaselineError(f"{where}: {k!r} should be {typ.__name__}, got {v!r}")


def _point(entry, where, seen):
    _need(entry, {"point": dict, "key": str}, where)
    try:
        pt = Point.from_dict(entry["point"])
    except (ValueError, TypeError) as e:  # FwdrevError is a ValueError
        raise BaselineError(f"{where}: {e}") from None
    if pt.key() != entry["key"]:
        raise BaselineError(f"{where}: key {entry['key']!r} does not match its point {pt.key()!r}")
    if pt.key() in seen:
        raise BaselineError(f"{where}: duplicate point {pt.key()}")
    seen.add(pt.key())


def validate(doc) -> dict:
    """Check a parsed baseline strictly and return it; BaselineError naming the first problem."""
    if not isinstance(doc, dict):
        raise BaselineError("baseline is not a JSON object")
    if doc.get("schema") in OLD_SCHEMAS:
        raise BaselineError(f"baseline has the old schema {doc['schema']!r} (forward/reverse "
                            f"ratios that depend on the CPU); record a new one with `make baseline`")
    if doc.get("schema") != SCHEMA:
        raise BaselineError(f"baseline schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    _need(doc, _TOP, "baseline")
    _need(doc["settings"], _SETTINGS, "baseline settings")
    for k in ("threads", "blocks", "runs", "n_boot"):
        if doc["settings"][k] < 1:
            raise BaselineError(f"baseline settings: {k!r} must be at least 1, got {doc['settings'][k]}")
    if not doc["checks"]:
        raise BaselineError("baseline has no checks")
    seen = set()
    for i, c in enumerate(doc["checks"]):
        where = f"baseline check #{i}"
        _point(c, where, seen)
        _need(c, {"modes": dict}, where)
        if not c["modes"]:
            raise BaselineError(f"{where} times no mode")
        for mode, entry in c["modes"].items():
            _need(entry, _MODE, f"{where} {mode}")
            if not (entry["ratio"] > 0 and math.isfinite(entry["ratio"])):
                raise BaselineError(f"{where} {mode}: ratio must be positive, got {entry['ratio']!r}")
            if not (0 < entry["tol"] < 1):
                raise BaselineError(f"{where} {mode}: tol must be in (0, 1), got {entry['tol']!r}")
    seen = set()
    for i, c in enumerate(doc["counts"]):
        where = f"baseline counts #{i}"
        _point(c, where, seen)
        _need(c, {"counts": dict}, where)
        for mode, cnt in c["counts"].items():
            _need(cnt, {f: int for f in stats.COUNT_FIELDS}, f"{where} {mode}")
    return doc


def load(path) -> dict:
    """Read and strictly validate a baseline; BaselineError with one line otherwise."""
    path = Path(path).absolute()
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BaselineError(f"no baseline at {path} (record one with `make baseline` in the "
                            f"repository, or `fwdrev baseline --out {path}`)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BaselineError(f"cannot read baseline {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise BaselineError(f"baseline {path} is not valid JSON (line {e.lineno}: {e.msg})") from None
    try:
        return validate(doc)
    except BaselineError as e:
        raise BaselineError(f"baseline {path}: {e}") from None


def check_matches(doc, checks, count_checks):
    """UnknownPoint unless the baseline holds exactly the gate's checks (with their modes)
    and counted points."""
    def compare(have, want, what):
        if have != want:
            extra = sorted(set(have) - set(want))
            missing = sorted(set(want) - set(have))
            detail = "; ".join(filter(None, [extra and f"the baseline has {', '.join(extra)}",
                                             missing and f"it lacks {', '.join(missing)}"]))
            raise UnknownPoint(f"the baseline's {what} differ from the gate's: "
                               f"{detail or 'different modes'} (re-record with `make baseline`)")
    compare({c["key"]: sorted(c["modes"]) for c in doc["checks"]},
            {c.point.key(): sorted(c.modes) for c in checks}, "timed checks")
    compare({c["key"]: sorted(c["counts"]) for c in doc["counts"]},
            {c.point.key(): sorted(c.modes) for c in count_checks}, "counted points")


def write(path, doc):
    """Write atomically, so an interrupted `make baseline` never leaves half a file."""
    path = Path(path)
    if path.is_dir():
        raise BaselineError(f"--out {path} is a directory; give a file name")
    atomic_write(path, json.dumps(doc, indent=1) + "\n")


# -- recording ------------------------------------------------------------------------------------
def check_entry(check, runs, s) -> dict:
    """One check's baseline: per mode, the median of the run medians and its tolerance."""
    key = check.point.key()
    modes = {}
    for mode in check.modes:
        meds = [stats.median(r[key][mode]["ratios"]) for r in runs]
        spread = stats.run_spread(meds)
        modes[mode] = {
            "ratio": stats.median(meds), "tol": stats.tolerance_for(spread, small=check.small),
            "spread": spread,
            "run_medians": meds,
            "ci_rel_halfwidths": [stats.summarize(r[key][mode]["ratios"], n_boot=s["n_boot"],
                                                  seed=s["seed"]).rel_halfwidth for r in runs],
            "t_engine_ms": 1e3 * stats.median([r[key][mode]["t_engine"] for r in runs]),
            "t_reference_ms": 1e3 * stats.median([r[key][mode]["t_reference"] for r in runs])}
    return {"point": check.point.as_dict(), "key": key, "modes": modes}


def child_run(settings: dict) -> dict:
    """One measurement of every check in a fresh process: the run-to-run spread then includes
    what differs between processes (memory layout, allocator state), as between CI runs."""
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "bench.gate.baseline", "--child", json.dumps(settings)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    if out.returncode != 0:
        raise RuntimeError(f"measuring child failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout)


def _child_main(settings_json: str) -> int:
    """Do what `regress` does, in the same order: counts first, then the timing."""
    from bench.gate import measure
    s = json.loads(settings_json)
    measure.set_threads(s["threads"])
    counts = {c.point.key(): measure.exact_counts(c) for c in measure.CHECKS + measure.COUNT_ONLY}
    timing = measure.measure_all(measure.CHECKS, s["blocks"], s["threads"], seed=s["seed"])
    print(json.dumps({"counts": counts, "timing": timing}))
    return 0


if __name__ == "__main__":  # only `make baseline`'s child processes run this module
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2]))
    sys.exit("usage: python -m bench baseline")
