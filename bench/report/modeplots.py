"""The report's figure 6 and its tables: every mode along a line (peers and the cheapest
bracketing beside forward and reverse), which mode is fastest at each point, and how far
each is from the hand-written floor. Figures 7–10 (memory, the time model) are
bench.report.costplots'.

Each figure function takes the run's rows (bench.frame.load) and writes PNGs into
`out`, returning [(path, caption)]; nothing to draw, nothing written.
"""
from __future__ import annotations

from bench import axes
from bench.report import analysis
from bench.report.plots import dodge, noisy_dots
from bench.style import style_for
from modes.registry import engines

FLOOR = "hand"
"""The hand-written floor (modes.hand): drawn and tabled beside the modes, never a winner."""


def mode_order(mode):
    """The order modes are shown in: the engines as registered, then the peers by name."""
    eng = engines()
    return (mode not in eng, eng.index(mode) if mode in eng else 0, mode)


# -- 6: every mode along a line ---------------------------------------------------------
def modes_along_lines(df, out, page):
    """6. Each mode's median time along every line that times more than the two engines:
    each mode in its own style, filled engines under hollow others, drawn a little apart."""
    made = []
    for name, g in analysis.named_lines(df, min_modes=3):
        axis = analysis.varying(g)
        fig, axes = page.figure(aspect=1.1)
        ax = axes[0, 0]
        modes = sorted(g["mode"].unique(), key=mode_order)
        for n, mode in enumerate(modes):
            h = g[g["mode"] == mode].sort_values(axis)
            st = style_for(mode)
            shift = dodge(n, len(modes))
            ax.plot(h[axis] * shift, h.time_median_s, linestyle=st.linestyle, color=st.colour,
                    lw=1.2, alpha=0.8)
            clean = h[~h.noisy] if "noisy" in h else h
            if len(clean):
                page.dots(ax, clean[axis], clean.time_median_s, label=f"{mode} (floor)" if mode == FLOOR else mode, mode=mode,
                          colour=st.colour, marker=st.marker, hollow=st.hollow, shift=shift,
                          size=6.5 + 1.0 * (n % 3))
            noisy_dots(page, ax, h, axis, "time_median_s", mode, mode, shift)
        page.log_log(ax, axis, "median time per call (s)", xticks=g[axis], legend={"ncol": 2})
        slug = "".join(c if c.isalnum() else "_" for c in name).strip("_")
        made.append((page.save(fig, out, f"6_modes_{slug}",
                               f"Time of one call of every mode along {name}"),
                     f"Median time of one call of every mode along the line {name}, "
                     f"{g.config.iloc[0]}; modes drawn a little apart along x where they coincide"
                     + (f"; {FLOOR} (floor): the same products written directly with the "
                        "arrays' operators." if FLOOR in set(g["mode"]) else ".")))
    return made


def fastest_table(df) -> list:
    """Markdown rows: per point timed in three or more modes, each mode's time relative to
    the fastest mode there, and who wins; the floor's (hand's) time relative to the same
    winner in the last column, where timed."""
    ok = analysis.timed(df)
    rows = []
    order = ok.sort_values(["config", "target", *axes.LAYER_AXES, *axes.SIZE_AXES]).point_key.unique()
    for key in order:
        g = ok[ok.point_key == key]
        contenders = g[g["mode"] != FLOOR]
        if contenders["mode"].nunique() < 3:
            continue
        best = contenders.loc[contenders.time_median_s.idxmin()]
        rel = {r["mode"]: r.time_median_s / best.time_median_s for _, r in g.iterrows()}
        r0 = g.iloc[0]
        shape = axes.words(dict(r0))
        rows.append((shape, r0.config, best["mode"], best.time_median_s, rel))
    if not rows:
        return []
    modes = sorted({m for *_, rel in rows for m in rel if m != FLOOR}, key=mode_order)
    floor = [FLOOR] if any(FLOOR in rel for *_, rel in rows) else []
    lines = ["| point | configuration | fastest | its time | " +
             " | ".join(modes + [f"{m} (floor)" for m in floor]) + " |",
             "|---|---|---|---:|" + "---:|" * len(modes + floor)]
    modes = modes + floor
    for shape, config, best, t, rel in rows:
        lines.append(f"| {shape} | {config} | **{best}** | {t * 1e3:.3g} ms | " +
                     " | ".join(f"{rel[m]:.2f}" if m in rel else "–" for m in modes) + " |")
    return lines


def floor_lines(df) -> list:
    """Markdown: how far each mode is from the floor — its median time over hand's at the
    same point, over the points timing both (median, and min – max)."""
    ok = analysis.timed(df)
    t = ok.pivot_table(index="point_key", columns="mode", values="time_median_s", aggfunc="min")
    if FLOOR not in t:
        return []
    lines = ["How far each mode is from the floor: its time over hand's (the same products "
             "written directly with the arrays' operators) at the same point.", "",
             "| mode | points | × floor, median | min – max |", "|---|---:|---:|---|"]
    others = sorted((m for m in t if m != FLOOR), key=mode_order)
    for m in others:
        r = (t[m] / t[FLOOR]).dropna()
        if len(r):
            lines.append(f"| {m} | {len(r)} | {r.median():.2f} | {r.min():.2f} – {r.max():.2f} |")
    return lines + [""] if len(lines) > 4 else []


def all_figures(df, out, page) -> dict:
    """{number: [(path, caption)]} for figure 6."""
    return {6: modes_along_lines(df, out, page)}


CAPTIONS = {6: "Every mode along a line"}
