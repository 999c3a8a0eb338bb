"""The report's batch figures 11 and 12 and their section: along each line that varies B
alone (x d × B, one column per sample), the forward/reverse time ratio beside the exact
operation ratio, and each mode's time per sample.

With one x, reverse mode multiplies row vectors (GEMV, bound by memory bandwidth) and
forward mode matrices (GEMM, at the compute roof), so the time ratio sits far below the
operation ratio; with B samples reverse mode's rows stack into B × m matrices and its
products become GEMMs too (docs/maths.md §7). The section says from which B the time ratio
is within 2x of the operation ratio, and from which B reverse mode's time per sample stops
falling.
"""
from __future__ import annotations

import numpy as np

from bench import axes
from bench.report import analysis
from bench.report.plots import CONFIG_COLOURS
from bench.style import style_for

WITHIN = 2.0
"""The time ratio is "at" the operation ratio when within this factor of it."""
STOPS = 0.9
"""Reverse mode's time per sample has stopped falling where no larger B saves 10% or more."""
TAIL = 3
"""The large-B slope is fitted over a line's last TAIL batch sizes."""
FIXED = ("config", "target", *(a for a in axes.SHAPE_AXES if a not in ("B", "target")))
"""What is fixed along a batch line: everything but B."""


def batch_lines(df) -> list:
    """[(label, ok rows)] of each line along which only B varies (at least two B)."""
    ok = analysis.timed(df)
    out, one_config = [], ok.config.nunique() == 1
    for key, g in ok.groupby(list(FIXED)):
        if g.B.nunique() >= 2:
            f = dict(zip(FIXED, key))
            words = axes.words({**f, "B": 1})
            out.append((words if one_config else f"{words}, {f['config']}", g.sort_values("B")))
    return out


def ratio_rows(g):
    """The line's forward/reverse ratios by B (analysis.ratios), sorted, noisy ones out."""
    r = analysis.ratios(g)
    r = r[np.isfinite(r.ops_ratio) & (r.ops_ratio > 0)]
    return r[~r.noisy].sort_values("B") if "noisy" in r else r.sort_values("B")


def meets_from(r):
    """The smallest B from which the time ratio stays within WITHIN of the op ratio (every
    larger B too), or None."""
    close = list(((r.time_ratio <= WITHIN * r.ops_ratio) & (r.time_ratio >= r.ops_ratio / WITHIN)))
    Bs = list(r.B)
    for i in range(len(Bs)):
        if all(close[i:]):
            return int(Bs[i])
    return None


def stops_falling(g, mode="reverse"):
    """The first B from which `mode`'s time per sample never falls by 10% or more again:
    no larger B of the line is below STOPS × its time per sample (the last B when it falls
    all along), or None without two B. A step that happens to save less (noise in a µs
    call) before a larger B saves more is not a plateau."""
    h = g[g["mode"] == mode].sort_values("B")
    per = list(h.time_median_s / h.B)
    Bs = list(h.B)
    if len(per) < 2:
        return None
    for i in range(len(per) - 1):
        if min(per[i + 1:]) > STOPS * per[i]:
            return int(Bs[i])
    return int(Bs[-1])


def slopes_in_B(g) -> list:
    """Per mode timed at two B or more of a batch line, the exponent a of time ∝ Bᵃ over
    every B and over the last TAIL (a = 1: no saving per sample; below 1: the batch shares
    work), and for the counting modes the exponent of the exact operation count (the
    derivative's chain, as ops_predicted) over the same B; noisy points left out."""
    out = []
    for mode, h in sorted(g.groupby("mode"), key=lambda t: t[0]):
        h = (h[~h.noisy] if "noisy" in h else h).sort_values("B")
        if h.B.nunique() < 2:  # a mode timed at one B of the line (another line's point)
            continue
        tail = h[h.B >= sorted(set(h.B))[-TAIL]] if h.B.nunique() >= TAIL else h
        counted = h.ops_predicted.notna().all() and (h.ops_predicted > 0).all()
        out.append({"mode": mode, "slope": analysis.slope(h, "B", "time_median_s"),
                    "tail_from": int(tail.B.min()) if len(tail) else None,
                    "slope_tail": analysis.slope(tail, "B", "time_median_s"),
                    "ops_slope": analysis.slope(h, "B", "ops_predicted") if counted else np.nan})
    return out


