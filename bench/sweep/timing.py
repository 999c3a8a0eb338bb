"""The measuring harness: pytest-benchmark, driven over a plan of (point, mode) cases.

The sweep writes the plan to a JSON file and runs `pytest bench/sweep/test_points.py` in a child
process (bench.sweep.parent starts and watches it) with pytest-benchmark's options (warm-up
on, max-time, min-rounds, --benchmark-json). Each test checks its point (both modes must
agree), times one mode with `benchmark(call)` — one engine call per round, inputs built
beforehand, the device synchronised inside the call — and writes its row to points.csv at
once, atomically. Run by hand, `pytest bench/ --benchmark-…` times the quick preset the same
way without writing rows.

A child process rather than `pytest.main` in-process, because a sweep may itself run
under pytest (the tests do), and one pytest session per process is what pytest supports.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from bench import rounds, store
from bench.sweep import extras, guards, raw
from bench.meta import utc_now
from bench.points import (Point, agreement, chain_for, eager_reference, predicted_ops, prepare,
                     set_threads)

CHILD_DIR = Path(__file__).resolve().parent
"""bench/sweep/: the child's test_points.py and conftest.py."""
REPO = CHILD_DIR.parents[1]
"""The directory holding the `bench` package: the child runs there, to import this one."""
TOL = {"float64": 1e-8, "float32": 1e-3}
"""Default agreement tolerance (relative error of forward against reverse) per dtype."""


# -- which cases run, which are skipped and why --------------------------------
def cases_to_run(expanded, done, limits: dict, timing: dict, run_id: str,
                 calibrations=extras.OFF):
    """Split the grid into cases to run and rows to record as skipped.

    expanded: [(Point, modes, lines)]; done: {(key, mode)} already measured; calibrations:
    the time model's (extras.Calibrations; OFF: none). Returns (cases, skipped_rows); a case
    is a JSON-able dict the child understands.
    """
    cases, skipped = [], []
    for point, modes, lines in expanded:
        todo = [m for m in modes if (point.key(), m) not in done]
        if not todo:
            continue
        cal = calibrations.for_point(point)
        reason = guards.skip_reason(point, modes, limits, timing, cal)
        est = guards.point_seconds(point, todo, timing, cal)
        tol = limits.get("tol") or TOL.get(point.dtype, 1e-8)
        for mode in todo:
            row = base_row(run_id, point, mode, lines, tol)
            row["time_estimate_s"] = guards.call_seconds(point, mode, cal)
            why = reason or guards.mode_skip_reason(mode, point)
            if why:
                skipped.append({**row, "status": "skipped", "reason": why})
            else:
                cases.append({"point": point.as_dict(), "mode": mode, "lines": lines,
                              "tol": tol, "run_id": run_id, "est_s": est[mode],
                              "call_s": row["time_estimate_s"],
                              "mem": row["mem_estimate_bytes"], "calibration": cal})
    return cases, skipped


def base_row(run_id, point: Point, mode, lines, tol) -> dict:
    """The columns of a row known before anything runs (ops_predicted empty for a peer)."""
    pred = predicted_ops(point, mode)
    return {"run_id": run_id, "point_key": point.key(), **point.as_dict(), "mode": mode,
            "ops_predicted": pred.total if pred is not None else None, "tol": tol,
            "lines": lines, "mem_estimate_bytes": guards.memory_bytes(point, (mode,)),
            "reason": "", "finished_utc": utc_now()}


def case_id(case) -> str:
    """A readable pytest id: target-backend-device[-graph]-dtype-tN-L-m-d-K[-…]-mode."""
    return f"{Point.from_dict(case['point']).label('id')}-{case['mode']}"


def store_key(case) -> str:
    """The point key of a plan case (the key points.csv rows carry)."""
    return Point.from_dict(case["point"]).key()


# -- in the child: one test per case ------------------------------------------------------
class Child:
    """What the child keeps from one case to the next: the point in hand (its chain,
    callables and agreement check, built once for all its modes, and freed when the next
    point comes; the cases run point by point) and the thread count in force (set only
    when a case needs another). One per pytest session (the `fwdrev_child` fixture of
    bench/sweep/conftest.py), passed to each case; a case run alone gets its own."""

    def __init__(self):
        self.key, self.point = None, None
        self.threads, self.pools = None, None

    def pools_for(self, n: int) -> str:
        """Set the pools to n threads (only when that changes); the pools now in force."""
        if self.threads != n:
            info = set_threads(n)
            self.threads = n
            self.pools = f"torch:{info['torch_threads']} " + " ".join(info["pools"])
        return self.pools

    def holding(self, point: Point) -> SimpleNamespace:
        """The state of `point`: a new, empty one when it is another point than the one in
        hand (whose arrays go with it, before the new chain is built)."""
        if self.key != point.key():
            self.key = point.key()
            self.point = SimpleNamespace(calls={}, relerr={}, info={}, error=None, errors={},
                                         chain=None, ref=None)
        return self.point


