"""The work of `python -m bench sweep` (bench.sweep, its entry point, says what it does):
check every argument, choose the run (bench.sweep.runs), lock it (bench.sweep.runlock), plan, record
the guards' skips, time the rest in a pytest child (bench.sweep.timing, run by
bench.sweep.parent), write meta.json, and summarise (bench.sweep.summary)."""
from __future__ import annotations

import argparse
import os
import time
from collections import Counter

from bench import cmdline as cli, meta, model, noise, plugins, store
from bench.sweep import extras, grid, parent, runs, shard, summary, timing
from bench.points import set_threads
from bench.sweep.presets import AXES, GUARD_DEFAULTS, PRESETS, TIMING_DEFAULTS
from bench.errors import UsageError
from bench.sweep.runlock import RunLock

from bench.rows import SCHEMA  # noqa: E402,F401  (meta.json's schema; bench.merge reads it here)


class _Parser(cli.Parser):
    """The sweep's parser: the presets' description (which expands every preset, and for
    device auto asks torch for a GPU: seconds) is made only when help is printed."""

    def format_help(self):
        self.epilog = grid.describe_presets()
        return super().format_help()


def parser(command="sweep") -> argparse.ArgumentParser:
    """The command line of the sweep: a preset, the axes, timing, guards, the run."""
    p = _Parser(prog=cli.prog(command), formatter_class=argparse.RawDescriptionHelpFormatter,
                description="time the modes over a grid of shapes; write results/<run-id>/")
    p.add_argument("--preset", metavar="NAME",
                   help=f"named grid, one of {', '.join(PRESETS)} (below); default: default "
                   "(gpu when the only axes given are --device cuda [and --backend]); none "
                   "when other axes are given")
    g = p.add_argument_group("axes (comma-separated; they replace the preset's on every line)")
    for axis in AXES:
        g.add_argument(f"--{axis}", metavar="V,V,…", help=grid.axis_help(axis))
    t = p.add_argument_group("timing (pytest-benchmark)")
    for flag, kind, unit, what in TIMING_FLAGS:
        t.add_argument(flag, type=kind, metavar=unit,
                       help=_setting(flag, what, TIMING_DEFAULTS, "timing"))
    q = p.add_argument_group("guards")
    for flag, kind, unit, what in GUARD_FLAGS:
        q.add_argument(flag, type=kind, metavar=unit,
                       help=_setting(flag, what, GUARD_DEFAULTS, "guards"))
    q.add_argument("--tol", type=cli.bounded(float, 0, 1), metavar="X", help="agreement tolerance (default by dtype: "
                   f"{', '.join(f'{k} {v:g}' for k, v in timing.TOL.items())})")
    r = p.add_argument_group("run")
    r.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                   help="a Python file that registers modes when imported (modes."
                   "register_mode); repeat for several. Installed `fwdrev.modes` entry "
                   "points are loaded always")
    r.add_argument("--name", "--run-id", dest="run_id", metavar="RUN_ID",
                   help="name of the run (default: <UTC time>-<preset> plus what the axes "
                   "change, e.g. 20260101T120000Z-quick-torch, and -shardIofN with --shard)")
    r.add_argument("--new", action="store_true", help="do not resume the unfinished latest run")
    r.add_argument("--force", action="store_true", help="discard the run's results and redo it")
    r.add_argument("--results-dir", default=os.environ.get("FWDREV_RESULTS_DIR", "results"),
                   help="where runs go, relative to the current directory (default: "
                   "$FWDREV_RESULTS_DIR, else ./results)")
    r.add_argument("--shard", metavar="I/N", help="run only shard I of N: a deterministic, "
                   "time-balanced 1/N of the points (the same on every machine); join the "
                   "runs with `fwdrev merge` (default: every point)")
    r.add_argument("--recalibrate", action="store_true",
                   help="measure the time model's rates again (default: reuse "
                   "<results-dir>/calibration/ for this exact machine)")
    r.add_argument("--no-model", action="store_true",
                   default=os.environ.get("FWDREV_NO_MODEL", "") not in ("", "0"),
                   help="no calibration and no time_model_s column (the guards use one "
                   "core's typical rates; default: off unless $FWDREV_NO_MODEL is set)")
    r.add_argument("--dry-run", action="store_true", help="show the plan, time nothing")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--strict", action="store_true",
                   help="exit 1 when a point's modes disagree or an engine fails")
    return p


TIMING_FLAGS = (("--max-time", cli.bounded(float, 0, 3600), "S", "seconds of rounds per benchmark"),
                ("--min-rounds", cli.bounded(int, 1, 10**6), "N", "rounds per benchmark at least"),
                ("--warmup-iterations", cli.bounded(int, 0, 10**6), "N",
                 "warm-up calls before timing"))
