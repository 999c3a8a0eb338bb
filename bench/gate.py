"""The CI gate's decisions, kept free of timing so they can be tested on synthetic samples.

Everything here is pure: per-pair ratios in, a verdict out; a baseline dict in, either a
validated baseline or a `BaselineError` out; counts in, mismatches out.

    summary = summarize(ratios, seed=0)            # median and bootstrap interval
    band = band_for(baseline_ratio, tol)           # (ratio/(1+tol), ratio·(1+tol))
    verdict(summary.lo, summary.hi, band)          # "ok", "regressed-up", "regressed-down", "undecided"

A ratio is t_forward / t_reverse. "regressed-up" means the ratio rose: forward became slower
relative to reverse (or reverse faster); "regressed-down" the reverse. A point regresses only
when its whole interval lies outside the band; an interval that crosses a band edge is
"undecided" (too noisy to call either way) and the CLI re-measures it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

OK, UP, DOWN, UNDECIDED = "ok", "regressed-up", "regressed-down", "undecided"
VERDICTS = (OK, UP, DOWN, UNDECIDED)

SCHEMA = "fwdrev-baseline/1"

# The tolerance is derived from run-to-run spread measured when baselining, within limits.
# FLOOR: on a shared 2-core machine the gate points' ratios drift between processes by up to
# ~5% when it is quiet, and 10-20% for a measurement that a neighbour's burst of work
# overlaps, even when the handful of baseline runs saw less; so the band is never narrower
# than x/÷1.25 (the CLI also re-measures any point that is not ok before failing it).
# CAP: a 1.5x slow-down of either mode moves the ratio to 1.5x or 1/1.5 ≈ 0.67x; with the
# cap the band's edges stay at 1.3x and 1/1.3 ≈ 0.77x, clear of both canaries.
TOL_FLOOR = 0.25
TOL_CAP = 0.30
SPREAD_K = 3.0  # band half-width in units of the observed run-to-run spread


class BaselineError(ValueError):
    """The baseline file is missing, unreadable or malformed (one-line message)."""


class MachineMismatch(ValueError):
    """The baseline was recorded on another kind of machine (one-line message)."""


class UnknownPoint(ValueError):
    """The baseline's points and the gate's points differ (one-line message)."""


# -- statistics -------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """The median of per-pair ratios with a bootstrap confidence interval [lo, hi]."""

    median: float
    lo: float
    hi: float
    n: int

    @property
    def rel_halfwidth(self) -> float:
        """Half the interval's width relative to the median (a noise figure)."""
        return (self.hi - self.lo) / (2 * self.median) if self.median else math.inf


