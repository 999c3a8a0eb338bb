"""The report's figures 3–5, the forward/reverse time ratio (analysis.ratios): against the
predicted operation ratio, as a heatmap over (m, d), and the Jacobian's against d/K with
its crossover at d ≈ K. Drawn as bench.report.plots draws figures 1 and 2, in the same
colours and markers.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm

from bench.report import page as pg
from bench.report.plots import CONFIG_COLOURS, NOISY_MARKER, identity, slug


# -- 3 ------------------------------------------------------------------------------------
def ratio_vs_ops_ratio(rat, out, page):
    """3. Measured forward/reverse time ratio against the predicted operation ratio."""
    r = rat[np.isfinite(rat.ops_ratio) & (rat.ops_ratio > 0)]
    if r.empty:
        return []
    fig, axes = page.figure()
    ax = axes[0, 0]
    for n, ((config, target), g) in enumerate(r.groupby(["config", "target"])):
        colour = CONFIG_COLOURS[n % len(CONFIG_COLOURS)]
        marker = {"gradient": "o", "params": "s", "jacobian": "^"}.get(target, "o")
        clean = g[~g.noisy] if "noisy" in g else g
        if len(clean):
            page.dots(ax, clean.ops_ratio, clean.time_ratio, label=f"{target}, {config}",
                      mode="", colour=colour, marker=marker, size=6)
        m = g[g.model_ratio > 0]
        if len(m):
            page.dots(ax, m.ops_ratio, m.model_ratio, label=f"modelled, {target}, {config}",
                      mode="", kind="model", colour=colour, marker=marker, hollow=True, size=9)
        if "noisy" in g and g.noisy.any():
            page.dots(ax, g.ops_ratio[g.noisy], g.time_ratio[g.noisy], kind="noisy", mode="",
                      label=f"noisy, {target}, {config}", colour=colour, marker=NOISY_MARKER, size=9)
    lo = min(r.ops_ratio.min(), r.time_ratio.min()) / 2
    hi = max(r.ops_ratio.max(), r.time_ratio.max()) * 2
    identity(page, ax, lo, hi, "time ratio = op ratio")
    ax.axhline(1, color="grey", lw=0.8)
    page.log_log(ax, "predicted operation ratio forward/reverse", "measured time ratio forward/reverse",
                 legend={"loc": "upper left"})
    p = page.save(fig, out, "3_time_ratio_vs_ops_ratio",
                  "Forward/reverse: measured time ratio against predicted operation ratio")
    return [(p, "Time ratio against operation ratio (log-log, y = x dashed): the op ratio "
                "bounds the time ratio from above at scale, where GEMM runs faster per "
                "operation than GEMV (docs/maths.md §6). Hollow: the ratio the calibrated "
                "time model predicts for the same point, which closes that gap; crosses: "
                "noisy points (left out of the ratio ranges).")]


# -- 4 ------------------------------------------------------------------------------------
def ratio_heatmap(rat, out, page):
    """4. Heatmap of the forward/reverse time ratio over (m, d), gradient target, one per
    configuration, at its most common (L, K)."""
    made = []
    g = rat[rat.target == "gradient"]
    for config, c in g.groupby("config"):
        L, K = c.groupby(["L", "K"]).size().idxmax()
        c = c[(c.L == L) & (c.K == K)]
        grid = c.pivot_table(index="m", columns="d", values="time_ratio", aggfunc="median")
        if grid.notna().sum(axis=1).max() < 2 or grid.notna().sum().sum() < 4:
            continue  # a diagonal (d = m only) is a line, not a map: plot 2 shows it
        noisy = c.pivot_table(index="m", columns="d", values="noisy", aggfunc="max") \
            .reindex_like(grid).fillna(False) if "noisy" in c else grid * 0
        made.append(_heatmap(page, grid, noisy, out, config, L, K))
    return made


def _heatmap(page, grid, noisy, out, config, L, K):
    fig, axes = page.figure(aspect=max(1.0, 0.2 + 0.1 * grid.shape[1]))
    ax = axes[0, 0]
    vals = grid.to_numpy(dtype=float)
    ax.set_facecolor("0.9")  # cells not measured show as grey
    pos = vals[np.isfinite(vals)]
    im = ax.imshow(np.ma.masked_invalid(vals), origin="lower", cmap="viridis", aspect="auto",
                   norm=LogNorm(vmin=max(pos.min(), 1e-3), vmax=max(pos.max(), 1.01)))
    for (i, j), v in np.ndenumerate(vals):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.3g}" + ("*" if noisy.to_numpy()[i, j] else ""), ha="center",
                    va="center", fontsize=page.small,
                    color="white" if v < np.sqrt(pos.min() * pos.max()) else "black")
    ax.set_xticks(range(grid.shape[1]), [str(int(v)) for v in grid.columns], rotation=45)
    ax.set_yticks(range(grid.shape[0]), [str(int(v)) for v in grid.index])
    ax.set(xlabel="d (input width)", ylabel="m (hidden width)")
    bar = fig.colorbar(im, ax=ax, label="time ratio forward/reverse")
    bar.ax.yaxis.set_minor_formatter(pg.NullFormatter())
    bar.ax.yaxis.set_major_formatter(pg.FuncFormatter(lambda v, _: pg.plain(v)))
    cells = [(d, m) for (m, d), v in grid.stack().items() if v == v]
    page.record("time ratio forward/reverse", "", "measured", "viridis", "cell",
                [d for d, _ in cells], [m for _, m in cells])
    page.pending[-1]["z"] = [float(grid.loc[m, d]) for d, m in cells]
    p = page.save(fig, out, f"4_ratio_heatmap_{slug(config)}",
                  f"Forward/reverse time ratio over (m, d): gradient, L = {L}, K = {K}, {config}")
    return p, (f"Forward/reverse time ratio over (m, d) ({config}, L = {L}, K = {K}); grey "
               "cells were not measured; * marks a noisy cell.")


# -- 5 ------------------------------------------------------------------------------------
def jacobian_crossover(rat, out, page):
    """5. Jacobian target: time ratio against d/K, with the predicted operation ratio and
    the crossover at d ≈ K (forward cheaper below, reverse above)."""
    j = rat[(rat.target == "jacobian") & np.isfinite(rat.ops_ratio) & (rat.ops_ratio > 0)]
    if j.empty:
        return []
    j = j.assign(dK=j.d / j.K)
    fig, axes = page.figure(aspect=1.1)
    ax = axes[0, 0]
    for n, ((config, m, L, varies), g) in enumerate(_jacobian_groups(j)):
        g = g.sort_values("dK")
        colour = CONFIG_COLOURS[n % len(CONFIG_COLOURS)]
        page.draw(ax, g.dK, g.time_ratio, marker="o", colour=colour, mode="", kind="measured",
                  label=f"measured, {varies} varies (m = {m}, L = {L}, {config})")
        page.draw(ax, g.dK, g.ops_ratio, linestyle=":", colour=colour, mode="", kind="exact",
                  label=f"exact op ratio, {varies} varies")
    ax.axvline(1, color="k", lw=0.8, ls="--", label="d = K")
    ax.axhline(1, color="grey", lw=0.8)
    page.log_log(ax, "d / K (input width / output width)", "time ratio forward/reverse (>1: reverse faster)",
                 legend={"loc": "upper left"})
    p = page.save(fig, out, "5_jacobian_crossover",
                  "Full Jacobian: forward/reverse time ratio against d/K (crossover at d ≈ K)")
    return [(p, "Jacobian target: forward/reverse time ratio against d/K, dotted the "
                "exact operation ratio; forward mode wins left of d = K, reverse right.")]


def _jacobian_groups(j):
    """Points grouped into the lines they lie on: K varying at fixed d, or d at fixed K."""
    out = []
    for (config, m, L), g in j.groupby(["config", "m", "L"]):
        for varies, fixed in (("K", "d"), ("d", "K")):
            for _, h in g.groupby(fixed):
                if h[varies].nunique() >= 2:
                    out.append(((config, m, L, f"{varies} ({fixed} = {int(h[fixed].iloc[0])})"), h))
    return out


def all_figures(rat, out, page) -> dict:
    """{number: [(path, caption)]} for figures 3–5 (rat: analysis.ratios of the run)."""
    return {3: ratio_vs_ops_ratio(rat, out, page), 4: ratio_heatmap(rat, out, page),
            5: jacobian_crossover(rat, out, page)}