def _checked(child: Child, point: Point, modes=(), cal=None) -> SimpleNamespace:
    """The point's callables and its agreement check, built once for all its modes.

    forward and reverse run once, untimed, and so does every other mode asked for: each
    answer is compared with reverse mode's (relative error), and each mode's counted
    operations and memory, its measured peak memory and its modelled time are kept for
    the rows (bench.sweep.extras). A mode asked for later on the same point is added then.
    """
    st = child.holding(point)
    want = [m for m in ("reverse", "forward", *modes) if m not in st.calls and m not in st.errors]
    if st.error or not want:
        return st
    try:  # forward and reverse, the reference: a failure there is the whole point's
        st.chain = st.chain or chain_for(point)
        _add(st, point, [m for m in want if m in ("reverse", "forward")], cal)
    except (ValueError, MemoryError, RuntimeError) as e:  # FwdrevError is a ValueError
        st.error = _one_line(e)
        return st
    for m in want:  # every other mode on its own: one that fails fails its own row only
        if m not in ("reverse", "forward"):
            try:
                _add(st, point, [m], cal)
            except (ValueError, MemoryError, RuntimeError) as e:
                st.errors[m] = _one_line(e)
    return st


def _add(st, point, modes, cal) -> None:
    """Prepare `modes` on the point's chain, check each against reverse mode's answer (made
    once per point: eager reverse's, which a graph point's replays are held to too), keep
    its extras."""
    if not modes:
        return
    calls, results = prepare(point, modes=modes, chain=st.chain)
    st.calls.update(calls)
    if st.ref is None:
        st.ref = (eager_reference(point, st.chain) if point.exec != "eager" else
                  results["reverse"] if "reverse" in results else st.calls["reverse"]())
    for m, r in results.items():
        st.relerr[m] = agreement({m: r, "reverse": st.ref}, _backend(point), point.B > 1)
        st.info[m] = extras.describe(point, m, r, st.calls[m], st.chain, cal)


def _one_line(e: Exception) -> str:
    """An exception as `Type: first line of its message`."""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def _backend(point):
    from modes import get_backend
    return get_backend(point.backend, point.device, point.dtype)


def run_case(benchmark, case: dict, out_dir, child: Child | None = None) -> None:
    """Check, time and record one (point, mode), keeping the point in `child` for the next
    case (a new Child when none is given). Used by bench/sweep/test_points.py."""
    import pytest
    point, mode = Point.from_dict(case["point"]), case["mode"]
    benchmark.group = point.key()
    benchmark.extra_info.update({**point.as_dict(), "mode": mode, "lines": case.get("lines")})
    child = Child() if child is None else child
    pools = child.pools_for(point.threads)
    st = _checked(child, point, (mode,), case.get("calibration"))
    row = base_row(case.get("run_id", ""), point, mode, case.get("lines", []), case["tol"])
    relerr = max(st.relerr.get(mode, float("nan")), st.relerr.get("forward", 0.0))
    row.update(thread_pools=pools, grad_relerr=relerr, time_estimate_s=case.get("call_s"),
               **st.info.get(mode, {}))
    if row.get("ops_total") is not None and row["ops_predicted"] is not None:
        # exact: the count equals this row's prediction (none for a mode that predicts none)
        row["ops_exact"] = row["ops_total"] == row["ops_predicted"]
    benchmark.extra_info.update(grad_relerr=relerr, ops_total=row.get("ops_total"))
    err = st.error or st.errors.get(mode)
    if err or not relerr <= case["tol"]:
        why = err or f"modes disagree: relerr {relerr:.3g} > tol {case['tol']:g}"
        _record(out_dir, {**row, "status": "error" if err else "disagree", "reason": why})
        pytest.fail(why, pytrace=False)
    try:
        benchmark(st.calls[mode])
    except Exception as e:  # the engine failed while timed: a row says so, and it is retried
        _record(out_dir, {**row, "status": "error", "reason": _one_line(e)})
        raise
    if benchmark.stats is None:  # --benchmark-disable: the call ran once, untimed
        return
    s = benchmark.stats.stats
    row.update(time_median_s=s.median, time_iqr_s=s.iqr, time_min_s=s.min, time_mean_s=s.mean,
               time_stddev_s=s.stddev, rounds=s.rounds, iterations=benchmark.stats.iterations,
               status="ok", finished_utc=utc_now())
    if out_dir:  # the raw timings first: a row is never kept without them
        record = benchmark.stats.as_dict()
        rounds.save(out_dir, row["point_key"], mode, record["stats"]["data"])
        record["stats"].pop("data", None)  # the rounds live in rounds.json (bench.rounds)
        raw.save_record(out_dir, row["point_key"], mode, record)
    _record(out_dir, row)


def _record(out_dir, row):
    if out_dir:
        store.upsert_rows(Path(out_dir) / "points.csv", [row])