GUARD_FLAGS = (("--mem-budget-gb", cli.bounded(float, 0, 2**20), "GIB",
                "skip points whose memory estimate is above"),
               ("--max-point-s", cli.bounded(float, 0, 10**7), "S",
                "skip points estimated to take longer"))
"""(flag, type, metavar, what) of the timing and guard flags; defaults come from presets."""


def _setting(flag, what, defaults, section) -> str:
    """A timing or guard flag's help text, with its default in each preset."""
    return grid.setting_help(what, flag[2:].replace("-", "_"), defaults, section)


def build_spec(args) -> dict:
    """The run's full specification from the arguments; every value checked here."""
    overrides = {a: grid.parse_axis(a, getattr(args, a)) for a in AXES
                 if getattr(args, a) is not None}
    cuda_only = overrides.get("device") == ["cuda"] and set(overrides) <= {"device", "backend"}
    name = args.preset or ("gpu" if cuda_only else None if overrides else "default")
    p = grid.preset(name) if name else {}
    tim = {**TIMING_DEFAULTS, **p.get("timing", {}), **_given(args, TIMING_DEFAULTS)}
    lim = {**GUARD_DEFAULTS, **p.get("guards", {}), **_given(args, GUARD_DEFAULTS)}
    _positive(tim, lim)
    grids = grid.subgrids(name, overrides)
    return {"preset": name, "axes": overrides, "grids": grids, "timing": tim, "guards": lim,
            "shard": shard.parse(args.shard)}


def _given(args, defaults):
    return {k: getattr(args, k) for k in defaults if getattr(args, k, None) is not None}


def _positive(tim, lim):
    for k in ("max_time", "min_rounds", "mem_budget_gb", "max_point_s"):
        v = tim.get(k, lim.get(k))
        if not v > 0:
            raise UsageError(f"--{k.replace('_', '-')} must be positive, got {v}")
    if tim["warmup_iterations"] < 0:
        raise UsageError(f"--warmup-iterations must be 0 or more, got {tim['warmup_iterations']}")
    if lim["tol"] is not None and not lim["tol"] > 0:
        raise UsageError(f"--tol must be positive, got {lim['tol']}")


def run_command(argv, command="sweep") -> int:
    """The sweep (bench.sweep.main runs it): check every argument, choose the run, run it."""
    loaded = plugins.load(plugin_files(argv))  # first: their modes are --mode's values
    args = parser(command).parse_args(argv)
    spec = {**build_spec(args), "plugins": loaded}
    expanded = shard.select(grid.expand(spec["grids"]), spec["shard"], spec["timing"])
    spec["hash"] = shard.run_hash(spec)
    # resolved here, once, against the user's directory: every child gets absolute paths
    root = cli.check_dir("--results-dir", args.results_dir, write=not args.dry_run).absolute()
    # the time model's rates, per configuration, cached under root (none with --no-model);
    # a dry run only reads a cached calibration: it writes nothing
    cals = extras.Calibrations(None if args.no_model else root, args.recalibrate,
                               measure=not args.dry_run, show=True)
    _warn_threads(expanded, cli.warner(command))
    run_id, new = runs.choose_run(root, spec, args, cli.warner(command))
    rc = None if new else _finished(command, root / run_id, spec, expanded, args)
    if rc is not None:
        return rc
    if new and spec["shard"]:  # shards started in the same second on several machines
        run_id += f"-shard{spec['shard'][0]}of{spec['shard'][1]}"
    if args.dry_run:
        done = set() if new or args.force else store.done_keys(root / run_id / "points.csv")
        cases, skipped = timing.cases_to_run(expanded, done, spec["guards"], spec["timing"],
                                             run_id, cals)
        summary.plan_line(command, run_id, False, expanded, cases, skipped, cals)
        return summary.show_plan(expanded, cases, skipped, cals)
    run_dir = runs.claim(root, run_id, new)
    with RunLock(run_dir) as lock:
        return run(args, spec, expanded, run_dir, lock, command, argv, cals)


