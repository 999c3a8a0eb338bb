"""The report's five figures, drawn with matplotlib's Agg backend (no display needed).

Each function takes the run's data and writes PNG files into `out`, returning
[(path, caption)]; a figure with nothing to show is not written (the caption says why
in REPORT.md instead of an empty plot). Only rows with status "ok" are drawn: a point
whose modes disagree is listed in the report, never plotted.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator  # noqa: E402

from bench.report import analysis  # noqa: E402

DPI = 100
COLORS = {"forward": "tab:blue", "reverse": "tab:orange"}
TARGET_MARKERS = {"gradient": "o", "params": "s", "jacobian": "^"}


def save(fig, out, name, title, machine):
    """Title a figure with the machine, write it as out/name (PNG), close it."""
    fig.suptitle(f"{title}\n{machine}", fontsize=11)
    fig.tight_layout()
    path = out / name
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def identity(ax, lo, hi, label="identity (y = x)"):
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label=label)


def _plain_log_ticks(ax, xs=None):
    """No 2×10¹-style minor labels on x; with xs, ticks at the sizes measured, as integers.
    (y keeps matplotlib's labels: over less than a decade the minor ones are all there is.)"""
    ax.xaxis.set_minor_formatter(NullFormatter())
    if xs is not None:
        xs = sorted({int(v) for v in xs})
        ax.xaxis.set_major_locator(FixedLocator(xs))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([str(v) for v in xs], rotation=45 if len(xs) > 6 else 0)


def _slug(text):
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").replace("__", "_")


# -- 1 ------------------------------------------------------------------------------------
def ops_counted_vs_predicted(df, out, machine):
    """1. Counted against predicted operations, log-log, both modes, with y = x."""
    ok = df[(df.status == "ok") & (df.ops_total > 0) & (df.ops_predicted > 0)]
    if ok.empty:
        return []
    fig, ax = plt.subplots(figsize=(7, 6))
    for (mode, target), g in ok.groupby(["mode", "target"]):
        ax.scatter(g.ops_predicted, g.ops_total, s=28, alpha=0.75, color=COLORS[mode],
                   marker=TARGET_MARKERS.get(target, "o"), label=f"{mode}, {target}")
    lo, hi = ok.ops_predicted.min() / 2, ok.ops_predicted.max() * 2
    identity(ax, lo, hi)
    exact = int(ok.ops_exact.sum())
    ax.set(xscale="log", yscale="log", xlabel="predicted operations (closed form, docs/maths.md §2–§4)",
           ylabel="counted operations (engine)")
    ax.text(0.02, 0.97, f"{exact} of {len(ok)} counts equal their prediction exactly",
            transform=ax.transAxes, va="top", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="major", alpha=0.3)
    p = save(fig, out, "1_ops_counted_vs_predicted.png",
              "Counted vs predicted derivative-chain operations", machine)
    return [(p, "Counted against predicted operations (log-log, both modes, y = x dashed).")]


# -- 2 ------------------------------------------------------------------------------------
def time_vs_axes(lines, out, machine):
    """2. Time against m, d and L per configuration (gradient target), log-log, with the
    textbook's curves scaled to the data and the fitted slopes in the legend (lines:
    analysis.fit_lines)."""
    lines = [ln for ln in lines if ln.target == "gradient"]
    made = []
    for config in sorted({ln.config for ln in lines}):
        panels = analysis.headline(lines, config)
        if not panels:
            continue
        cols = 2 if len(panels) > 1 else 1
        rows = (len(panels) + 1) // 2
        fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 4.8 * rows + 0.6),
                                 squeeze=False)
        for ax, line in zip(axes.flat, panels):
            _time_panel(ax, line)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        name = f"2_time_vs_axes_{_slug(config)}.png"
        p = save(fig, out, name, f"Time per gradient call against each swept axis — {config}",
                  machine)
        made.append((p, f"Time against m, d and L ({config}); dashed: 2Lm²d (forward) and "
                        "2Lm² + 2md (reverse) scaled to the fitted points (filled); hollow "
                        f"points are within {analysis.FIT_FACTOR:g}× of the fixed per-call cost, "
                        "not fitted; 'beyond cache': the slope over the points whose weights "
                        "exceed twice the last-level cache; bars: interquartile range; "
                        "dotted: the calibrated time model in absolute seconds (bench/model.py), "
                        "where the run has it."))
    return made