def median(values) -> float:
    """The median of a non-empty sequence of numbers."""
    s = sorted(values)
    if not s:
        raise ValueError("median of no values")
    n = len(s)
    return float(s[n // 2]) if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def bootstrap_median_ci(values, n_boot=2000, conf=0.95, seed=0):
    """Percentile bootstrap interval (lo, hi) for the median, with a seeded generator so the
    same samples always give the same interval."""
    import numpy as np
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("bootstrap of no values")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(int(n_boot), x.size))
    meds = np.median(x[idx], axis=1)
    a = (1 - conf) / 2
    lo, hi = np.quantile(meds, [a, 1 - a])
    return float(lo), float(hi)


def summarize(ratios, n_boot=2000, conf=0.95, seed=0) -> Summary:
    """Median of the per-pair ratios and its bootstrap interval."""
    ratios = [float(r) for r in ratios]
    if not ratios or not all(math.isfinite(r) and r > 0 for r in ratios):
        raise ValueError("ratios must be a non-empty list of positive finite numbers")
    lo, hi = bootstrap_median_ci(ratios, n_boot=n_boot, conf=conf, seed=seed)
    return Summary(median(ratios), lo, hi, len(ratios))


# -- tolerance and verdict ----------------------------------------------------------------
def run_spread(run_medians) -> float:
    """Run-to-run relative spread: the largest |log(r_i / median)| over separate runs."""
    m = median(run_medians)
    return max(abs(math.log(r / m)) for r in run_medians)


def tolerance_for(spread, floor=TOL_FLOOR, cap=TOL_CAP, k=SPREAD_K) -> float:
    """The band's relative half-width: k × spread, never under `floor`, never over `cap`."""
    return min(cap, max(floor, k * float(spread)))


def band_for(ratio, tol):
    """The tolerance band around a baseline ratio: symmetric in log scale, so a slow-down
    by 1+tol of either mode reaches an edge."""
    return ratio / (1 + tol), ratio * (1 + tol)


def verdict(lo, hi, band) -> str:
    """Compare an interval [lo, hi] with a band: ok inside, regressed when wholly outside,
    undecided when it crosses an edge."""
    b_lo, b_hi = band
    if lo > b_hi:
        return UP
    if hi < b_lo:
        return DOWN
    if lo >= b_lo and hi <= b_hi:
        return OK
    return UNDECIDED


def decide(ratios, baseline_ratio, tol, n_boot=2000, seed=0):
    """(Summary, band, verdict) for one point's per-pair ratios against its baseline."""
    s = summarize(ratios, n_boot=n_boot, seed=seed)
    band = band_for(baseline_ratio, tol)
    return s, band, verdict(s.lo, s.hi, band)


def fails(v: str) -> bool:
    """Whether a final verdict (after the CLI's one re-measurement of a point that was not
    ok) fails the gate. "undecided" does not: it is reported as a warning, because noise
    alone must not fail CI, and a real 1.5x change lands far outside the band with a narrow
    interval."""
    return v in (UP, DOWN)


# -- exact counts ---------------------------------------------------------------------------
COUNT_FIELDS = ("mults", "adds", "total")


def count_mismatches(key, mode, measured: dict, baseline: dict, predicted: dict):
    """Messages for every field where the engine's count differs from the baseline's or from
    modes.predict; empty when all three agree exactly."""
    out = []
    for f in COUNT_FIELDS:
        got = int(measured[f])
        if got != int(baseline[f]):
            out.append(f"{key} {mode}: {f} counted {got}, baseline {int(baseline[f])}")
        if got != int(predicted[f]):
            out.append(f"{key} {mode}: {f} counted {got}, modes.predict {int(predicted[f])}")
    return out


# -- baseline validation ----------------------------------------------------------------------
_TOP = {"schema": str, "machine": dict, "versions": dict, "date": str, "settings": dict,
        "points": list}
_SETTINGS = {"threads": int, "block": int, "pairs": int, "runs": int, "n_boot": int,
             "seed": int}
_POINT = {"point": dict, "key": str, "ratio": float, "tol": float, "spread": float,
          "run_medians": list, "counts": dict}


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


def validate_baseline(doc, point_from_dict):
    """Check a parsed baseline strictly and return it; raise BaselineError naming the first
    problem. `point_from_dict` turns a point dict into a Point (it raises on unknown fields)."""
    if not isinstance(doc, dict):
        raise BaselineError("baseline is not a JSON object")
    if doc.get("schema") != SCHEMA:
        raise BaselineError(f"baseline schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    _need(doc, _TOP, "baseline")
    _need(doc["settings"], _SETTINGS, "baseline settings")
    s = doc["settings"]
    for k in ("threads", "block", "pairs", "runs", "n_boot"):
        if s[k] < 1:
            raise BaselineError(f"baseline settings: {k!r} must be at least 1, got {s[k]}")
    if not doc["points"]:
        raise BaselineError("baseline has no points")
    seen = set()
    for i, p in enumerate(doc["points"]):
        where = f"baseline point #{i}"
        _need(p, _POINT, where)
        try:
            pt = point_from_dict(p["point"])
        except (ValueError, TypeError) as e:  # FwdrevError is a ValueError
            raise BaselineError(f"{where}: {e}") from None
        if pt.key() != p["key"]:
            raise BaselineError(f"{where}: key {p['key']!r} does not match its point {pt.key()!r}")
        if pt.key() in seen:
            raise BaselineError(f"{where}: duplicate point {pt.key()}")
        seen.add(pt.key())
        if not (p["ratio"] > 0 and math.isfinite(p["ratio"])):
            raise BaselineError(f"{where}: ratio must be positive, got {p['ratio']!r}")
        if not (0 < p["tol"] < 1):
            raise BaselineError(f"{where}: tol must be in (0, 1), got {p['tol']!r}")
        for mode in ("forward", "reverse"):
            c = p["counts"].get(mode)
            if not isinstance(c, dict):
                raise BaselineError(f"{where}: counts has no {mode!r}")
            _need(c, {f: int for f in COUNT_FIELDS}, f"{where} counts.{mode}")
    return doc


def check_machine(baseline_machine: dict, here: dict, keys=("cpu_model", "cpus", "arch")):
    """Raise MachineMismatch naming the first fingerprint field that differs."""
    for k in keys:
        if baseline_machine.get(k) != here.get(k):
            raise MachineMismatch(
                f"baseline was recorded on another kind of machine: {k} is "
                f"{baseline_machine.get(k)!r} there, {here.get(k)!r} here "
                f"(re-record it here with `make baseline`)")


def check_points(baseline_keys, gate_keys):
    """Raise UnknownPoint unless the baseline holds exactly the gate's points."""
    b, g = set(baseline_keys), set(gate_keys)
    if b - g:
        raise UnknownPoint(f"baseline has point(s) the gate does not know: {', '.join(sorted(b - g))} "
                           f"(re-record with `make baseline`)")
    if g - b:
        raise UnknownPoint(f"gate point(s) missing from the baseline: {', '.join(sorted(g - b))} "
                           f"(re-record with `make baseline`)")
