"""CI regression gate: forward/reverse time ratios and exact counts against a baseline.

    python -m bench regress  [--baseline PATH] [--inject-slowdown MODE=FACTOR] [--counts-only]
                             [--point KEY] [--pairs N] [--allow-other-machine] [--json PATH]
    python -m bench baseline [--out PATH] [--runs N] [--pairs N] [--block N]

`regress` does two checks on a fixed set of gate points (GATE_POINTS):

- the exact gate: every point's counted operations (mults, adds, total, per mode) must equal
  the baseline's and modes.predict's exactly; any difference fails, deterministically;
- the timing gate: in one process, forward and reverse are timed alternately (the order flips
  every pair), each sample a fixed block of calls; the point's statistic is the median of the
  per-pair ratios t_forward / t_reverse with a seeded bootstrap interval. Absolute times on a
  shared machine swing by tens of percent between runs; the in-process ratio holds to a few.
  A point regresses when its whole interval lies outside the baseline's tolerance band
  (bench.gate). Any point not "ok" at first is re-measured once, with twice the pairs, and
  the re-measurement decides: a burst of load from a neighbour on a shared machine was seen
  to move one point's ratio by 20% for one measurement, and a false alarm now needs two in a
  row, while a real change shows in both. A point whose interval still crosses a band edge
  is reported as "undecided" and does not fail the run (noise alone must not fail CI; a
  real 1.5x change lands far outside the band with a narrow interval).

`baseline` re-records results/baseline.json on purpose (nothing else writes it): it measures
the points in `--runs` separate processes, takes the median of the run medians as the
baseline ratio and sets each point's tolerance from the run-to-run spread it saw
(bench.gate.tolerance_for); it records the machine, versions, date and settings.

`--inject-slowdown MODE=FACTOR` is the canary: MODE's timed sample does FACTOR times the
engine calls of the other mode's (block·FACTOR calls instead of block; a remainder that is
not a whole call is done by points.prepare's fractional chain). 1.5 must fail, 1.0 pass.

Exit codes:
    0  pass (undecided points, if any, are printed as warnings)
    1  timing regression: a point's interval lies wholly outside its band
    2  usage error (bad option or --inject-slowdown value)
    3  baseline missing, unreadable or malformed
    4  baseline recorded on another kind of machine (CPU model, CPU count, architecture)
    5  exact gate failed: a count differs from the baseline or modes.predict, or an engine
       call failed (takes precedence over 1 when both happen)
    6  unknown point: the baseline's points differ from the gate's, or --point names a
       point that is not gated
`baseline` returns 0 when written, 1 when a measuring process failed, 2 on a usage error,
5 when a count disagrees with modes.predict (it never records such counts).
Through make, any non-zero code reads as make's own 2; call python -m bench for the code.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import gate, meta
from bench.points import Point, predicted_ops, prepare, set_threads

EXIT_OK, EXIT_REGRESSED, EXIT_USAGE, EXIT_BASELINE, EXIT_MACHINE, EXIT_COUNTS, EXIT_POINT = range(7)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "results" / "baseline.json"

# Gate points: small enough for the whole gate to take seconds, large enough that forward's
# matrix work dominates its call so the ratio is well above 1 (a forward engine losing its
# BLAS path, or a reverse engine materialising matrices, moves it a lot), and chosen from a
# study of 14 candidates in 8 separate processes each for the smallest run-to-run spread
# (1.5-4.8% here). Both backends, both the input-gradient and params targets. Params keeps
# m small because forward accumulation of J_O grows as m²·(md + L·m²), and because larger
# J_O blocks (numpy m=48, torch m=48, numpy L=3 m=32) were bimodal between processes (up to
# 3x, with the process's allocator history; torch L=3 m=32 read 2.9 or 3.5-5.4 depending on
# what ran before it), which no band can tolerate without going blind.
GATE_POINTS = (
    Point(backend="numpy", target="gradient", L=3, m=128, d=128, K=1),
    Point(backend="torch", target="gradient", L=2, m=256, d=256, K=1),
    Point(backend="numpy", target="params", L=2, m=24, d=24, K=1),
    Point(backend="torch", target="params", L=2, m=32, d=32, K=1),
)

DEFAULTS = {"threads": 1, "block": 4, "pairs": 300, "runs": 5, "n_boot": 2000, "seed": 0}
WARMUP_BLOCKS = 5
MODES = ("forward", "reverse")


class UsageError(ValueError):
    """A bad command-line value (exit 2)."""


# -- describing the machine ------------------------------------------------------------------
def machine_fingerprint() -> dict:
    """The kind of machine: CPU model, logical CPU count, architecture (checked), and the
    widest SIMD level the CPU reports (recorded only)."""
    flags = meta.cpu_flags()
    simd = next((s for s in ("avx512f", "avx2", "avx", "sse4_2") if s in flags), "none")
    return {"cpu_model": meta.cpu_model(), "cpus": os.cpu_count(), "arch": platform.machine(),
            "simd": simd}


def versions() -> dict:
    """Python, library and BLAS versions (recorded; a difference is only warned about)."""
    v = meta.versions()
    return {"python": v["python"], "numpy": v["numpy"], "torch": v["torch"],
            "blas": meta.blas_versions()}


def label(point: Point) -> str:
    """A short name for tables and messages (the key stays the point's identity)."""
    return f"{point.backend}/{point.target} L={point.L} m={point.m} d={point.d} K={point.K}"


# -- exact counts -----------------------------------------------------------------------------
def exact_counts(point: Point) -> dict:
    """{mode: {mults, adds, total}} of one untimed engine call per mode."""
    calls = prepare(point, modes=MODES)
    return {mode: _counts(calls[mode]().ops) for mode in MODES}


def _counts(ops) -> dict:
    return {"mults": int(ops.mults), "adds": int(ops.adds), "total": int(ops.total)}


def count_gate(points, baseline_points: dict) -> list:
    """Messages for every count that differs from the baseline or modes.predict."""
    problems = []
    for p in points:
        measured = exact_counts(p)
        for mode in MODES:
            problems += gate.count_mismatches(label(p), mode, measured[mode],
                                              baseline_points[p.key()]["counts"][mode],
                                              _counts(predicted_ops(p, mode)))
    return problems


# -- timing ----------------------------------------------------------------------------------------
def sample_callables(point: Point, block: int, factors=None, seed=0) -> dict:
    """{mode: zero-argument callable timing one sample}: `block` engine calls, or block·FACTOR
    for a slowed mode (the canary). Whole calls of the point itself make the slow-down exact:
    each call's fixed overhead scales with it, which a smaller extra chain does not do."""
    factors = factors or {}
    plain = prepare(point, modes=MODES, seed=seed)
    seq = {}
    for mode in MODES:
        n = block * factors.get(mode, 1.0)
        whole = int(math.floor(n + 1e-9))
        frac = n - whole
        if whole < 1:
            raise UsageError(f"--inject-slowdown {mode}={factors.get(mode)} leaves less than one "
                             f"call per sample (block {block})")
        calls = [plain[mode]] * whole
        if frac > 1e-9:  # the remainder: one call doing 1 + frac of the work
            calls[-1] = prepare(point, modes=(mode,), seed=seed, repeat={mode: 1 + frac})[mode]
        seq[mode] = calls

    def timer(calls):
        def run():
            t0 = time.perf_counter()
            for c in calls:
                c()
            return time.perf_counter() - t0
        return run
    return {mode: timer(seq[mode]) for mode in MODES}


def measure_ratios(point: Point, pairs: int, block: int, factors=None, seed=0):
    """Per-pair ratios t_forward / t_reverse, timed alternately with the order flipped every
    pair, plus the median per-call times (seconds) for information."""
    run = sample_callables(point, block, factors, seed)
    for _ in range(WARMUP_BLOCKS):
        run["forward"]()
        run["reverse"]()
    ratios, tf_all, tr_all = [], [], []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # a collection inside one sample but not its partner skews a pair
    try:
        for i in range(pairs):
            if i % 2 == 0:
                tf = run["forward"]()
                tr = run["reverse"]()
            else:
                tr = run["reverse"]()
                tf = run["forward"]()
            ratios.append(tf / tr)
            tf_all.append(tf / block)
            tr_all.append(tr / block)
    finally:
        if was_enabled:
            gc.enable()
    return ratios, gate.median(tf_all), gate.median(tr_all)


def measure_all(points, pairs, block, threads, factors=None, seed=0) -> dict:
    """{key: {"ratios", "t_forward", "t_reverse"}} for every point, threads pinned first."""
    set_threads(threads)
    out = {}
    for p in points:
        ratios, tf, tr = measure_ratios(p, pairs, block, factors, seed)
        out[p.key()] = {"ratios": ratios, "t_forward": tf, "t_reverse": tr}
    return out


# -- the baseline file --------------------------------------------------------------------------------
def load_baseline(path) -> dict:
    """Read and strictly validate a baseline; gate.BaselineError with one line otherwise."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise gate.BaselineError(f"no baseline at {path} (record one with `make baseline`)") from None
    except OSError as e:
        raise gate.BaselineError(f"cannot read baseline {path}: {e.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise gate.BaselineError(f"baseline {path} is not valid JSON (line {e.lineno}: {e.msg})") from None
    try:
        return gate.validate_baseline(doc, Point.from_dict)
    except gate.BaselineError as e:
        raise gate.BaselineError(f"baseline {path}: {e}") from None


def write_baseline(path, doc):
    """Write atomically, so an interrupted `make baseline` never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


# -- commands ---------------------------------------------------------------------------------------------
def parse_slowdowns(items) -> dict:
    """["forward=1.5", ...] -> {"forward": 1.5}; UsageError on anything else."""
    out = {}
    for item in items or ():
        mode, sep, val = item.partition("=")
        if not sep or mode not in MODES:
            raise UsageError(f"--inject-slowdown wants MODE=FACTOR with MODE in {', '.join(MODES)}, "
                             f"got {item!r}")
        try:
            f = float(val)
        except ValueError:
            raise UsageError(f"--inject-slowdown {mode}: FACTOR must be a number, got {val!r}") from None
        if not (math.isfinite(f) and f > 0):
            raise UsageError(f"--inject-slowdown {mode}: FACTOR must be positive, got {val!r}")
        out[mode] = f
    return out


def _parser(command):
    ap = argparse.ArgumentParser(prog=f"python -m bench {command}",
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("Exit codes:"):])
    if command == "baseline":
        ap.add_argument("--out", default=str(BASELINE), help="where to write (default %(default)s)")
        ap.add_argument("--runs", type=int, default=DEFAULTS["runs"],
                        help="separate processes measured, for the run-to-run spread")
        ap.add_argument("--pairs", type=int, default=DEFAULTS["pairs"], help="pairs per point per run")
        ap.add_argument("--block", type=int, default=DEFAULTS["block"], help="calls per sample")
        return ap
    ap.add_argument("--baseline", default=str(BASELINE), help="baseline file (default %(default)s)")
    ap.add_argument("--inject-slowdown", action="append", metavar="MODE=FACTOR", default=[],
                    help="canary: MODE does FACTOR times its work inside its timed sample")
    ap.add_argument("--counts-only", action="store_true", help="only the exact-count gate")
    ap.add_argument("--point", action="append", default=[], metavar="KEY",
                    help="gate only this point (its key or short label; repeatable)")
    ap.add_argument("--pairs", type=int, help="pairs per point (default: the baseline's)")
    ap.add_argument("--allow-other-machine", action="store_true",
                    help="warn instead of exit 4 when the machine differs from the baseline's")
    ap.add_argument("--json", metavar="PATH", help="also write the measurements here")
    return ap