# -- 11 -----------------------------------------------------------------------------------
def ratio_vs_batch(df, out, page):
    """11. The forward/reverse time ratio against B on each batch line, with its exact
    operation ratio beside it."""
    lines = [(n, ratio_rows(g)) for n, g in batch_lines(df)]
    lines = [(n, r) for n, r in lines if len(r) >= 2]
    if not lines:
        return []
    fig, axs = page.figure(aspect=1.6, tall=1.1 + 0.06 * len(lines))
    ax = axs[0, 0]
    for n, (name, r) in enumerate(lines):
        colour = CONFIG_COLOURS[n % len(CONFIG_COLOURS)]
        page.draw(ax, r.B, r.time_ratio, marker="o", colour=colour, mode="", kind="measured",
                  label=f"time ratio, {name}")
        page.draw(ax, r.B, r.ops_ratio, linestyle=":", colour=colour, mode="", kind="exact",
                  lw=2.2, label=f"op ratio, {name}")
    ax.axhline(1, color="grey", lw=0.8)
    page.log_log(ax, "B (samples per call)", "forward/reverse (>1: reverse faster)",
                 xticks=sorted({b for _, r in lines for b in r.B}), legend={"below": True})
    configs = df[df.status == "ok"].config.unique()
    p = page.save(fig, out, "11_ratio_vs_batch",
                  "Batches: forward/reverse time ratio against B, the operation ratio beside it"
                  + (f" ({configs[0]})" if len(configs) == 1 else ""))
    return [(p, "Forward/reverse time ratio against the batch size B at fixed shapes (dots), "
                "dotted the exact operation ratio at the same points: with one x reverse mode "
                "runs GEMVs, with B samples its rows stack into GEMMs and the time ratio "
                "moves toward the operation ratio (docs/maths.md §7).")]


# -- 12 -----------------------------------------------------------------------------------
def time_per_sample(df, out, page):
    """12. Each mode's median time per sample (time / B) against B, one panel per line."""
    lines = batch_lines(df)
    if not lines:
        return []
    fig, axs = page.figure(1, len(lines), aspect=1.0, tall=1.15)
    for ax, (name, g) in zip(axs[0], lines):
        slopes = {s["mode"]: s["slope"] for s in slopes_in_B(g)}
        for mode, h in sorted(g.groupby("mode"), key=lambda t: t[0]):
            st = style_for(mode)
            a = slopes.get(mode, np.nan)
            page.draw(ax, h.B, h.time_median_s / h.B, marker=st.marker, colour=st.colour,
                      linestyle=st.linestyle, mode=mode, kind="measured",
                      label=mode + ("" if np.isnan(a) else f" (time ∝ B^{a:.2f})"))
        page.log_log(ax, "B (samples per call)", "median time per sample (s)", title=name,
                     xticks=sorted(set(g.B)), legend={})
    p = page.save(fig, out, "12_time_per_sample", "Batches: time per sample against B, per mode")
    return [(p, "Median time of one call divided by B, per mode, along each batch line, with "
                "the fitted slope in B of the time per call in the legend (time ∝ Bᵃ over the "
                "line's non-noisy points): it falls while a call's fixed cost and GEMV's "
                "bandwidth bound are shared by more samples, and levels off once the products "
                "run at the GEMM rate.")]


def all_figures(df, out, page) -> dict:
    return {11: ratio_vs_batch(df, out, page), 12: time_per_sample(df, out, page)}


CAPTIONS = {11: "Forward/reverse ratio against the batch", 12: "Time per sample against the batch"}


def batch_section(df) -> list:
    """REPORT.md's batch table: per batch line, the time and op ratio at each B, from which
    B the time ratio is within 2x of the op ratio, and where reverse's time per sample
    stops falling."""
    out = []
    for name, g in batch_lines(df):
        r = ratio_rows(g)
        if r.empty:
            continue
        at = meets_from(r)
        stop = stops_falling(g)
        out += [f"**{name}**: the time ratio is within {WITHIN:g}x of the op ratio "
                + (f"from B = {at} on." if at is not None else "at no B measured.")
                + ("" if stop is None else f" Reverse mode's time per sample stops falling "
                                           f"(no larger B saves 10% or more) at B = {stop}."), "",
                "| B | time ratio | op ratio | time / op ratio |", "|---:|---:|---:|---:|"]
        out += [f"| {int(b)} | {t:.3g} | {o:.3g} | {t / o:.2f} |"
                for b, t, o in zip(r.B, r.time_ratio, r.ops_ratio)] + [""]
        out += _slope_table(g)
    return ["## Batches: the time ratio against the operation ratio", "",
            "Along each line that varies B alone (x d × B, one column per sample; noisy "
            "points left out).", "", *out] if out else []


def _slope_table(g) -> list:
    """The line's slopes in B per mode, as REPORT.md rows."""
    rows = slopes_in_B(g)
    if not rows:
        return []
    fmt = lambda v: "" if np.isnan(v) else f"{v:.2f}"  # noqa: E731
    return ["Time per call ∝ Bᵃ (a = 1: nothing shared by the samples; below 1: the batch "
            "shares the call's fixed cost or runs its products faster), and the exponent of "
            "the exact operation count:", "",
            f"| mode | a, every B | a, from B = … (the last {TAIL}) | exact operations' a |",
            "|---|---:|---:|---:|",
            *(f"| {r['mode']} | {fmt(r['slope'])} | {fmt(r['slope_tail'])} (B ≥ {r['tail_from']}) | "
              f"{fmt(r['ops_slope'])} |" for r in rows), ""]
