"""REPORT.md and the one-screen summary of `fwdrev report`: the numbers they show (the slope
table, the ratio ranges, the counts) and every section, from the run's rows, its meta.json
and the figures drawn (bench.report.document draws them and writes the files)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import store
from bench import noise
from bench.report import analysis, batchplots, costplots, modeplots, slides

CAPTIONS = {
    1: "Counted vs predicted operations",
    2: "Time against each swept axis",
    3: "Time ratio vs operation ratio",
    4: "Time-ratio heatmap over (m, d)",
    5: "Jacobian crossover at d ≈ K",
    **modeplots.CAPTIONS,
    **costplots.CAPTIONS,
    **batchplots.CAPTIONS,
}



# -- numbers --------------------------------------------------------------------------------
def slope_table(lines) -> list:
    """One dict per (line, mode) of analysis.fit_lines' lines: the fitted and the
    count-predicted exponents; headline marks the lines plot 2 shows (and the summary
    prints)."""
    top = {id(ln) for c in {ln.config for ln in lines} for ln in analysis.headline(lines, c)}
    rows = []
    for line in sorted(lines, key=lambda ln: (ln.config, ln.target, ln.label)):
        fs = [line.fits[m] for m in ("forward", "reverse")]
        if id(line) not in top and all(f["slope"] != f["slope"] for f in fs):
            continue  # no slope in either mode: every point near the fixed cost of a call
        for mode, f in zip(("forward", "reverse"), fs):
            if f["n"]:
                rows.append({"config": line.config, "target": line.target, "line": line.label,
                             "axis": line.axis, "tied": line.tied, "mode": mode,
                             "slope": f["slope"], "predicted": f["predicted"],
                             "n_fit": f["n_fit"], "n": f["n"], "headline": id(line) in top,
                             "slope_big": f["slope_big"], "n_big": f["n_big"]})
    return rows


def ratio_ranges(rat) -> list:
    """Per target: the measured time-ratio and predicted op-ratio ranges, over the points
    not noisy in either mode."""
    out = []
    clean = rat[~rat.noisy] if "noisy" in rat else rat
    for target, g in clean.groupby("target"):
        ops = g.ops_ratio[np.isfinite(g.ops_ratio)]
        out.append({"target": target, "points": len(g), "t_min": g.time_ratio.min(),
                    "t_max": g.time_ratio.max(), "o_min": ops.min(), "o_max": ops.max()})
    return out


def _counts(df):
    return {s: int((df.status == s).sum()) for s in store.STATUSES}


def _points(df, status):
    return df[df.status == status].point_key.nunique()


# -- REPORT.md --------------------------------------------------------------------------------
def markdown(run_dir, info, machine, df, rat, fits, figs, lines=()) -> str:
    """The report: provenance, counts, the slide table, fitted exponents, ratio ranges,
    every figure, and the points that were noisy, disagreed, failed or were skipped."""
    parts = [_header(run_dir, info, machine), _status_section(df), _noisy_section(df),
             _slide_section(lines), _fit_section(fits, info), _ratio_section(rat),
             _modes_section(df),
             "\n".join(costplots.model_section(df) + costplots.calibration_lines(info)),
             "\n".join(costplots.memory_section(df)), "\n".join(batchplots.batch_section(df)),
             _figure_section(figs),
             _problem_section(df), _skip_section(df)]
    return "\n".join(p for p in parts if p) + "\n"


def _header(run_dir, info, machine):
    git = info.get("git", {})
    v = info.get("versions", {})
    sessions = "; ".join(f"`{s['command']}` ({s.get('seconds', '?')} s)"
                         for s in info.get("sessions", []))
    incomplete = ([f"**This run is incomplete**: not every point of its grid has a result "
                   f"(run the same sweep again to resume it); what follows covers "
                   f"{_counts_text(info)}.", ""] if info.get("complete") is False else [])
    return "\n".join([
        f"# fwdrev benchmark report — {info.get('run_id', run_dir.name)}", "", *incomplete,
        f"- machine: {machine} ({info.get('machine', {}).get('platform', '')})",
        f"- date: {info.get('date', '?')}; commit {str(git.get('commit'))[:12]}"
        f"{' (dirty)' if git.get('dirty') else ''}",
        f"- preset: {info.get('preset') or 'none (command-line axes)'}; sessions: {sessions}",
        f"- numpy {v.get('numpy')}, torch {v.get('torch')}, pytest-benchmark "
        f"{v.get('pytest-benchmark')}, Python {v.get('python')}; BLAS: "
        f"{', '.join(sorted({b.get('internal_api', '?') for b in info.get('blas', [])}))}",
        f"- timing: {_settings(info.get('timing'))}; guards: {_settings(info.get('guards'))}",
        f"- cache: {_cache_text(info)}", ""])


def _settings(d) -> str:
    """A settings dict as `key = value, …` (– when absent)."""
    if not isinstance(d, dict) or not d:
        return "–"
    return ", ".join(f"{k} = {v}" for k, v in d.items())


def _counts_text(info) -> str:
    c = info.get("counts") or {}
    return ", ".join(f"{v} {k}" for k, v in c.items()) + " rows" if c else "the rows it has"


def _mib(n) -> str:
    return f"{n / 2 ** 20:g} MiB"


def _cache_text(info) -> str:
    """The measured cache boundary beside the last-level cache sysfs reports."""
    from bench.model import machine_boundary
    m = info.get("machine", {}) or {}
    b = m.get("cache_boundary_bytes") or machine_boundary(info.get("calibration"))
    llc = m.get("llc_bytes")
    sysfs = f"last-level cache {_mib(llc)} (sysfs)" if llc else "no last-level cache size (sysfs)"
    if b:
        return (f"read bandwidth falls off beyond {_mib(b)} of working set (measured by the "
                f"calibration: the 'beyond cache' boundary); {sysfs}")
    return f"{sysfs}; no measured boundary (no calibration, or no fall within 256 MiB)"


def _status_section(df):
    c, ok = _counts(df), df[df.status == "ok"]
    return "\n".join([
        "## Points", "",
        "| status | rows (point × mode) | points with such rows |", "|---|---:|---:|",
        *[f"| {s} | {c[s]} | {_points(df, s)} |" for s in store.STATUSES],
        "", f"Every timed point was checked first: forward and reverse answers agree within "
            f"tolerance on {_points(df, 'ok')} points. Counted operations equal the closed-form "
            f"prediction on {int(ok.ops_exact.sum())} of {int(ok.ops_predicted.notna().sum())} timed "
            f"rows that have a closed form (peers count nothing).", ""])


def _noisy_section(df):
    ok = df[df.status == "ok"]
    bad = ok[ok.noisy] if "noisy" in ok else ok.iloc[:0]
    if bad.empty:
        return ""
    lines = ["## Noisy points", "", f"**{noise.warning(len(bad), len(ok))}.**", "",
             "| point | mode | median | IQR | rounds |", "|---|---|---:|---:|---:|"]
    for r in bad.head(30).itertuples():
        lines.append(f"| `{r.point_key}` | {r.mode} | {slides.seconds(r.time_median_s)} | "
                     f"{slides.seconds(r.time_iqr_s)} | {int(r.rounds) if r.rounds == r.rounds else '–'} |")
    if len(bad) > 30:
        lines.append(f"| … and {len(bad) - 30} more | | | | |")
    return "\n".join(lines + [""])


def _slide_section(lines):
    table = slides.rows(lines)
    if not table:
        return ""
    return "\n".join(["## Forward against reverse on the headline lines", "",
                      "At each headline line's largest point timed cleanly in both modes: the "
                      "exact operation counts (modes.predict), the median times, their ratios, "
                      "and the calibrated model's times (`fwdrev report --table --format "
                      "md|csv|latex` prints this table alone).", "", slides.render(table), ""])


def _fit_section(fits, info=None):
    if not fits:
        return "## Fitted exponents\n\nNo line of three sizes or more in this run: nothing to fit.\n"
    lines = ["## Fitted exponents (time ∝ size^slope)", "",
             f"Fitted by least squares on log–log axes over the points whose median time is at "
             f"least {analysis.FIT_FACTOR:g}× its per-call floor: the same call on the chain of "
             "width 1, timed beside it (floor_s; rows without one: the smallest time of that "
             "mode and configuration). Below that the fixed cost of a call dominates. "
             "'counts' is the slope the exact operation counts give over the same points. "
             f"'beyond cache' fits only the points whose weights exceed the cache boundary "
             f"({_cache_text(info or {})}): reverse mode is memory-bound (GEMV, docs/maths.md §6), and a line that crosses "
             "the cache boundary fits steeper than its counts. Noisy points are not fitted. "
             "Headline lines (plot 2) in bold; lines with no slope in either mode are left out.",
             "", "| configuration | target | line | mode | slope | counts | points fitted | "
             "beyond cache |", "|---|---|---|---|---:|---:|---:|---:|"]
    for f in fits:
        b = "**" if f["headline"] else ""
        big = f"{_num(f['slope_big'])} ({f['n_big']})" if f["n_big"] >= 2 else "–"
        lines.append(f"| {f['config']} | {f['target']} | {b}{f['line']}{b} | {f['mode']} | "
                     f"{_num(f['slope'])} | {_num(f['predicted'])} | {f['n_fit']} of {f['n']} | "
                     f"{big} |")
    return "\n".join(lines + [""])


def _ratio_section(rat):
    ranges = ratio_ranges(rat)
    if not ranges:
        return ""
    lines = ["## Forward/reverse time ratio", "", "Over the points timed in both modes, "
             "noisy ones left out.", "",
             "| target | points | time ratio (min – max) | op ratio (min – max) |",
             "|---|---:|---|---|"]
    for r in ranges:
        lines.append(f"| {r['target']} | {r['points']} | {r['t_min']:.3g} – {r['t_max']:.3g} | "
                     f"{r['o_min']:.3g} – {r['o_max']:.3g} |")
    return "\n".join(lines + [""])


def _modes_section(df):
    rows = modeplots.fastest_table(df)
    if not rows:
        return ""
    return "\n".join(["## Who wins where: time relative to the fastest mode, per point", "",
                      "Each mode's median time divided by the fastest mode's at that point "
                      "(1.00 is the winner; hand, the floor, is never counted as the winner).",
                      "", *rows, "", *modeplots.floor_lines(df)])


def _figure_section(figs):
    lines = ["## Figures", ""]
    for n, made in figs.items():
        lines.append(f"### {n}. {CAPTIONS[n]}")
        lines.append("")
        if not made:
            lines += ["Not drawn: this run has no points for it.", ""]
        for path, caption in made:  # the first format; the others lie beside it
            lines += [f"![{CAPTIONS[n]}]({Path(path).name})", "", caption, ""]
    return "\n".join(lines)


def _problem_section(df):
    bad = df[df.status.isin(["disagree", "error"])]
    if bad.empty:
        return "## Disagreements and errors\n\nNone.\n"
    lines = ["## Disagreements and errors (not plotted)", "", "| point | mode | status | reason |",
             "|---|---|---|---|"]
    lines += [f"| `{r.point_key}` | {r.mode} | {r.status} | {r.reason} |" for r in bad.itertuples()]
    return "\n".join(lines + [""])


def _skip_section(df):
    sk = df[df.status == "skipped"]
    if sk.empty:
        return "## Skipped\n\nNone.\n"
    lines = ["## Skipped", "", "| reason | points | example |", "|---|---:|---|"]
    for reason, g in sk.groupby(sk.reason.str.replace(r"[\d.]+ (GiB|s) exceeds", "… exceeds",
                                                      regex=True)):
        lines.append(f"| {reason} | {g.point_key.nunique()} | `{g.point_key.iloc[0]}` |")
    return "\n".join(lines + [""])


def _num(v):
    return "–" if v != v else f"{v:.2f}"


# -- the one-screen summary ------------------------------------------------------------------
def summary(run_dir, info, machine, df, rat, fits) -> str:
    """What `make bench` prints at the end: counts, key slopes, ratio ranges."""
    c = _counts(df)
    out = [f"fwdrev benchmark {info.get('run_id', run_dir.name)} on {machine}",
           f"  points: {_points(df, 'ok')} agreed and timed; with a mode skipped "
           f"{_points(df, 'skipped')}, disagreeing {_points(df, 'disagree')}, failed "
           f"{_points(df, 'error')} ({c['ok']} ok rows of {len(df)})",
           f"  operation counts equal to prediction: {int(df[df.status == 'ok'].ops_exact.sum())}"
           f" of {int(df[df.status == 'ok'].ops_predicted.notna().sum())} timed rows with a closed form",
           "  fitted time exponents, gradient target (slope of time; of the exact counts):"]
    order = {p: n for n, p in enumerate(analysis.PANELS)}
    heads = sorted((f for f in fits if f["headline"]),
                   key=lambda f: (f["config"], order[(f["axis"], f["tied"])], f["mode"]))
    for n, f in enumerate(heads):
        if n == 0 or f["config"] != heads[n - 1]["config"]:
            out.append(f"   {f['config']}")
        big = f"; beyond cache {_num(f['slope_big'])}" if f["n_big"] >= 2 else ""
        out.append(f"    {f['line']:27} {f['mode']:8} {_num(f['slope']):>5}  (counts "
                   f"{_num(f['predicted'])}, {f['n_fit']} pts{big})")
    for r in ratio_ranges(rat):
        out.append(f"  {r['target']:9} forward/reverse time ratio {r['t_min']:.3g} – "
                   f"{r['t_max']:.3g} (op ratio {r['o_min']:.3g} – {r['o_max']:.3g})")
    ok = df[df.status == "ok"]
    n = int(ok.noisy.sum()) if "noisy" in ok else 0
    if n:
        out.append(f"  warning: {noise.warning(n, len(ok))}")
    if info.get("complete") is False:
        out.insert(1, "  INCOMPLETE: not every point has a result; run the same sweep again")
    return "\n".join(out)
