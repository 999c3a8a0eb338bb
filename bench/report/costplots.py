"""The report's figures 7–10 and their sections: what a call costs besides its time and
what the time model rests on — peak memory along the lines (counted and measured), time
against memory, the calibrated time model against the measured times, and the read
bandwidth with the cache boundary; REPORT.md's Memory and Time model sections and the
calibration table.

Each figure function takes the run's rows (bench.frame.load; figure 10 meta.json) and
writes PNGs into `out`, returning [(path, caption)]; nothing to draw, nothing written.
"""
from __future__ import annotations

import numpy as np

from bench.report import analysis
from bench.report.page import plain_log
from bench.report.plots import CONFIG_COLOURS, by_mode_and_target, identity
from bench.style import style_for

MEMORY_LINES = ("m (d = m)", "d (m = 256)", "L (m = d = 256)", "params m (d = m)")
"""The lines the memory figure draws, one panel each, where the run has them."""


def _scatter_by_mode_and_target(page, ok, x, y):
    """A log-log scatter of column y against column x, one series per (mode, target)."""
    fig, axes = page.figure()
    ax = axes[0, 0]
    by_mode_and_target(page, ax, ok, x, y)
    ax.set(xscale="log", yscale="log")
    return fig, ax


# -- 7, 8: memory -------------------------------------------------------------------------
def memory_vs_axes(df, out, page):
    """7. Peak memory along the headline lines: counted (lines) and measured (crosses)."""
    ok = analysis.timed(df)
    ok = ok[(ok.mem_counted_bytes > 0) & ok["mode"].isin(["forward", "reverse"])]
    panels = [(n, g[g.config == g.config.iloc[0]]) for n, g in analysis.named_lines(ok)
              if n in MEMORY_LINES]
    panels = [(n, g) for n, g in panels if g[analysis.varying(g)].nunique() >= 3]
    if not panels:
        return []
    cols = 2 if len(panels) > 1 else 1
    fig, axes = page.figure((len(panels) + 1) // 2, cols)
    for ax, (name, g) in zip(axes.flat, panels):
        axis = analysis.varying(g)
        for mode, h in g.groupby("mode"):
            h = h.sort_values(axis)
            st = style_for(mode)
            page.draw(ax, h[axis], h.mem_counted_bytes, label=f"{mode} counted", mode=mode,
                      kind="exact", colour=st.colour, linestyle=st.linestyle)
            meas = h[h.mem_measured_bytes > 0]
            if len(meas):
                page.dots(ax, meas[axis], meas.mem_measured_bytes, colour=st.colour, mode=mode,
                          marker=st.marker, hollow=True, size=8, label=f"{mode} measured")
        ax.set(xscale="log", yscale="log", xlabel=axis, title=name,
               ylabel="peak bytes beyond weights and x")
        plain_log(ax, "x", g[axis])
        page.legend(ax)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    return [(page.save(fig, out, "7_memory", "Peak memory of one call, counted and measured"),
             f"Peak memory of one call along the headline lines ({panels[0][1].config.iloc[0]}): "
             "the engine's count (lines) and tracemalloc's measurement (hollow; numpy only). "
             "Forward mode holds its m × d accumulator; reverse mode a few rows, or, for the "
             "parameter gradient, the tape of layer inputs and the gradients themselves.")]


def time_vs_memory(df, out, page):
    """8. Time against counted memory, one point per (point, mode): who pays what."""
    ok = analysis.timed(df)
    ok = ok[(ok.mem_counted_bytes > 0) & ok["mode"].isin(["forward", "reverse"])]
    if ok.empty:
        return []
    fig, ax = _scatter_by_mode_and_target(page, ok, "mem_counted_bytes", "time_median_s")
    page.log_log(ax, "counted peak bytes (beyond weights and x)", "median time per call (s)",
                 legend={}, grid=False)
    return [(page.save(fig, out, "8_time_vs_memory", "Time of one call against its counted peak memory"),
             "Every timed (point, mode): forward mode pays in time and in its m × d accumulator; "
             "reverse mode's parameter gradient pays in the tape of layer inputs it keeps.")]


# -- 9: the time model -----------------------------------------------------------------------
def model_errors(df):
    """|time_model_s / time_median_s − 1| per ok engine row with a model, as a Series."""
    ok = analysis.timed(df)
    ok = ok[ok.time_model_s > 0]
    return (ok.time_model_s / ok.time_median_s - 1).abs(), ok


def model_vs_measured(df, out, page):
    """9. Measured against modelled time, log-log, y = x, both modes, by target."""
    err, ok = model_errors(df)
    if ok.empty:
        return []
    fig, ax = _scatter_by_mode_and_target(page, ok, "time_model_s", "time_median_s")
    lo, hi = min(ok.time_model_s.min(), ok.time_median_s.min()), max(ok.time_model_s.max(),
                                                                       ok.time_median_s.max())
    identity(page, ax, lo, hi, f"y = x; |error| median {np.median(err):.0%}, 90th pct {np.quantile(err, 0.9):.0%}")
    page.log_log(ax, "modelled time (s): calibrated rates × the plan's steps",
                 "measured median time (s)", legend={}, grid=False)
    return [(page.save(fig, out, "9_model_vs_measured", "Measured time against the calibrated time model"),
             "Each engine row's measured time against the calibrated roofline model (no fitting): "
             "per step of the engine's plan, the larger of flops / GEMM rate and bytes / "
             "bandwidth, plus the fixed costs (bench/model.py).")]


def model_section(df) -> list:
    err, ok = model_errors(df)
    if ok.empty:
        return []
    floor = ok.groupby(["config", "mode"]).time_median_s.transform("min")
    above = err[analysis.above_floor(ok.assign(floor_s=ok.floor_s.fillna(floor)))]
    q = lambda s, p: f"{np.quantile(s, p):.0%}" if len(s) else "–"  # noqa: E731
    est = ok[ok.time_estimate_s > 0]
    ratio = (est.time_estimate_s / est.time_median_s)
    within = f"{((ratio >= 0.5) & (ratio <= 2)).mean():.0%}" if len(est) else "–"
    return ["## Time model", "",
            "| rows | median |error| | 90th percentile |", "|---|---:|---:|",
            f"| all {len(err)} engine rows | {q(err, 0.5)} | {q(err, 0.9)} |",
            f"| {len(above)} rows above 5× the per-call floor | {q(above, 0.5)} | {q(above, 0.9)} |",
            "", f"The guards' per-call estimates (time_estimate_s) are within 2× of the measured "
            f"time on {within} of {len(est)} rows.", ""]


def memory_section(df) -> list:
    ok = analysis.timed(df)
    ok = ok[(ok.mem_counted_bytes > 2 ** 20) & (ok.mem_measured_bytes > 0)]
    if ok.empty:
        return []
    r = ok.mem_measured_bytes / ok.mem_counted_bytes
    exact = analysis.timed(df)
    exact = exact[exact.mem_predicted_bytes > 0]
    same = int((exact.mem_predicted_bytes == exact.mem_counted_bytes).sum())
    return ["## Memory", "",
            f"Counted peak memory equals the closed form (modes.predict.memory_peak) on {same} of "
            f"{len(exact)} rows that have one. Measured (tracemalloc) over counted, on the "
            f"{len(ok)} rows above 1 MiB: {r.min():.2f} – {r.max():.2f} (median {r.median():.2f}).", ""]


# -- 10: the read bandwidth and the cache boundary --------------------------------------------
def bandwidth(info, out, page):
    """10. The calibrated read bandwidth against working set, per calibration, with the
    measured cache boundary and the last-level cache sysfs reports."""
    from bench.model import cache_boundary
    cals = {k: c for k, c in ((info or {}).get("calibration") or {}).items() if c.get("bandwidth")}
    if not cals:
        return []
    fig, axes = page.figure()
    ax = axes[0, 0]
    for n, (name, c) in enumerate(sorted(cals.items())):
        colour = CONFIG_COLOURS[n % len(CONFIG_COLOURS)]
        sizes = sorted(int(k) for k in c["bandwidth"])
        gbs = [c["bandwidth"][str(k)] / 1e9 for k in sizes]
        page.draw(ax, [s / 2 ** 20 for s in sizes], gbs, marker="o", colour=colour, mode="",
                  kind="measured", label=f"read bandwidth, {name}")
        b = c.get("cache_boundary_bytes") or cache_boundary(c["bandwidth"])
        if b:
            ax.axvline(b / 2 ** 20, color=colour, ls=(3 * n, (3, max(3 * len(cals) - 3, 2))), lw=1.6,
                       label=f"measured cache boundary {b / 2 ** 20:g} MiB ({name})")
            page.record(f"measured cache boundary ({name})", "", "measured", colour, None,
                        [b / 2 ** 20] * 2, [min(gbs), max(gbs)])
    llc = (info.get("machine") or {}).get("llc_bytes")
    if llc:
        ax.axvline(llc / 2 ** 20, color="0.5", ls=":", lw=1.5,
                   label=f"last-level cache, as sysfs reports it: {llc / 2 ** 20:g} MiB")
    page.log_log(ax, "working set of y = A v (MiB)", "read bandwidth (GB/s)", legend={})
    return [(page.save(fig, out, "10_bandwidth", "Read bandwidth against working set, and the "
                       "measured cache boundary"),
             "The calibration's read bandwidth (y = A v over A of each working set, best of "
             "repeated calls) against the working set; dashed: the measured cache boundary (dashes "
             "interleaved where two coincide), the "
             "largest working set still read at 1.5× the bandwidth of the largest ones "
             "(bench.model.cache_boundary); dotted: the last-level cache sysfs reports, which "
             "on a virtual machine need not be the cache the process gets.")]


def all_figures(df, out, page, info=None) -> dict:
    """{number: [(path, caption)]} for figures 7–10 (info: the run's meta.json)."""
    return {7: memory_vs_axes(df, out, page), 8: time_vs_memory(df, out, page),
            9: model_vs_measured(df, out, page), 10: bandwidth(info, out, page)}


CAPTIONS = {7: "Peak memory along the lines", 8: "Time against memory",
            9: "The time model against measurement", 10: "Read bandwidth and the cache boundary"}


def calibration_lines(info) -> list:
    """REPORT.md's table of the calibrations behind time_model_s (meta.json)."""
    cals = (info or {}).get("calibration") or {}
    if not cals:
        return []
    g = lambda c, k: f"{c['gemm_rate'][k] / 1e9:.1f}"  # noqa: E731
    b = lambda c, k: f"{c['bandwidth'][k] / 1e9:.0f}"  # noqa: E731
    lines = ["Calibration (GEMM GFLOP/s by a product's smallest dimension; read GB/s by working "
             "set; fixed costs in µs):", "",
             "| configuration | GEMM k=1 / 16 / 1024 | read 64 KiB / 8 MiB / 256 MiB | product / step / call |",
             "|---|---|---|---|"]
    for name, c in cals.items():
        cs = c["c_step_s"]
        lines.append(f"| {name} | {g(c, '1')} / {g(c, '16')} / {g(c, '1024')} | "
                     f"{b(c, '65536')} / {b(c, '8388608')} / {b(c, '268435456')} | "
                     f"{cs['matmul'] * 1e6:.1f} / {cs['elementwise'] * 1e6:.1f} / "
                     f"{c['c_call_s'] * 1e6:.1f} |")
    return lines + [""]
