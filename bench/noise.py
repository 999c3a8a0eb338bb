"""Which timed rows are too noisy to fit or headline: an interquartile range above
IQR_FACTOR × the median, or fewer than MIN_CLEAN_ROUNDS rounds. Works on single values and on
pandas columns alike (no pandas import: the sweep's end line uses it on points.csv's text)."""
from __future__ import annotations

IQR_FACTOR = 0.5
MIN_CLEAN_ROUNDS = 3
RULE = f"IQR > {IQR_FACTOR:g} × median or fewer than {MIN_CLEAN_ROUNDS} rounds"
ADVICE = ("time them again with more rounds (--min-rounds, --max-time), fewer threads, "
          "or on a quieter machine")


def noisy(median, iqr, rounds):
    """True where a timing is unstable (see the module's docstring)."""
    return (iqr > IQR_FACTOR * median) | (rounds < MIN_CLEAN_ROUNDS)


def count_rows(rows) -> int:
    """How many ok rows of points.csv (dicts of strings) are noisy."""
    n = 0
    for r in rows:
        if r.get("status") != "ok":
            continue
        try:
            n += bool(noisy(float(r["time_median_s"]), float(r["time_iqr_s"]),
                            float(r["rounds"])))
        except (KeyError, TypeError, ValueError):
            continue
    return n


def warning(n: int, total: int) -> str:
    """The sweep's and the report's line about noisy rows ('' when there are none)."""
    if not n:
        return ""
    return (f"{n} of {total} timed rows are noisy ({RULE}): drawn with their own marker, "
            f"left out of the fits and the ratio ranges; {ADVICE}")
