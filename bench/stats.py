"""Statistics every bench command shares (the sweep's floors, the overhead table, the
gate's verdicts, compare): medians and their bootstrap intervals, pure functions of
numbers."""
from __future__ import annotations


def median(values) -> float:
    """The median of a non-empty sequence of numbers (the mean of the middle two when even)."""
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