def main(argv=None, command="regress") -> int:
    """Entry point of `python -m bench regress|baseline`; returns the exit code."""
    try:
        args = _parser(command).parse_args(argv)
    except SystemExit as e:  # argparse: 0 for --help, 2 for a bad option
        return int(e.code or 0)
    try:
        return run_baseline(args) if command == "baseline" else run_regress(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except gate.BaselineError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BASELINE
    except gate.MachineMismatch as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_MACHINE
    except gate.UnknownPoint as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_POINT


def _select(points, wanted):
    """The gate points named by --point (key or short label), all of them when none is."""
    if not wanted:
        return list(points)
    by_name = {**{p.key(): p for p in points}, **{label(p): p for p in points}}
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        raise gate.UnknownPoint(f"not a gate point: {', '.join(unknown)} "
                                f"(gate points: {'; '.join(label(p) for p in points)})")
    return [by_name[w] for w in wanted]


def run_regress(args) -> int:
    """Validate the baseline, run the exact gate, then the timing gate; print one table."""
    factors = parse_slowdowns(args.inject_slowdown)
    if args.pairs is not None and args.pairs < 1:
        raise UsageError(f"--pairs must be at least 1, got {args.pairs}")
    t_start = time.perf_counter()
    base = load_baseline(args.baseline)
    try:
        gate.check_machine(base["machine"], machine_fingerprint())
    except gate.MachineMismatch as e:
        if not args.allow_other_machine:
            raise
        print(f"warning: {e}")
    gate.check_points([p["key"] for p in base["points"]], [p.key() for p in GATE_POINTS])
    points = _select(GATE_POINTS, args.point)
    by_key = {p["key"]: p for p in base["points"]}
    _warn_versions(base["versions"])
    s = base["settings"]
    set_threads(s["threads"])

    try:
        problems = count_gate(points, by_key)
    except ValueError as e:  # FwdrevError from an engine: the exact gate cannot pass
        problems = [f"engine call failed: {e}"]
    for msg in problems:
        print(f"COUNT MISMATCH {msg}")
    if not problems:
        print(f"exact gate: counts of {len(points)} point(s) x 2 modes equal the baseline and modes.predict")
    if args.counts_only:
        return EXIT_COUNTS if problems else EXIT_OK

    if factors:
        print("canary: " + ", ".join(f"{m} x{f:g}" for m, f in factors.items()))
    pairs = args.pairs or s["pairs"]
    rows = _time_points(points, by_key, s, pairs, factors)
    _print_table(rows, s, pairs)
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
        except OSError as e:  # the verdict stands; the extra copy is only information
            print(f"warning: cannot write {args.json}: {e.strerror}")
    return _conclude(rows, problems, time.perf_counter() - t_start)


def _time_points(points, by_key, s, pairs, factors) -> list:
    """One row per point: measured, and if not ok re-measured once with twice the pairs
    (the re-measurement's verdict stands; the first is kept in the row as `first`)."""
    rows = []
    for p in points:
        b = by_key[p.key()]
        row = _time_one(p, b, s, pairs, factors)
        if row["verdict"] != gate.OK:
            print(f"{label(p)}: {row['verdict']} at first, ratio {row['ratio']:.3f} "
                  f"[{row['lo']:.3f}, {row['hi']:.3f}] vs band [{row['band'][0]:.3f}, "
                  f"{row['band'][1]:.3f}]; re-measuring with {2 * pairs} pairs")
            first = row
            row = _time_one(p, b, s, 2 * pairs, factors)
            row["remeasured"] = True
            row["first"] = {k: first[k] for k in ("ratio", "lo", "hi", "verdict", "pairs")}
        rows.append(row)
    return rows


def _time_one(p, b, s, pairs, factors) -> dict:
    m = measure_all([p], pairs, s["block"], s["threads"], factors, s["seed"])[p.key()]
    summ, band, v = gate.decide(m["ratios"], b["ratio"], b["tol"], n_boot=s["n_boot"], seed=s["seed"])
    return {"point": label(p), "key": p.key(), "baseline": b["ratio"], "tol": b["tol"],
            "band": list(band), "ratio": summ.median, "lo": summ.lo, "hi": summ.hi,
            "pairs": pairs, "verdict": v, "t_forward": m["t_forward"], "t_reverse": m["t_reverse"],
            "remeasured": False}


def _print_table(rows, s, pairs):
    w = max(len(r["point"]) for r in rows)
    print(f"\nforward/reverse time ratio, median of {pairs} interleaved pairs "
          f"(block {s['block']}, {s['threads']} thread), 95% bootstrap interval")
    print(f"{'point':{w}}  {'baseline':>8}  {'band':^17}  {'measured':>8}  {'interval':^17}  verdict")
    for r in rows:
        note = " (re-measured)" if r["remeasured"] else ""
        print(f"{r['point']:{w}}  {r['baseline']:8.3f}  [{r['band'][0]:6.3f}, {r['band'][1]:6.3f}]  "
              f"{r['ratio']:8.3f}  [{r['lo']:6.3f}, {r['hi']:6.3f}]  {r['verdict']}{note}")


def _conclude(rows, problems, elapsed) -> int:
    bad = [r for r in rows if gate.fails(r["verdict"])]
    for r in rows:
        if r["verdict"] == gate.UNDECIDED:
            print(f"warning: {r['point']} too noisy to decide (interval [{r['lo']:.3f}, {r['hi']:.3f}] "
                  f"crosses the band); not counted as a regression")
    for r in bad:
        way = "forward slower relative to reverse" if r["verdict"] == gate.UP \
            else "reverse slower relative to forward"
        print(f"REGRESSED {r['point']}: {r['verdict']} ({way}): ratio {r['ratio']:.3f} "
              f"[{r['lo']:.3f}, {r['hi']:.3f}] vs band [{r['band'][0]:.3f}, {r['band'][1]:.3f}]")
    print(f"gate took {elapsed:.1f} s")
    if problems:
        print(f"FAIL: exact gate, {len(problems)} count mismatch(es)")
        return EXIT_COUNTS
    if bad:
        print(f"FAIL: {len(bad)} point(s) regressed")
        return EXIT_REGRESSED
    print("PASS")
    return EXIT_OK


def _warn_versions(recorded: dict):
    here = versions()
    diff = [f"{k} {recorded.get(k)} -> {v}" for k, v in here.items() if recorded.get(k) != v]
    if diff:
        print("warning: versions differ from the baseline's: " + "; ".join(map(str, diff)))


# -- recording the baseline ---------------------------------------------------------------------
def run_baseline(args) -> int:
    """Measure every gate point in `runs` separate processes and write the baseline."""
    for k in ("runs", "pairs", "block"):
        if getattr(args, k) < 1:
            raise UsageError(f"--{k} must be at least 1, got {getattr(args, k)}")
    s = {**DEFAULTS, "runs": args.runs, "pairs": args.pairs, "block": args.block}
    in_force = set_threads(s["threads"])
    runs = []
    for i in range(s["runs"]):
        t0 = time.perf_counter()
        try:
            runs.append(_child_run(s))
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_REGRESSED
        meds = "  ".join(f"{gate.median(runs[-1]['timing'][p.key()]['ratios']):.3f}" for p in GATE_POINTS)
        print(f"run {i + 1}/{s['runs']} ({time.perf_counter() - t0:.1f} s): {meds}", flush=True)
    counts = runs[0]["counts"]
    problems = [m for p in GATE_POINTS for mode in MODES for m in gate.count_mismatches(
        label(p), mode, counts[p.key()][mode], counts[p.key()][mode], _counts(predicted_ops(p, mode)))]
    problems += [f"counts differ between baseline runs at {label(p)}" for p in GATE_POINTS
                 if any(r["counts"][p.key()] != counts[p.key()] for r in runs)]
    if problems:  # never record counts that already disagree with the closed forms
        print("error: " + "; ".join(problems), file=sys.stderr)
        return EXIT_COUNTS
    runs = [r["timing"] for r in runs]
    doc = {"schema": gate.SCHEMA, "machine": machine_fingerprint(), "versions": versions(),
           "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "settings": {**s, "threads_in_force": in_force},
           "tolerance_rule": {"floor": gate.TOL_FLOOR, "cap": gate.TOL_CAP, "k": gate.SPREAD_K,
                              "spread": "max |ln(run median / median of run medians)|"},
           "points": [_baseline_point(p, runs, counts[p.key()], s) for p in GATE_POINTS]}
    write_baseline(args.out, doc)
    for bp in doc["points"]:
        capped = "  (spread beyond the cap: consider another point)" \
            if gate.SPREAD_K * bp["spread"] > gate.TOL_CAP else ""
        print(f"{label(Point.from_dict(bp['point'])):40} ratio {bp['ratio']:7.3f}  "
              f"spread {100 * bp['spread']:5.1f}%  tol {100 * bp['tol']:4.1f}%{capped}")
    print(f"wrote {args.out}")
    return EXIT_OK


def _baseline_point(p, runs, counts, s) -> dict:
    run_meds = [gate.median(r[p.key()]["ratios"]) for r in runs]
    halfwidths = [gate.summarize(r[p.key()]["ratios"], n_boot=s["n_boot"], seed=s["seed"]).rel_halfwidth
                  for r in runs]
    spread = gate.run_spread(run_meds)
    return {"point": p.as_dict(), "key": p.key(), "ratio": gate.median(run_meds),
            "tol": gate.tolerance_for(spread), "spread": spread, "run_medians": run_meds,
            "ci_rel_halfwidths": halfwidths,
            "t_forward_ms": 1e3 * gate.median([r[p.key()]["t_forward"] for r in runs]),
            "t_reverse_ms": 1e3 * gate.median([r[p.key()]["t_reverse"] for r in runs]),
            "counts": counts}


def _child_run(s) -> dict:
    """One measurement of all gate points in a fresh process: run-to-run spread includes what
    differs between processes (memory layout, allocator state), as it does between CI runs."""
    cmd = [sys.executable, "-m", "bench.regress", "--child", json.dumps(s)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"measuring child failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout)


def _child_main(settings_json: str) -> int:
    """Do what `regress` does, in the same order (counts of every point, then timing point by
    point): a gate point's timing was seen to depend on the allocations that ran before it
    in the process, so the baseline must see the same history as the gate."""
    s = json.loads(settings_json)
    set_threads(s["threads"])
    counts = {p.key(): exact_counts(p) for p in GATE_POINTS}
    timing = measure_all(GATE_POINTS, s["pairs"], s["block"], s["threads"], seed=s["seed"])
    print(json.dumps({"counts": counts, "timing": timing}))
    return 0


if __name__ == "__main__":  # only the baseline's child processes run this module directly
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2]))
    sys.exit(main(sys.argv[1:]))