def plugin_files(argv) -> list:
    """The --plugin files of a command line, read before the full parser is made."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    return pre.parse_known_args(argv)[0].plugin


def _finished(command, run_dir, spec, expanded, args):
    """The exit status when run_dir is a complete run of this spec with nothing to redo,
    said in one line (then nothing of it is written: bench.sweep.runs.settled), else
    None. A merged run is refused; --force skips the check (it discards the run)."""
    if args.force or not run_dir.is_dir():
        return None
    want = {(p.key(), m) for p, modes, _ in expanded for m in modes}
    if not runs.settled(run_dir, spec["hash"], want):
        runs.refuse_merged(run_dir)
        return None
    print(f"{command}: run {run_dir.name} is complete; nothing to do (a complete run is "
          "never rewritten: --new or another --run-id times it again)")
    counts = Counter(r["status"] for r in store.read_rows(run_dir / "points.csv"))
    return summary.report_end(command, run_dir, counts, 0, args.strict, quiet=True)


def _check_shard(run_dir, spec, force) -> None:
    """A one-line UsageError when an existing run is another shard than this sweep's."""
    info = {} if force else (store.read_meta(run_dir / "meta.json", {}) or {})
    if "spec_hash" in info and info.get("shard") != shard.label(spec["shard"]):
        raise UsageError(f"run {run_dir.name} is shard {info.get('shard') or 'none (every point)'}"
                         f", not {shard.label(spec['shard']) or 'every point'}; use a new "
                         "--run-id, or --force to discard it")


def run(args, spec, expanded, run_dir, lock, command, argv, cals=extras.OFF) -> int:
    """With the run locked: check it, plan, record the guards' skips, time the rest, and
    summarise."""
    _check_shard(run_dir, spec, args.force)
    resuming = runs.open_run(run_dir, spec, args.force, cli.warner(command))
    csv_path = run_dir / "points.csv"
    cases, skipped = timing.cases_to_run(expanded, store.done_keys(csv_path), spec["guards"],
                                         spec["timing"], run_dir.name, cals)
    summary.plan_line(command, run_dir.name, resuming, expanded, cases, skipped, cals)
    _write_meta(run_dir, spec, run_dir.name, command, argv, cals, expanded)
    store.set_latest(run_dir.parent, run_dir)
    store.upsert_rows(csv_path, skipped)  # also drops any damaged row for good
    rc, t0 = 0, time.monotonic()
    cli.checkpoint()
    if cases:
        rc = parent.run_cases(cases, run_dir, spec["timing"], not args.no_progress, lock.fd,
                              spec["plugins"])
    counts = _finish_meta(run_dir, expanded, time.monotonic() - t0, rc)
    return summary.report_end(command, run_dir, counts, rc, args.strict)


def _warn_threads(expanded, warn) -> None:
    """One line when a point asks for more threads than this machine has cores."""
    most, cores = max((p.threads for p, _, _ in expanded), default=1), os.cpu_count() or 1
    if most > cores:
        warn(f"--threads {most} is more than the {cores} cores here: the pools share them, "
             "and the times show the contention, not the threads")


def _write_meta(run_dir, spec, run_id, command, argv, cals, expanded=()):
    """meta.json: this run's spec (kept as first written: a run's settings never change),
    what it plans (points and rows: `fwdrev list` shows how far it got) and the
    environment of every session that worked on it."""
    path = run_dir / "meta.json"
    old = store.read_meta(path, {})
    session = meta.gather(timing.REPO, set_threads(1))
    session["command"] = " ".join(["python -m bench", command, *argv])
    defining = {"schema": SCHEMA, "run_id": run_id, "preset": spec["preset"],
                "spec_hash": spec["hash"], "shard": shard.label(spec["shard"]),
                "axes": spec["axes"], "grids": spec["grids"], "timing": spec["timing"],
                "guards": spec["guards"], "tolerance_by_dtype": timing.TOL,
                "plugins": spec["plugins"],
                "planned": {"points": len(expanded), "rows": sum(len(m) for _, m, _ in expanded)}}
    session["calibration"] = {"/".join(map(str, k)): v for k, v in cals.cache.items()}
    session["machine"]["cache_boundary_bytes"] = model.machine_boundary(session["calibration"])
    doc = {**defining, **old, **session, "complete": False,
           "sessions": old.get("sessions", []) + [{"date": session["date"],
                                                     "command": session["command"]}]}
    store.write_json(path, doc)


def _finish_meta(run_dir, expanded, seconds, rc) -> Counter:
    """Mark the run complete when every (point, mode) has a final row; count statuses."""
    rows = store.read_rows(run_dir / "points.csv")
    want = {(p.key(), m) for p, modes, _ in expanded for m in modes}
    have = {(r["point_key"], r["mode"]) for r in rows if r["status"] in (*store.DONE, "skipped")}
    counts = Counter(r["status"] for r in rows)
    counts["noisy"] = noise.count_rows(rows)
    path = run_dir / "meta.json"
    doc = store.read_meta(path, {})
    doc["sessions"][-1].update(seconds=round(seconds, 1), exit_status=rc)
    doc.update(complete=want <= have, finished=meta.utc_now(),
               counts={k: v for k, v in counts.items() if k != "noisy"})
    store.write_json(path, doc)
    return counts
