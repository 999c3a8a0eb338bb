"""The report's figures 1 and 2 (counted against predicted operations; time against m, d
and L), and what the other figure modules (ratioplots, modeplots, costplots, batchplots)
draw with: each target's look, the configurations' colours, the noisy marker, y = x, the
dodge of coincident series. Drawn with matplotlib's Agg backend (no display needed).

Each function takes the run's data and writes PNG files into `out`, returning
[(path, caption)]; a figure with nothing to show is not written (the caption says why
in REPORT.md instead of an empty plot). Only rows with status "ok" are drawn: a point
whose modes disagree is listed in the report, never plotted.
"""
from __future__ import annotations

import numpy as np

from bench.report import analysis
from bench.style import style_for

TARGET_LOOK = {"gradient": (False, 6.0), "params": (True, 8.5), "jacobian": (True, 11.0)}
"""A target's fill (hollow?) and marker size where one figure shows several: the mode keeps
its colour and marker shape."""
CONFIG_COLOURS = ("#222222", "#00838f", "#9e7a00", "#6a1b9a", "#c2185b", "#558b2f", "#5d4037")
"""Colours of configurations where a figure tells them apart (no mode's colour)."""
NOISY_MARKER = "x"
DODGE = 0.035
"""How far apart (a fraction of x, on a log axis) coincident series are drawn."""


def identity(page, ax, lo, hi, label="identity (y = x)"):
    page.draw(ax, [lo, hi], [lo, hi], label=label, mode="", kind="reference", colour="k",
              linestyle="--", lw=1)


def dodge(n, k):
    """The factor that moves the n-th of k coincident series along a log axis."""
    return (1 + DODGE) ** (n - (k - 1) / 2)


def slug(text):
    """text as part of a file name: letters and digits kept, the rest underscores."""
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").replace("__", "_")


def by_mode_and_target(page, ax, ok, x, y):
    """One series per (mode, target): the mode's colour and marker, the target's fill and
    size; noisy rows (not fitted) with their own marker."""
    for (mode, target), g in ok.groupby(["mode", "target"]):
        st = style_for(mode)
        hollow, size = TARGET_LOOK.get(target, (True, 7.0))
        clean = g[~g.noisy] if "noisy" in g else g
        if len(clean):
            page.dots(ax, clean[x], clean[y], label=f"{mode}, {target}", mode=mode,
                      colour=st.colour, marker=st.marker, hollow=hollow or st.hollow, size=size)
        noisy_dots(page, ax, g, x, y, mode, f"{mode}, {target}")


def noisy_dots(page, ax, g, x, y, mode, what, shift=1.0):
    """The noisy rows of g with the noisy marker, labelled as such."""
    if "noisy" not in g or not g.noisy.any():
        return
    n = g[g.noisy]
    page.dots(ax, n[x], n[y], shift=shift,
              label=f"{what}: noisy, not fitted", mode=mode, kind="noisy",
              colour=style_for(mode).colour if mode else "k", marker=NOISY_MARKER, size=9)


# -- 1 ------------------------------------------------------------------------------------
def ops_counted_vs_predicted(df, out, page):
    """1. Counted against predicted operations, log-log, both modes, with y = x."""
    ok = df[(df.status == "ok") & (df.ops_total > 0) & (df.ops_predicted > 0)]
    if ok.empty:
        return []
    fig, axes = page.figure()
    ax = axes[0, 0]
    by_mode_and_target(page, ax, ok.assign(noisy=False), "ops_predicted", "ops_total")
    identity(page, ax, ok.ops_predicted.min() / 2, ok.ops_predicted.max() * 2)
    ax.text(0.02, 0.97, f"{int(ok.ops_exact.sum())} of {len(ok)} counts equal their prediction "
            "exactly", transform=ax.transAxes, va="top")
    page.log_log(ax, "predicted operations (closed form, docs/maths.md §2–§4)",
                 "counted operations (engine)", legend={"loc": "lower right"})
    p = page.save(fig, out, "1_ops_counted_vs_predicted",
                  "Operations counted by the engines against the closed form")
    return [(p, "Counted against predicted operations (log-log, both modes, y = x dashed); "
                "filled: gradient, hollow and larger: parameters and Jacobian.")]


