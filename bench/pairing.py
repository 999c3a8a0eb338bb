"""compare's pairs: which rows of two runs pair up, what each pair's verdict is, its label.

    both, key, only_a, only_b = pair(a, b, by)       # pandas frames of two runs' rows
    judge(both, rounds_a, rounds_b, factor, alpha, fail_above)   # adds p, verdict, fails
    ordered(both, key, "verdict"); name(row, key, both.attrs["free"]); records(both, key)

The pairing's columns come from one function, pairing_key.
"""
from __future__ import annotations

import math

from bench import axes, verdicts as vd
from bench.rows import CONFIG

SHAPE = axes.PAIRING
"""What a pair of rows shares always: the shape axes (bench.axes) and the mode."""


def pairing_key(a, b, by=()) -> list:
    """The columns rows pair up on: the shape and mode, and each configuration column not
    named by `by` and not one value in each run, a different one (a CPU run against a GPU
    run). A side with several values of a column keeps it, so a torch row is never paired
    with a numpy one because B has numpy only."""
    return list(SHAPE) + [c for c in CONFIG if c not in by and not _one_value_each(a[c], b[c])]


def _one_value_each(a, b) -> bool:
    va, vb = set(a), set(b)
    return len(va) == 1 and len(vb) == 1 and va != vb


VALUES = ["time_median_s", "time_iqr_s", "ops_total", "point_key", "row_mode"]


def pair(a, b, by=()):
    """(merged DataFrame of paired ok rows, key columns, A-only rows, B-only rows). Each
    pair carries both sides' values of every column it was not paired on (`<col>_a`,
    `<col>_b`), and both rows' identity (point_key, row_mode) for their rounds."""
    import pandas as pd
    a, b = (_tagged(df[df.status == "ok"]) for df in (a, b))
    key = pairing_key(a, b, by)
    free = [c for c in CONFIG if c not in key]
    cols = key + free + VALUES
    m = pd.merge(a[cols], b[cols], on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    only_a = m[m._merge == "left_only"][key + [f"{c}_a" for c in free]]
    only_b = m[m._merge == "right_only"][key + [f"{c}_b" for c in free]]
    both = m[m._merge == "both"].drop(columns="_merge").copy()
    both["ratio"] = both.time_median_s_b / both.time_median_s_a
    both.attrs["free"] = free
    return both, key, only_a, only_b


def _tagged(df):
    """df with row_mode: the mode the row was timed in (--by mode relabels `mode`)."""
    return df.assign(row_mode=df["row_mode"] if "row_mode" in df else df["mode"])


def judge(both, rounds_a, rounds_b, factor, alpha, fail_above=None):
    """Add p, quickest (B's quickest round over A's), verdict and fails (slower than
    fail_above, significantly) to every pair (bench.verdicts)."""
    sides = [(rounds_a.get((r.point_key_a, r.row_mode_a)), rounds_b.get((r.point_key_b, r.row_mode_b)))
             for r in both.itertuples()]
    both["p"] = [vd.test_p(ra, rb) for ra, rb in sides]
    both["quickest"] = [min(rb) / min(ra) if ra and rb else math.nan for ra, rb in sides]
    rows = list(zip(both.ratio, both.p, both.quickest))
    both["verdict"] = [vd.verdict(r, p, factor, alpha, q) for r, p, q in rows]
    both["fails"] = [fail_above is not None and vd.fails_above(r, p, fail_above, alpha, q)
                     for r, p, q in rows]
    return both


SORTS = ("verdict", "ratio", "name", "p")
"""verdict: slower, then faster, then no change, each by how far the ratio is from 1;
ratio: B/A largest first; name: by point; p: most significant first."""


def ordered(both, key, how="verdict"):
    rank = {v: i for i, v in enumerate(vd.ORDER)}
    if how == "verdict":
        far = both.ratio.map(lambda r: -abs(math.log(r)) if r > 0 else 0.0)
        return both.assign(_v=both.verdict.map(rank), _f=far).sort_values(
            ["_v", "_f"] + key).drop(columns=["_v", "_f"])
    if how == "ratio":
        return both.sort_values(["ratio"] + key, ascending=[False] + [True] * len(key))
    if how == "p":
        return both.assign(_p=both.p.fillna(2.0)).sort_values(["_p"] + key).drop(columns="_p")
    return both.sort_values(key)


def name(r, key, free) -> str:
    """A pair's label: the shape, the configuration it was paired on, and each column it was
    not paired on as A's value→B's value."""
    conf = [str(r[c]) for c in CONFIG if c in key]
    conf += [f"{c} {r[c + '_a']}→{r[c + '_b']}" if r[c + "_a"] != r[c + "_b"] else str(r[c + "_a"])
             for c in free]
    return axes.words(dict(r)) + (f" {'/'.join(conf)}" if conf else "")


def counted(r) -> bool:
    """Whether both rows of a pair carry counts (a peer's are empty)."""
    return r.ops_total_a == r.ops_total_a and r.ops_total_b == r.ops_total_b


def records(both, key) -> list:
    """One plain dict per pair, for --json and --csv."""
    free = both.attrs.get("free", [])
    out = []
    for _, r in ordered(both, key).iterrows():
        rec = {c: _plain(r[c]) for c in key}
        rec.update({f"{c}_{s}": _plain(r[f"{c}_{s}"]) for c in free for s in "ab"})
        rec.update(point=name(r, key, free), time_a_s=float(r.time_median_s_a),
                   time_b_s=float(r.time_median_s_b), iqr_a_s=_plain(r.time_iqr_s_a),
                   iqr_b_s=_plain(r.time_iqr_s_b), ratio=float(r.ratio),
                   quickest_ratio=_plain(r.quickest),
                   p=None if r.p != r.p else float(r.p), verdict=r.verdict,
                   fails=bool(r.fails), ops_a=_plain(r.ops_total_a), ops_b=_plain(r.ops_total_b))
        out.append(rec)
    return out


def _plain(v):
    """A value JSON can hold: numpy numbers as Python ones, NaN as None."""
    if hasattr(v, "item"):
        v = v.item()
    return None if isinstance(v, float) and v != v else v


