"""The work of `python -m bench report` (bench.report, its entry point, says what it does):
check the options, the run and the directories, read the run's checked rows, draw the
figures into a folder (draw) and write REPORT.md (bench.report.writeup), and print the
one-screen summary."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench import cmdline as cli, meta, safefs, store
from bench import table
from bench.report import (analysis, batchplots, costplots, modeplots, page as pg, plots, ratioplots,
                          slides)
from bench.report.writeup import markdown, ratio_ranges, slope_table, summary  # noqa: F401
from bench.errors import DamagedError, UsageError
from bench.rows import damage_note

def parser(command="report") -> argparse.ArgumentParser:
    """The command line of the report."""
    p = cli.Parser(prog=cli.prog(command),
                   description="plots and REPORT.md for a sweep's results")
    p.add_argument("run", nargs="?", default=None, help="run id, 'latest' or a path")
    p.add_argument("--results-dir", default=os.environ.get("FWDREV_RESULTS_DIR", "results"))
    p.add_argument("--plots-dir", default=os.environ.get("FWDREV_PLOTS_DIR", "plots"))
    p.add_argument("--reference", action="store_true",
                   help="make this run the committed reference (results/ and plots/reference)")
    p.add_argument("--format", metavar="F[,F…]",
                   help="the figures' file formats, any of png, svg, pdf (default png); with "
                   "--table, the table's: md, csv or latex (default md)")
    p.add_argument("--dpi", type=int, metavar="N",
                   help=f"resolution of PNG figures, 1 to {pg.MAX_DPI} (default 100; 200 with "
                   "--style slide)")
    p.add_argument("--style", default="paper", metavar="STYLE",
                   help=f"the figures' look: {' or '.join(pg.LOOKS)} (slide: 16:9, fonts of "
                   "14 pt and more; default paper)")
    p.add_argument("--table", action="store_true",
                   help="print only the slide table (forward against reverse on the headline "
                   "lines) in --format, and write nothing")
    p.add_argument("--points", action="store_true",
                   help="also print every point's median and IQR (one line per point and mode)")
    return p


def drawing(args) -> "pg.Page | str":
    """The Page the arguments ask for (or, with --table, the table's format); a one-line
    UsageError on an unknown format or style or a dpi out of range."""
    if args.style not in pg.LOOKS:
        raise UsageError(f"--style {args.style!r}: use {' or '.join(pg.LOOKS)}")
    if args.dpi is not None and not 0 < args.dpi <= pg.MAX_DPI:
        raise UsageError(f"--dpi {args.dpi}: use 1 to {pg.MAX_DPI}")
    if args.table:
        fmt = args.format or "md"
        if fmt not in slides.FORMATS:
            raise UsageError(f"--format {fmt!r} with --table: use one of {', '.join(slides.FORMATS)}")
        return fmt
    formats = tuple(f.strip().lower() for f in (args.format or "png").split(","))
    bad = [f for f in formats if f not in pg.FORMATS]
    if bad or not formats:
        raise UsageError(f"--format {args.format!r}: use any of {', '.join(pg.FORMATS)}, "
                         "comma-separated (md, csv, latex go with --table)")
    dpi = args.dpi or (200 if args.style == "slide" else 100)
    return pg.Page(formats=tuple(dict.fromkeys(formats)), dpi=dpi, look=args.style)


def run_command(argv, command="report") -> int:
    """The report (bench.report.main runs it): check the arguments and the run, then draw."""
    args = parser(command).parse_args(argv)
    page = drawing(args)
    root = cli.check_dir("--results-dir", args.results_dir, write=args.reference and not args.table)
    plots_root = cli.check_dir("--plots-dir", args.plots_dir, write=not args.table)
    run_dir = store.resolve_run(root, args.run)
    rows, bad = store.read_checked(run_dir / "points.csv")
    if not rows:
        raise UsageError(f"no results at {run_dir} (run `python -m bench sweep` first)")
    warn = cli.warner(command)
    if bad:
        warn(damage_note(run_dir / "points.csv", bad))
    info = _meta(run_dir, warn)
    if args.table:
        core = analysis.engines_only(analysis.load(run_dir, rows))
        print(slides.render(slides.rows(analysis.fit_lines(core, boundary_of(info))), page))
        return 0
    out = plots_root / (root / store.REFERENCE if args.reference else run_dir).resolve().name
    if out.exists() and not out.is_dir():
        raise UsageError(f"--plots-dir {args.plots_dir}: {out} is not a directory")
    if args.reference:
        run_dir = _to_reference(run_dir, root / store.REFERENCE)
    path, summary = make_report(run_dir, out, rows, info, page)
    if not args.reference and _is_latest(root, run_dir, args.run):
        store.set_latest(plots_root, out)
    if args.points:
        print(table.point_table(rows))
    print(summary)
    print(f"report: {path}")
    return 0


def _meta(run_dir, warn) -> dict:
    """The run's meta.json; {} with a warning naming it when it is damaged."""
    try:
        return store.read_meta(run_dir / "meta.json", {})
    except DamagedError as e:
        warn(f"{e}; reporting without it")
        return {}


def _to_reference(run_dir, ref):
    if run_dir.resolve() != ref.resolve():
        store.copy_run(run_dir, ref)
    return ref


def _is_latest(root, run_dir, asked):
    if asked in (None, "latest"):
        return True
    try:
        latest = store.resolve_run(root)
    except DamagedError:
        return False
    return latest.exists() and latest.resolve() == run_dir.resolve()


def make_report(run_dir: Path, out: Path, rows=None, info=None, page=None):
    """Write the figures, figures.json and REPORT.md into out; return (REPORT.md path,
    summary text). rows and info: the run's checked rows and meta.json, when already read;
    page: the drawing settings (bench.report.page.Page; default PNG, paper, 100 dpi). Drawn
    into a temporary folder and swapped in whole (bench.safefs): an interrupted report
    leaves the previous one as it was, and a figure it drew that no longer applies goes; a
    link at out is refused."""
    def fill(tmp):
        text, summ = draw(run_dir, tmp, rows, info, page or pg.Page())
        store.atomic_write(tmp / "REPORT.md", text)
        return summ
    return out / "REPORT.md", safefs.build_folder(out, fill)


def draw(run_dir: Path, out: Path, rows, info, page):
    """Draw every figure into the folder out and write its figures.json; return (REPORT.md's
    text, the summary)."""
    df = analysis.load(run_dir, rows)
    info = store.read_meta(run_dir / "meta.json", {}) if info is None else info
    machine = meta.machine_label(info.get("machine", {}))
    page.machine = machine
    core = analysis.engines_only(df)  # figures 1-5 and the fits: forward, reverse, uniform
    rat = analysis.ratios(core)
    boundary = boundary_of(info)
    lines = analysis.fit_lines(core, boundary)
    figs = {**plots.all_figures(core, out, page, lines, boundary),
            **ratioplots.all_figures(rat, out, page), **modeplots.all_figures(df, out, page),
            **costplots.all_figures(df, out, page, info), **batchplots.all_figures(df, out, page)}
    pg.write_figures_json(page, out)
    fits = slope_table(lines)
    text = markdown(run_dir, info, machine, df, rat, fits, figs, lines)
    return text, summary(run_dir, info, machine, df, rat, fits)


def boundary_of(info):
    """The cache boundary the fits and figures use: the one the run's calibration measured
    (meta.json's machine.cache_boundary_bytes, or from its calibrations), else twice the
    last-level cache sysfs reports; None without either."""
    from bench.model import machine_boundary
    m = info.get("machine", {}) or {}
    b = m.get("cache_boundary_bytes") or machine_boundary(info.get("calibration"))
    return b or (2 * m["llc_bytes"] if m.get("llc_bytes") else None)