# -- 2 ------------------------------------------------------------------------------------
def time_vs_axes(lines, out, page, boundary=None):
    """2. Time against m, d and L per configuration (gradient target), log-log, with the
    exact operation counts scaled to the data, the textbook's large-L approximations, the
    fitted slopes in the legend and the measured cache boundary (lines: analysis.fit_lines)."""
    lines = [ln for ln in lines if ln.target == "gradient"]
    made = []
    for config in sorted({ln.config for ln in lines}):
        panels = analysis.headline(lines, config)
        if not panels:
            continue
        caption = (f"Time against m, d and L ({config}). Filled: the points fitted; "
                   f"hollow: within {analysis.FIT_FACTOR:g}× of the fixed per-call cost, "
                   "not fitted; crosses: noisy, not fitted. Dashed: the exact operation "
                   "count (modes.predict, with its L − 1 products of m × m) times one "
                   "constant per line and mode, fitted to the filled points; dotted, "
                   "thin: the large-L approximations 2Lm²d (forward) and 2Lm² + 2md "
                   "(reverse) times the same constant; dash-dot: the calibrated time "
                   "model in absolute seconds (bench/model.py), where the run has it; "
                   "grey vertical: the measured cache boundary (weights beyond it "
                   "stream from memory); bars: interquartile range. Forward and reverse "
                   "are drawn a little apart along x where they coincide.")
        title = f"Time of one gradient call against m, d and L — {config}"
        if page.look == "slide":  # one panel per slide, its legend beside it
            for line in panels:
                fig, axes = page.figure()
                _time_panel(page, axes[0, 0], line, boundary, beside=True)
                made.append((page.save(fig, out, f"2_time_vs_{slug(line.label)}_{slug(config)}",
                                       f"Time of one gradient call against {line.label} — {config}"),
                             caption))
            continue
        cols = 2 if len(panels) > 1 else 1
        fig, axes = page.figure((len(panels) + 1) // 2, cols, aspect=1.4, tall=1.45)
        for ax, line in zip(axes.flat, panels):
            _time_panel(page, ax, line, boundary)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        made.append((page.save(fig, out, f"2_time_vs_axes_{slug(config)}", title), caption))
    return made


def _fit_label(mode, f):
    if f["n_fit"] < 2 or f["slope"] != f["slope"]:
        return f"{mode}: measured ({f['n_fit']} point{'s' if f['n_fit'] != 1 else ''} above the floor)"
    beyond = (f"; {f['slope_big']:.2f} beyond cache" if f["n_big"] >= 2
              and f["n_big"] < f["n_fit"] else "")
    return f"{mode}: slope {f['slope']:.2f} on {f['n_fit']} points{beyond} (counts {f['predicted']:.2f})"


def _time_panel(page, ax, line, boundary, beside=False):
    modes = [m for m in ("forward", "reverse") if (line.rows["mode"] == m).any()]
    for n, mode in enumerate(modes):
        r = line.rows[line.rows["mode"] == mode]
        st, f = style_for(mode), line.fits[mode]
        x = r[line.axis].to_numpy(dtype=float)
        shift = dodge(n, len(modes))
        kept = r.index.isin(f["keep"].index)
        noisy = r.noisy.to_numpy() if "noisy" in r else np.zeros(len(r), bool)
        near = ~kept & ~noisy
        ax.errorbar(x * shift, r.time_median_s, yerr=r.time_iqr_s / 2, fmt="none", ecolor=st.colour,
                    alpha=0.5)
        if kept.any():
            page.dots(ax, x[kept], r.time_median_s[kept], label=_fit_label(mode, f), mode=mode,
                      shift=shift,
                      colour=st.colour, marker=st.marker, size=7 if n == 0 else 5.5)
        if near.any():
            page.dots(ax, x[near], r.time_median_s[near], mode=mode, colour=st.colour, shift=shift,
                      marker=st.marker, hollow=True, size=7 if n == 0 else 5.5,
                      label=f"{mode}: near the floor, not fitted")
        noisy_dots(page, ax, r, line.axis, "time_median_s", mode, mode, shift)
        _counts(page, ax, line, mode, f["keep"] if len(f["keep"]) else r[~noisy] if (~noisy).any() else r)
        model = r[r.time_model_s > 0].sort_values(line.axis)
        if len(model) >= 2:  # the calibrated model, in absolute seconds: nothing fitted
            page.draw(ax, model[line.axis], model.time_model_s, linestyle="-.", colour=st.colour,
                      label=f"{mode}: time model (calibrated)", mode=mode, kind="model")
    _boundary_line(ax, line, boundary)
    page.log_log(ax, line.axis, "median time per call (s)", title=f"time against {line.label}",
                 xticks=line.rows[line.axis],
                 legend={"loc": "upper left", "bbox_to_anchor": (1.02, 1), "fontsize": page.small * 0.95}
                 if beside else {"below": True})


APPROX = {"forward": "2Lm²d", "reverse": "2Lm² + 2md"}


def _counts(page, ax, line, mode, pts):
    """The exact count along the line's points, scaled to the fitted points; and the
    textbook's large-L approximation times the same constant."""
    xs = np.sort(line.rows[line.axis].unique()).astype(float)
    c = analysis.scale_to(pts.time_median_s, analysis.exact_ops(line, mode, pts[line.axis]))
    st = style_for(mode)
    page.draw(ax, xs, c * analysis.exact_ops(line, mode, xs), linestyle="--", colour=st.colour,
              lw=1.4, label=f"{mode}: exact op count × {_sci(c)} s", mode=mode, kind="exact")
    where = {"axis": line.axis, "fixed": line.fixed, "tied": line.tied, "scale_s": c}
    page.pending[-1]["line"] = where
    if mode in APPROX:
        page.draw(ax, xs, c * analysis.curve(line, mode, xs), linestyle=":", colour=st.colour,
                  lw=1.0, alpha=0.7, label=f"{mode}: {APPROX[mode]} × same (large-L approx.)",
                  mode=mode, kind="approximation")
        page.pending[-1]["line"] = where


def _sci(c):
    return f"{c:.2g}"


def _boundary_line(ax, line, boundary):
    """A grey vertical line between the last point whose weights fit the measured cache
    boundary and the first beyond it (none when the line does not cross it)."""
    if not boundary:
        return
    r = line.rows.drop_duplicates(line.axis).sort_values(line.axis)
    w = analysis.weight_bytes(r).to_numpy()
    x = r[line.axis].to_numpy(dtype=float)
    cross = np.nonzero((w[:-1] <= boundary) & (w[1:] > boundary))[0]
    if len(cross):
        i = cross[0]
        ax.axvline(np.sqrt(x[i] * x[i + 1]), color="0.5", lw=1.2, ls="-", zorder=1,
                   label=f"weights > {boundary / 2 ** 20:g} MiB: beyond cache (measured)")


def all_figures(df, out, page, lines, boundary=None) -> dict:
    """{number: [(path, caption)]} for figures 1 and 2 (lines: analysis.fit_lines of df);
    figures 3–5 are bench.report.ratioplots'."""
    return {1: ops_counted_vs_predicted(df, out, page),
            2: time_vs_axes(lines, out, page, boundary)}
