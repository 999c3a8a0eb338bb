"""compare's verdicts: is B's time at a point different from A's, and by how much?

    p = mann_whitney_p(a_rounds, b_rounds)      # two-sided, from both runs' raw rounds
    v = verdict(ratio, p, factor=1.1, alpha=0.01)  # "slower", "faster" or "no change"

As asv compare does: a pair changed when its time ratio B/A (of the medians) lies beyond
the factor (above `factor`, or below 1/`factor`) and the difference is significant (the
Mann-Whitney U test's p under alpha). Two guards keep a busy machine from reading as a
change: the ratio of the two runs' quickest rounds must lie beyond the factor too (a cost
added to every call moves the quickest round as well; a neighbour's burst during some
rounds does not), and a side with fewer than MIN_TESTED_ROUNDS rounds is not tested (p is nan:
no change), since a burst can cover every one of 3 rounds.
"""
from __future__ import annotations

import math

SLOWER, FASTER, SAME = "slower", "faster", "no change"
ORDER = (SLOWER, FASTER, SAME)
FACTOR = 1.1
ALPHA = 0.01
MIN_TESTED_ROUNDS = 5


def mann_whitney_p(a, b) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation with the tie and
    continuity corrections); nan when a side has no values or every value is equal."""
    import numpy as np
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = a.size, b.size
    if not n1 or not n2:
        return math.nan
    both = np.concatenate([a, b])
    n = both.size
    values, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # rank (0-based) of the first of each tied group
    ranks = (first + (counts + 1) / 2.0)[inverse]
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2.0
    ties = float((counts ** 3 - counts).sum())
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return math.nan
    z = max(abs(u - n1 * n2 / 2.0) - 0.5, 0.0) / math.sqrt(var)
    return math.erfc(z / math.sqrt(2.0))


def significant(p, alpha=ALPHA) -> bool:
    return p == p and p < alpha


def test_p(a, b) -> float:
    """The p-value of two sides' rounds, nan when either has fewer than MIN_TESTED_ROUNDS."""
    if a is None or b is None or min(len(a), len(b)) < MIN_TESTED_ROUNDS:
        return math.nan
    return mann_whitney_p(a, b)


def verdict(ratio, p, factor=FACTOR, alpha=ALPHA, quickest=None) -> str:
    """slower / faster / no change, asv style: the ratio (and the quickest rounds' ratio,
    when given) beyond the factor, and significant."""
    q = ratio if quickest is None else quickest
    if significant(p, alpha) and min(ratio, q) > factor:
        return SLOWER
    if significant(p, alpha) and max(ratio, q) < 1.0 / factor:
        return FASTER
    return SAME


def fails_above(ratio, p, limit, alpha=ALPHA, quickest=None) -> bool:
    """Whether a pair is more than `limit` times slower, by its median and its quickest
    round alike, and significantly so (--fail-above)."""
    q = ratio if quickest is None else quickest
    return min(ratio, q) > limit and significant(p, alpha)


def summary(verdicts) -> str:
    """"2 slower, 0 faster, 30 no change (of 32 pairs)"."""
    vs = list(verdicts)
    return ", ".join(f"{vs.count(v)} {v}" for v in ORDER) + f" (of {len(vs)} pairs)"
