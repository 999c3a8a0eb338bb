"""The gate's decisions, kept free of timing so they can be tested on synthetic samples.

Everything here is pure: per-block ratios in, a verdict out; counts in, mismatches out.

    summary = summarize(ratios, seed=0)            # median and bootstrap interval
    band = band_for(baseline_ratio, tol)           # (ratio/(1+tol), ratio·(1+tol))
    verdict(summary.lo, summary.hi, band)          # "ok", "slower", "faster", "undecided"

A ratio is t_engine / t_reference for one mode at one point: what the engine adds to the
same products written directly on the backend. "slower" means the engine's share grew (its
whole interval lies above the band): a regression. "faster" means it shrank below the band:
not a failure (the engine got leaner; re-record the baseline to keep the band tight). An
interval that crosses a band edge is "undecided" and the CLI re-measures it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from bench.stats import bootstrap_median_ci, median  # noqa: F401  (shared: bench.stats)

OK, SLOWER, FASTER, UNDECIDED = "ok", "slower", "faster", "undecided"

# The tolerance is derived from the run-to-run spread measured when baselining, within
# limits. FLOOR: t_engine / t_reference moved by up to ~6% between BLAS kernels and CPU
# load on one machine (docs/gate.md), so the band is never narrower than ×÷1.10.
# CAP: a 1.25x slow-down of either engine moves its ratio by 1.25x; with the cap the band's
# upper edge stays at 1.15x, clear of that canary by more than the interval's half-width.
TOL_FLOOR = 0.10
TOL_CAP = 0.15
SPREAD_K = 3.0  # band half-width in units of the observed run-to-run spread
# Small checks (bench.gate.measure.SMALL_CHECKS): there the ratio to the hand-written
# products follows the interpreter's speed against the BLAS's small-matrix speed, which
# moves with the CPU and kernel, and a shared machine's noise is a larger share of a
# 20 µs call. FLOOR and CAP keep the band at ×÷1.30–1.45: a +20 µs call moves the
# ratio by 1.7x or more at the smallest size of every mode, far outside it.
SMALL_TOL_FLOOR = 0.30
SMALL_TOL_CAP = 0.45


# -- statistics -------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """The median of per-block ratios with a bootstrap confidence interval [lo, hi]."""

    median: float
    lo: float
    hi: float
    n: int

    @property
    def rel_halfwidth(self) -> float:
        """Half the interval's width relative to the median (a noise figure)."""
        return (self.hi - self.lo) / (2 * self.median) if self.median else math.inf


def summarize(ratios, n_boot=2000, conf=0.95, seed=0) -> Summary:
    """Median of the per-block ratios and its bootstrap interval."""
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


def tolerance_for(spread, floor=TOL_FLOOR, cap=TOL_CAP, k=SPREAD_K, small=False) -> float:
    """The band's relative half-width: k × spread, never under `floor`, never over `cap`
    (a small check's: SMALL_TOL_FLOOR and SMALL_TOL_CAP)."""
    if small:
        floor, cap = SMALL_TOL_FLOOR, SMALL_TOL_CAP
    return min(cap, max(floor, k * float(spread)))


def band_for(ratio, tol):
    """The tolerance band around a baseline ratio, symmetric in log scale."""
    return ratio / (1 + tol), ratio * (1 + tol)


def verdict(lo, hi, band) -> str:
    """Compare an interval [lo, hi] with a band: ok inside (its edges included), slower or
    faster when wholly and strictly above or below it, undecided otherwise (crossing an edge,
    or starting or ending on one from outside)."""
    b_lo, b_hi = band
    if lo > b_hi:
        return SLOWER
    if hi < b_lo:
        return FASTER
    if lo >= b_lo and hi <= b_hi:
        return OK
    return UNDECIDED


def decide(ratios, baseline_ratio, tol, n_boot=2000, seed=0):
    """(Summary, band, verdict) for one mode's per-block ratios against its baseline."""
    s = summarize(ratios, n_boot=n_boot, seed=seed)
    band = band_for(baseline_ratio, tol)
    return s, band, verdict(s.lo, s.hi, band)


def fails(v: str) -> bool:
    """Whether a final verdict (after the CLI's one re-measurement of a ratio that was not
    ok) fails the gate: only "slower". "undecided" is a warning (noise alone must not fail
    CI) and "faster" is good news."""
    return v == SLOWER


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
