"""Reading a run back and the numbers the report shows: the lines through the grid, the
fitted time exponents on them, forward/reverse time ratios per point, and the timed rows
along the sweep's named lines (figures 6 and 7).

Slopes are fitted only where the work dominates the fixed cost of a call: on points whose
median time is at least FIT_FACTOR × their floor, the same call on the chain of width 1
timed beside them (bench.sweep.floor: per configuration and exec, a CUDA graph's replays being
a configuration of their own); rows from before that use the smallest median time of the
mode on the configuration.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench import axes
from bench.frame import NUMBERS, config_label, load  # noqa: F401  (the report reads runs so)
from bench.rows import CONFIG
from modes import predict

SIZE_AXES = axes.SIZE_AXES
FIT_FACTOR = 5.0
"""A point enters a slope fit when its time is at least this many times the floor."""


def engines_only(df) -> pd.DataFrame:
    """The forward and reverse rows of uniform linear chains (every layer axis at its
    default: no waist, activation nor bias, the squared loss): what figures 1-5 and the
    fits show."""
    plain = np.logical_and.reduce([df[a] == axes.DEFAULTS[a] for a in axes.LAYER_AXES])
    return df[df["mode"].isin(["forward", "reverse"]) & plain]


def floors(df) -> dict:
    """{(config, mode): smallest median time}: the fixed cost of a call, per configuration,
    for rows without a measured floor of their own (floor_s: runs from before it)."""
    ok = df[df.status == "ok"]
    return ok.groupby(["config", "mode"]).time_median_s.min().to_dict()


def above_floor(rows, floor: float = 0.0):
    """Which rows take at least FIT_FACTOR × their floor: each row's own measured floor_s
    (bench.sweep.floor; at most the fastest call sharing it, see load), else `floor` (the
    configuration's smallest time, from floors())."""
    own = rows["floor_s"].fillna(floor) if "floor_s" in rows else floor
    return rows.time_median_s >= FIT_FACTOR * own


# -- lines --------------------------------------------------------------------------------
@dataclass
class Line:
    """Points of one configuration and target along one axis, the others fixed."""

    config: str
    target: str
    axis: str            # L, m, d or K
    tied: bool           # d = m along the line
    fixed: dict
    rows: pd.DataFrame = field(repr=False)
    fits: dict = field(default_factory=dict, repr=False)  # mode → fit(), by fit_lines

    @property
    def label(self) -> str:
        """How the line is named in tables and titles: the axis and what is fixed."""
        parts = (["d = m"] if self.tied else []) + [f"{k} = {v}" for k, v in self.fixed.items()]
        return f"{self.axis} ({', '.join(parts)})"


def find_lines(df) -> list:
    """Every line of ≥3 sizes among the ok rows, found from the data (so a point on two of
    the sweep's sub-grids, or on a command-line grid, counts once on each line it lies on):
    one axis varying with the others fixed, and m varying with d = m."""
    ok = df[df.status == "ok"]
    out = []
    for (config, target), g in ok.groupby(["config", "target"]):
        for axis in SIZE_AXES:
            others = [a for a in SIZE_AXES if a != axis]
            for _, part in g.groupby(others):
                out += _line(config, target, axis, False, part)
        diagonal = g[g.m == g.d]
        for _, part in diagonal.groupby(["L", "K"]):
            out += _line(config, target, "m", True, part)
    return out


PANELS = (("m", True), ("m", False), ("d", False), ("L", False))
"""The headline lines: time against m at d = m, m at fixed d, d at fixed m, and L."""


def headline(lines, config, target="gradient") -> list:
    """For one configuration, the longest line of each PANELS kind (ties: larger sizes)."""
    out = []
    for axis, tied in PANELS:
        cands = [ln for ln in lines if (ln.config, ln.target, ln.axis, ln.tied)
                 == (config, target, axis, tied)]
        if cands:
            out.append(max(cands, key=lambda ln: (ln.rows[axis].nunique(), ln.rows[axis].max())))
    return out


def _line(config, target, axis, tied, rows) -> list:
    if rows[axis].nunique() < 3:
        return []
    skip = {axis, "d"} if tied else {axis}
    fixed = {a: int(rows[a].iloc[0]) for a in SIZE_AXES if a not in skip}
    return [Line(config, target, axis, tied, fixed, rows.sort_values(axis))]


# -- the sweep's named lines (each row's `lines` column) ----------------------------------
VARYING = ("m", "d", "L", "K")
"""The size axes in the order `varying` tries them."""


def timed(df) -> pd.DataFrame:
    """The rows that were timed: status ok and a positive median time."""
    return df[(df.status == "ok") & (df.time_median_s > 0)]


def named_lines(df, min_modes=1) -> list:
    """[(line name, its ok rows)] for each line of the run (a row may sit on several)
    where every point is timed in at least min_modes modes."""
    ok = timed(df)
    names = sorted({n for ls in ok["lines"] for n in str(ls).split(";") if n})
    out = []
    for n in names:
        g = ok[ok["lines"].astype(str).str.split(";").apply(lambda ls, n=n: n in ls)]
        if g.groupby("point_key")["mode"].nunique().min() >= min_modes:
            out.append((n, g))
    return out


def varying(g) -> str:
    """The size axis that varies along a line (the first that does)."""
    return next((a for a in VARYING if g[a].nunique() > 1), "m")


# -- fits ---------------------------------------------------------------------------------
def weight_bytes(rows) -> pd.Series:
    """Bytes of the weights W_0 … W_L of each row's chain (what a GEMV must stream)."""
    L, m, d, K = (rows[a].astype(float) for a in SIZE_AXES)
    elems = np.where(L >= 1, d * m + (L - 1) * m * m + m * K, d * K)
    size = rows["dtype"].map({"float64": 8, "float32": 4}).fillna(8)
    return pd.Series(elems * size, index=rows.index)


def fit(line: Line, mode: str, floor: float, boundary=None) -> dict:
    """Slope of log time against log size for one mode on a line, on points above the
    floor and not noisy (bench.noise); with the slope the exact operation counts
    predict over the same points.

    With the cache boundary (bytes: the calibration's measured one, bench.model.cache_boundary,
    or twice the last-level cache), also the slope over the points whose weights exceed it
    ("beyond cache"): a memory-bound GEMV runs at cache speed below that and at DRAM speed
    above, so a line across the boundary fits steeper than its counts.

    Pinned: a point at exactly FIT_FACTOR × its floor is fitted; "beyond cache" is strictly
    more than the boundary; a slope needs two distinct sizes (NaN otherwise). On exact power
    laws t = c·sᵃ, ops = c'·sᵇ over the kept points, slope = a and predicted = b.
    """
    r = line.rows[line.rows["mode"] == mode]
    clean = ~r["noisy"] if "noisy" in r else True
    keep = r[above_floor(r, floor) & clean]
    out = {"mode": mode, "n_fit": len(keep), "n": len(r), "keep": keep,
           "slope": slope(keep, line.axis, "time_median_s"),
           "predicted": slope(keep, line.axis, "ops_predicted"),
           "slope_big": np.nan, "n_big": 0}
    if boundary:
        big = keep[weight_bytes(keep) > boundary]
        out.update(slope_big=slope(big, line.axis, "time_median_s"), n_big=len(big))
    return out


def fit_lines(df, boundary=None) -> list:
    """Every line of df (find_lines) with its forward and reverse fits in `line.fits`: found
    and fitted once, for the slope table and figure 2 alike."""
    floor = floors(df)
    lines = find_lines(df)
    for ln in lines:
        ln.fits = {m: fit(ln, m, floor.get((ln.config, m), 0.0), boundary) for m in ("forward", "reverse")}
    return lines


def slope(rows, axis, column) -> float:
    """The least-squares slope of log rows[column] against log rows[axis]: the exponent a
    of column ∝ axisᵃ (NaN without two distinct values of the axis)."""
    if rows[axis].nunique() < 2:
        return np.nan
    x = np.log(rows[axis].astype(float))
    return float(np.polyfit(x, np.log(rows[column].astype(float)), 1)[0])


def textbook_ops(mode, L, m, d):
    """The textbook's large-L approximations (docs/maths.md §2): forward 2Lm²d, reverse
    2Lm² + 2md (the exact counts have L − 1 products of m × m: exact_ops)."""
    L, m, d = (np.asarray(v, dtype=float) for v in (L, m, d))
    return 2 * L * m * m * d if mode == "forward" else 2 * L * m * m + 2 * m * d


def curve(line: Line, mode: str, xs):
    """textbook_ops along the line, at sizes xs."""
    v = {**line.fixed, line.axis: xs}
    if line.tied:
        v["d"] = xs
    return textbook_ops(mode, v["L"], v["m"], v["d"])


def exact_ops(line: Line, mode: str, xs):
    """The exact closed form (modes.predict.ops_for) of the line's target along the line,
    at integer sizes xs."""
    out = []
    for x in xs:
        v = {**line.fixed, line.axis: int(x)}
        if line.tied:
            v["d"] = int(x)
        out.append(predict.ops_for(line.target, mode, v["L"], v["m"], v["d"], v["K"]).total)
    return np.asarray(out, dtype=float)


def scale_to(points_t, counts) -> float:
    """The factor c of c·counts that best matches the times (least squares in logs)."""
    t, f = np.asarray(points_t, dtype=float), np.asarray(counts, dtype=float)
    return float(np.exp(np.mean(np.log(t) - np.log(f))))


# -- ratios -------------------------------------------------------------------------------
def ratios(df) -> pd.DataFrame:
    """One row per point timed in both modes: time ratio forward/reverse and the
    predicted operation ratio."""
    ok = df[df.status == "ok"]
    keys = ["point_key", "config", *CONFIG, "target", *SIZE_AXES, *axes.LAYER_AXES]
    f = ok[ok["mode"] == "forward"].set_index("point_key")
    r = ok[ok["mode"] == "reverse"].set_index("point_key")
    both = f.index.intersection(r.index)
    out = f.loc[both, [k for k in keys if k != "point_key"]].copy()
    out["time_ratio"] = f.loc[both, "time_median_s"] / r.loc[both, "time_median_s"]
    out["ops_ratio"] = f.loc[both, "ops_predicted"] / r.loc[both, "ops_predicted"]
    out["model_ratio"] = f.loc[both, "time_model_s"] / r.loc[both, "time_model_s"]
    out["t_forward"] = f.loc[both, "time_median_s"]
    out["t_reverse"] = r.loc[both, "time_median_s"]
    out["noisy"] = f.loc[both, "noisy"] | r.loc[both, "noisy"] if "noisy" in f else False
    return out.reset_index()