def _time_panel(ax, line):
    for mode in ("forward", "reverse"):
        r = line.rows[line.rows["mode"] == mode]
        if r.empty:
            continue
        f = line.fits[mode]
        kept = r.index.isin(f["keep"].index)
        beyond = (f"; {_fmt(f['slope_big'])} beyond cache" if f["n_big"] >= 2
                  and f["n_big"] < f["n_fit"] else "")
        ax.errorbar(r[line.axis], r.time_median_s, yerr=r.time_iqr_s / 2, fmt="none",
                    ecolor=COLORS[mode], alpha=0.5)
        ax.scatter(r[line.axis][kept], r.time_median_s[kept], color=COLORS[mode], zorder=3,
                   label=f"{mode}: slope {_fmt(f['slope'])} on {f['n_fit']} pts{beyond} "
                         f"(counts give {_fmt(f['predicted'])})")
        ax.scatter(r[line.axis][~kept], r.time_median_s[~kept], facecolors="none",
                   edgecolors=COLORS[mode], zorder=3)
        _curve(ax, line, mode, f["keep"] if len(f["keep"]) else r)
        model = r[r.time_model_s > 0].sort_values(line.axis)
        if len(model) >= 2:  # the calibrated model, in absolute seconds: nothing fitted
            ax.plot(model[line.axis], model.time_model_s, ":", color=COLORS[mode], lw=1.5,
                    label=f"{mode}: time model (calibrated, not fitted)")
    ax.set(xscale="log", yscale="log", xlabel=line.axis, ylabel="median time per call (s)",
           title=f"time vs {line.label}")
    _plain_log_ticks(ax, line.rows[line.axis])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def _curve(ax, line, mode, pts):
    xs = np.geomspace(line.rows[line.axis].min(), line.rows[line.axis].max(), 50)
    c = analysis.scale_to(pts[line.axis], pts.time_median_s, line, mode)
    label = "∝ 2Lm²d" if mode == "forward" else "∝ 2Lm² + 2md"
    ax.plot(xs, c * analysis.curve(line, mode, xs), "--", color=COLORS[mode], lw=1, label=label)


def _fmt(v):
    return "n/a" if v != v else f"{v:.2f}"


# -- 3 ------------------------------------------------------------------------------------
def ratio_vs_ops_ratio(rat, out, machine):
    """3. Measured forward/reverse time ratio against the predicted operation ratio."""
    r = rat[np.isfinite(rat.ops_ratio) & (rat.ops_ratio > 0)]
    if r.empty:
        return []
    fig, ax = plt.subplots(figsize=(7, 6))
    for (config, target), g in r.groupby(["config", "target"]):
        dots = ax.scatter(g.ops_ratio, g.time_ratio, s=28, alpha=0.8,
                          marker=TARGET_MARKERS.get(target, "o"), label=f"{target}, {config}")
        m = g[g.model_ratio > 0]
        if len(m):
            ax.scatter(m.ops_ratio, m.model_ratio, s=40, facecolors="none",
                       edgecolors=dots.get_facecolor()[0], marker=TARGET_MARKERS.get(target, "o"),
                       label=f"  modelled, {target}, {config}")
    lo = min(r.ops_ratio.min(), r.time_ratio.min()) / 2
    hi = max(r.ops_ratio.max(), r.time_ratio.max()) * 2
    identity(ax, lo, hi, "time ratio = op ratio")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="predicted operation ratio forward/reverse",
           ylabel="measured time ratio forward/reverse")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="major", alpha=0.3)
    p = save(fig, out, "3_time_ratio_vs_ops_ratio.png",
              "Forward/reverse: measured time ratio vs predicted operation ratio", machine)
    return [(p, "Time ratio against operation ratio (log-log, y = x dashed): the op ratio "
                "bounds the time ratio from above at scale, where GEMM runs faster per "
                "operation than GEMV (docs/maths.md §6). Hollow: the ratio the calibrated "
                "time model predicts for the same point, which closes that gap.")]


