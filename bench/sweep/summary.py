"""What a sweep prints: its plan in one line before it times anything (a dry run's plan in
full, line by line and benchmark by benchmark), and at its end the counts, what went wrong
and the exit status that follows from them."""
from __future__ import annotations

import sys

from bench import noise, store
from bench.sweep import extras, guards, timing


def plan_line(command, run_id, resuming, expanded, cases, skipped, cals=extras.OFF):
    """The plan in one line: points, benchmarks, and the estimate of the whole sweep —
    the benchmarks' modelled time, the timing child's start-up and each benchmark's set-up
    (guards.overhead_seconds), and the calibration this sweep has just made."""
    total = sum(len(m) for _, m, _ in expanded)
    bench_s = sum(c["est_s"] for c in cases)
    extra = guards.overhead_seconds(cases) + cals.seconds
    if cals.root is not None and not cals.measure:  # a dry run: the calibrations still to make
        extra += guards.CALIBRATE_S * sum(v is None for v in cals.cache.values())
    print(f"{command}: run {run_id}{' (resuming)' if resuming else ''}: {len(expanded)} points, "
          f"{total} benchmarks; {len(cases)} to time (≈{_hms(bench_s + extra)}: timing "
          f"≈{_hms(bench_s)}, set-up and calibration ≈{_hms(extra)}), {len(skipped)} skipped, "
          f"{total - len(cases) - len(skipped)} done", flush=True)



def report_end(command, run_dir, counts, rc, strict, quiet=False) -> int:
    """Print the counts (unless quiet) and what went wrong; the sweep's exit status."""
    parts = ", ".join(f"{counts.get(s, 0)} {s}" for s in store.STATUSES)
    if not quiet:
        print(f"{command}: {parts} → {run_dir / 'points.csv'}")
    if rc == 130:
        print(f"{command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    if counts.get("noisy"):
        print(f"{command}: warning: {noise.warning(counts['noisy'], counts.get('ok', 0))}",
              file=sys.stderr)
    bad = counts.get("disagree", 0) + counts.get("error", 0)
    if rc not in (0, 1) or (rc == 1 and not bad):  # 1: a disagreement or an engine error
        print(f"{command}: the benchmark process failed (exit {rc}); see "
              f"{run_dir / 'pytest.log'}", file=sys.stderr)
        return 1
    if bad:
        print(f"{command}: warning: {bad} benchmark(s) disagree or failed; see the report",
              file=sys.stderr)
    return 1 if (bad and strict) else 0


def show_plan(expanded, cases, skipped, cals) -> int:
    """A dry run's plan: each line's points and benchmarks to time with its estimate, then
    every benchmark, and what the estimate's rates are."""
    per_line = {}
    for c in cases:
        for line in c["lines"]:
            n = per_line.setdefault(line, [set(), 0, 0.0])
            n[0].add(timing.store_key(c))
            n[1] += 1
            n[2] += c["est_s"] + guards.BENCHMARK_SET_UP_S
    names = [l for _, _, lines in expanded for l in lines]
    for line in dict.fromkeys(names):
        pts, n, secs = per_line.get(line, [(), 0, 0.0])
        print(f"  line  {line:44} {len(pts):4} points {n:5} to time  ≈{_hms(secs)}")
    for c in cases:
        print(f"  run   {timing.case_id(c):60} ≈{c['est_s']:.2f} s")
    for r in skipped:
        print(f"  skip  {r['point_key']} {r['mode']}: {r['reason']}")
    if cals.root is None or any(v is None for v in cals.cache.values()):
        print("  rates: no cached calibration here, so one core's typical rates "
              "(bench.sweep.guards.DEFAULT_RATES); a sweep calibrates first (about 10-30 s)")
    else:
        print(f"  rates: the cached calibration under {cals.root / 'calibration'}")
    return 0


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
