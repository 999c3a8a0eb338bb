"""CI regression gate: what each engine adds to the same products, and exact counts.

    python -m bench regress  [--baseline PATH] [--inject-slowdown MODE=FACTOR|MODE=+AMOUNT]
                             [--counts-only] [--point KEY] [--blocks N]
                             [--json PATH] [--summary PATH] [--junit PATH]
    python -m bench baseline [--out PATH] [--runs N] [--blocks N]

`regress` does two checks against results/baseline.json:

- the exact gate: every gate point's counted operations (mults, adds, total, per mode) must
  equal the baseline's and modes.predict's exactly; any difference fails, deterministically;
- the timing gate: per check and mode, at large sizes (the arithmetic dominates) and at small
  ones (L2 m16 d16 K10, L3 m64 d32: a call's fixed cost dominates, so a change that adds
  microseconds to every call shows), the engine call and a reference doing the same
  products directly on the backend (bench/gate/reference.py) are timed in ABBA blocks on
  the same arrays; the statistic is the median per-block ratio t_engine / t_reference with
  a seeded bootstrap interval. The CPU and the BLAS kernel set how fast the products run,
  for engine and reference alike, so the ratio measures only what the engine adds: it held
  within a few percent across four OpenBLAS kernels whose GEMM rates differ 4.5x. A ratio
  fails when its whole interval lies above the baseline's band; one not "ok" at first is
  re-measured once with twice the blocks, and the re-measurement decides. "undecided"
  (the interval crosses an edge) and "faster" are warnings, not failures.

The raw forward/reverse time ratio, the operation ratio and the forward/reverse ratio
normalised by the reference's are printed beside it, as information.

`baseline` re-records results/baseline.json on purpose (nothing else writes it): `--runs`
separate processes, the median of the run medians as the baseline ratio, each tolerance from
the run-to-run spread (bench.gate.stats.tolerance_for), and the machine's fingerprint (CPU,
BLAS kernel, versions) for information: the fingerprint decides nothing.

`--inject-slowdown MODE=FACTOR` is the canary: every engine call of MODE takes FACTOR times
its own time (whole calls, then a busy wait for the fraction). 1.25 must fail, 1.0 pass.
`MODE=+20us` adds 20 µs of busy waiting to every call (bench.gate.canary): the small checks
must catch it. MODE is forward, reverse or cheapest (timed at the smallest size only).

`--json PATH`, `--summary PATH` (and $GITHUB_STEP_SUMMARY) and `--junit PATH` write the
outcome for CI (bench.gate.output), with --counts-only too.

Exit codes:
    0  pass (undecided or faster ratios, if any, are printed as warnings)
    1  timing regression: an engine/reference ratio's interval lies wholly above its band
    2  usage error (bad option or --inject-slowdown value)
    3  baseline missing, unreadable, malformed or of the old schema
    5  exact gate failed: a count differs from the baseline or modes.predict, or an engine
       call failed (takes precedence over 1 when both happen)
    6  unknown point: the baseline's checks differ from the gate's, or --point names a
       point that is not gated
    (4, "baseline from another machine", is retired: the timing gate runs on any machine.)
`baseline` returns 0 when written, 1 when a measuring process failed, 2 on a usage error,
3 when it cannot write --out, 5 when a count disagrees with modes.predict (never recorded).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.cmdline import Parser, prog
from bench.errors import BenchError
from bench import meta
from bench.errors import UsageError
from bench.gate import baseline as bl
from bench.gate import canary, measure, output, show, stats
from bench.gate.gates import count_gate, time_mode

EXIT_OK, EXIT_REGRESSED, EXIT_USAGE, EXIT_BASELINE, EXIT_COUNTS, EXIT_POINT = 0, 1, 2, 3, 5, 6

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "results" / "baseline.json"  # the repository's committed baseline
DEFAULT_BASELINE = Path("results") / "baseline.json"  # where the commands look: the working directory
DEFAULTS = {"threads": 1, "blocks": 40, "runs": 5, "n_boot": 2000, "seed": 0}


def parse_slowdowns(items) -> dict:
    """["forward=1.5", "reverse=+20us", ...] -> {mode: (factor, add_s)} (bench.gate.canary)."""
    return canary.parse(items, measure.MODES)


def _parser(command):
    ap = Parser(prog=prog(command), description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog=__doc__[__doc__.index("Exit codes:"):])
    blocks = dict(type=int, metavar="N", help="ABBA blocks per check and mode (default: "
                  f"the baseline's, {DEFAULTS['blocks']} when recording)")
    if command == "baseline":
        ap.add_argument("--out", default=str(DEFAULT_BASELINE),
                        help="where to write, from the working directory (default %(default)s)")
        ap.add_argument("--runs", type=int, default=DEFAULTS["runs"], metavar="N",
                        help="separate processes measured, for the run-to-run spread (default %(default)s)")
        ap.add_argument("--blocks", default=DEFAULTS["blocks"], **blocks)
        return ap
    ap.add_argument("--baseline", default=str(DEFAULT_BASELINE),
                    help="baseline file, from the working directory (default %(default)s)")
    ap.add_argument("--inject-slowdown", action="append", metavar="MODE=FACTOR|MODE=+AMOUNT",
                    default=[], help="canary: every MODE engine call takes FACTOR (>= 1) times "
                    "as long, or AMOUNT longer (+20us; units ns, us, ms, s); repeatable")
    ap.add_argument("--counts-only", action="store_true", help="only the exact-count gate")
    ap.add_argument("--point", action="append", default=[], metavar="KEY",
                    help="gate only this point (its key or short label; repeatable)")
    ap.add_argument("--blocks", **blocks)
    output.add_arguments(ap)
    return ap


def main(argv=None, command="regress") -> int:
    """Entry point of `python -m bench regress|baseline`; returns the exit code."""
    try:
        args = _parser(command).parse_args(argv)
    except SystemExit as e:  # argparse: 0 for --help
        return int(e.code or 0)
    except BenchError as e:  # a bad option: one line
        return _error(e, EXIT_USAGE)
    try:
        if command == "baseline":
            return run_baseline(args)
        output.check_paths(args)  # before anything runs: a bad path writes nothing
    except UsageError as e:
        return _error(e, EXIT_USAGE)
    except bl.BaselineError as e:
        return _error(e, EXIT_BASELINE)
    try:
        return run_regress(args)
    except UsageError as e:
        return _error(e, EXIT_USAGE)
    except (bl.BaselineError, bl.UnknownPoint) as e:
        code = EXIT_BASELINE if isinstance(e, bl.BaselineError) else EXIT_POINT
        output.write_all(args, output.document(code, meta.fingerprint(), [], [], error=str(e)))
        return _error(e, code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _error(e, code) -> int:
    print(f"error: {e}", file=sys.stderr)
    return code


def _select(checks, wanted):
    """The checks named by --point (key or short label), all of them when none is."""
    if not wanted:
        return list(checks)
    by_name = {**{c.point.key(): c for c in checks}, **{c.point.label("short"): c for c in checks}}
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        raise bl.UnknownPoint(f"not a gate point: {', '.join(unknown)} "
                              f"(gate points: {'; '.join(c.point.label('short') for c in checks)})")
    return [by_name[w] for w in wanted]


def _positive(name, value):
    if value is not None and value < 1:
        raise UsageError(f"--{name} must be at least 1, got {value}")


# -- regress ---------------------------------------------------------------------------------------
def run_regress(args) -> int:
    """Validate the baseline, run the exact gate, then the timing gate; print one table and
    write what --json, --summary, --junit (and $GITHUB_STEP_SUMMARY) ask for."""
    canaries = parse_slowdowns(args.inject_slowdown)
    _positive("blocks", args.blocks)
    t_start = time.perf_counter()
    base = bl.load(args.baseline)
    bl.check_matches(base, measure.CHECKS, measure.CHECKS + measure.COUNT_ONLY)
    checks = _select(measure.CHECKS, args.point)
    counted = checks + [c for c in measure.COUNT_ONLY if not args.point]
    here = meta.fingerprint()
    show.print_fingerprint_diff(base["fingerprint"], here)
    s = base["settings"]
    measure.set_threads(s["threads"])

    count_rows = count_gate(counted, {c["key"]: c["counts"] for c in base["counts"]})
    problems = [msg for r in count_rows for msg in r["problems"]]
    for msg in problems:
        print(f"COUNT MISMATCH {msg}")
    if not problems:
        print(f"exact gate: counts of {len(counted)} point(s) equal the baseline and modes.predict")
    rows = []
    if not args.counts_only:
        if canaries:
            print("canary: " + canary.describe(canaries))
        blocks = args.blocks or s["blocks"]
        by_key = {c["key"]: c["modes"] for c in base["checks"]}
        try:
            rows = [time_mode(c, mode, by_key[c.point.key()][mode], s, blocks,
                              canaries.get(mode, (1.0, 0.0)))
                    for c in checks for mode in c.modes]
        except ValueError as e:  # the reference disagrees with the engine, or an engine failed
            print(f"error: {e}", file=sys.stderr)
            output.write_all(args, output.document(EXIT_COUNTS, here, count_rows, [], error=str(e)))
            return EXIT_COUNTS
        show.print_table(rows, s, blocks)
        show.print_information(rows, base)
    code = _conclude(rows, problems, time.perf_counter() - t_start)
    output.write_all(args, output.document(code, here, count_rows, rows,
                                           canaries=canary.describe(canaries)))
    return code


def _conclude(rows, problems, elapsed) -> int:
    bad = [r for r in rows if stats.fails(r["verdict"])]
    for r in rows:
        if r["verdict"] == stats.UNDECIDED:
            print(f"warning: {r['point']} {r['mode']} too noisy to decide (interval "
                  f"[{r['lo']:.3f}, {r['hi']:.3f}] crosses the band); not counted as a regression")
        if r["verdict"] == stats.FASTER:
            print(f"note: {r['point']} {r['mode']} engine is leaner than the baseline "
                  f"({r['ratio']:.3f} < {r['band'][0]:.3f}); re-record with `make baseline`")
    for r in bad:
        print(f"REGRESSED {r['point']} {r['mode']}: the engine takes {r['ratio']:.3f}x the "
              f"reference [{r['lo']:.3f}, {r['hi']:.3f}], band [{r['band'][0]:.3f}, {r['band'][1]:.3f}]")
    print(f"gate took {elapsed:.1f} s")
    if problems:
        print(f"FAIL: exact gate, {len(problems)} count mismatch(es)")
        return EXIT_COUNTS
    if bad:
        print(f"FAIL: {len(bad)} engine/reference ratio(s) regressed")
        return EXIT_REGRESSED
    print("PASS")
    return EXIT_OK


# -- baseline --------------------------------------------------------------------------------------
def run_baseline(args) -> int:
    """Measure every check in `runs` separate processes and write the baseline."""
    for k in ("runs", "blocks"):
        _positive(k, getattr(args, k))
    if Path(args.out).is_dir():
        raise bl.BaselineError(f"--out {args.out} is a directory; give a file name")
    s = {**DEFAULTS, "runs": args.runs, "blocks": args.blocks}
    in_force = measure.set_threads(s["threads"])
    runs = []
    for i in range(s["runs"]):
        t0 = time.perf_counter()
        try:
            runs.append(bl.child_run(s))
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_REGRESSED
        meds = "  ".join(f"{stats.median(runs[-1]['timing'][c.point.key()][m]['ratios']):.3f}"
                         for c in measure.CHECKS for m in c.modes)
        print(f"run {i + 1}/{s['runs']} ({time.perf_counter() - t0:.1f} s): {meds}", flush=True)
    counted = measure.CHECKS + measure.COUNT_ONLY
    counts = runs[0]["counts"]
    problems = [msg for c in counted for mode, want in measure.predicted_counts(c).items()
                for msg in stats.count_mismatches(c.point.label("short"), mode,
                                                  counts[c.point.key()][mode],
                                                  counts[c.point.key()][mode], want)]
    problems += [f"counts differ between baseline runs at {c.point.label('short')}" for c in counted
                 if any(r["counts"][c.point.key()] != counts[c.point.key()] for r in runs)]
    if problems:  # never record counts that already disagree with the closed forms
        print("error: " + "; ".join(problems), file=sys.stderr)
        return EXIT_COUNTS
    timing = [r["timing"] for r in runs]
    doc = {"schema": bl.SCHEMA, "fingerprint": meta.fingerprint(), "date": meta.utc_now(),
           "settings": {**s, "threads_in_force": in_force},
           "tolerance_rule": {"floor": stats.TOL_FLOOR, "cap": stats.TOL_CAP, "k": stats.SPREAD_K,
                              "spread": "max |ln(run median / median of run medians)|"},
           "checks": [bl.check_entry(c, timing, s) for c in measure.CHECKS],
           "counts": [{"point": c.point.as_dict(), "key": c.point.key(),
                       "counts": counts[c.point.key()]} for c in counted]}
    try:
        bl.write(args.out, doc)
    except OSError as e:
        raise bl.BaselineError(f"cannot write {args.out}: {e.strerror}") from None
    show.print_baseline(doc)
    print(f"wrote {args.out}")
    return EXIT_OK