# -- 4 ------------------------------------------------------------------------------------
def ratio_heatmap(rat, out, machine):
    """4. Heatmap of the forward/reverse time ratio over (m, d), gradient target, one per
    configuration, at its most common (L, K)."""
    made = []
    g = rat[rat.target == "gradient"]
    for config, c in g.groupby("config"):
        L, K = c.groupby(["L", "K"]).size().idxmax()
        grid = c[(c.L == L) & (c.K == K)].pivot_table(index="m", columns="d",
                                                      values="time_ratio", aggfunc="median")
        if grid.notna().sum(axis=1).max() < 2 or grid.notna().sum().sum() < 4:
            continue  # a diagonal (d = m only) is a line, not a map: plot 2 shows it
        made.append(_heatmap(grid, out, machine, config, L, K))
    return made


def _heatmap(grid, out, machine, config, L, K):
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 + 0.7 * grid.shape[1]),
                                    max(4.5, 1.8 + 0.5 * grid.shape[0])))
    vals = grid.to_numpy(dtype=float)
    ax.set_facecolor("0.9")  # cells not measured show as grey
    pos = vals[np.isfinite(vals)]
    im = ax.imshow(np.ma.masked_invalid(vals), origin="lower", cmap="viridis", aspect="auto",
                   norm=LogNorm(vmin=max(pos.min(), 1e-3), vmax=max(pos.max(), 1.01)))
    for (i, j), v in np.ndenumerate(vals):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7,
                    color="white" if v < np.sqrt(pos.min() * pos.max()) else "black")
    ax.set_xticks(range(grid.shape[1]), [str(int(v)) for v in grid.columns], rotation=45)
    ax.set_yticks(range(grid.shape[0]), [str(int(v)) for v in grid.index])
    ax.set(xlabel="d (input width)", ylabel="m (hidden width)")
    fig.colorbar(im, ax=ax, label="time ratio forward/reverse")
    name = f"4_ratio_heatmap_{_slug(config)}.png"
    p = save(fig, out, name, f"Forward/reverse time ratio over (m, d)\ngradient, L = {L}, "
                               f"K = {K}, {config}", machine)
    return p, (f"Forward/reverse time ratio over (m, d) ({config}, L = {L}, K = {K}); grey "
               "cells were not measured.")


# -- 5 ------------------------------------------------------------------------------------
def jacobian_crossover(rat, out, machine):
    """5. Jacobian target: time ratio against d/K, with the predicted operation ratio and
    the crossover at d ≈ K (forward cheaper below, reverse above)."""
    j = rat[(rat.target == "jacobian") & np.isfinite(rat.ops_ratio) & (rat.ops_ratio > 0)]
    if j.empty:
        return []
    j = j.assign(dK=j.d / j.K)
    fig, ax = plt.subplots(figsize=(7.5, 6))
    for n, ((config, m, L, varies), g) in enumerate(_jacobian_groups(j)):
        g = g.sort_values("dK")
        color = f"C{n % 10}"
        ax.plot(g.dK, g.time_ratio, "o-", color=color,
                label=f"measured, {varies} varies (m={m}, L={L}, {config})")
        ax.plot(g.dK, g.ops_ratio, ":", color=color, label="predicted op ratio")
    ax.axvline(1, color="k", lw=0.8, ls="--", label="d = K")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="d / K (input width / output width)",
           ylabel="time ratio forward/reverse (>1: reverse faster)")
    _plain_log_ticks(ax)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="major", alpha=0.3)
    p = save(fig, out, "5_jacobian_crossover.png",
              "Full Jacobian: forward/reverse time ratio vs d/K (crossover at d ≈ K)", machine)
    return [(p, "Jacobian target: forward/reverse time ratio against d/K, dotted the "
                "predicted operation ratio; forward mode wins left of d = K, reverse right.")]


def _jacobian_groups(j):
    """Points grouped into the lines they lie on: K varying at fixed d, or d at fixed K."""
    out = []
    for (config, m, L), g in j.groupby(["config", "m", "L"]):
        for varies, fixed in (("K", "d"), ("d", "K")):
            for _, h in g.groupby(fixed):
                if h[varies].nunique() >= 2:
                    out.append(((config, m, L, f"{varies} ({fixed}={int(h[fixed].iloc[0])})"), h))
    return out


def all_figures(df, rat, out, machine, lines) -> dict:
    """{number: [(path, caption)]} for the five figures (lines: analysis.fit_lines of df)."""
    return {1: ops_counted_vs_predicted(df, out, machine),
            2: time_vs_axes(lines, out, machine),
            3: ratio_vs_ops_ratio(rat, out, machine), 4: ratio_heatmap(rat, out, machine),
            5: jacobian_crossover(rat, out, machine)}
