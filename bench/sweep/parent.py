"""The parent's side of a sweep's timing child (bench.sweep.timing runs in the child): the
child's command line, starting it on a plan, watching it — a progress bar, or one line per
finished point — and stopping it, so that it never outlives an interrupted sweep."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import safefs, store, table
from bench.meta import utc_now
from bench.points import Point
from bench.sweep import raw
from bench.sweep.timing import CHILD_DIR, REPO, store_key


def pytest_args(plan_path: Path, json_path: Path, timing: dict) -> list:
    """The child's command line: pytest-benchmark with warm-up on and this run's limits.

    Every path is absolute, and test_points.py and conftest.py are found beside this module
    (a checkout or an installed wheel alike); `-c os.devnull` and --confcutdir keep any
    pytest configuration or conftest.py of the directories around out of the run."""
    return [sys.executable, "-m", "pytest", str(CHILD_DIR / "test_points.py"),
            "-q", "-p", "no:cacheprovider", "-c", os.devnull, "-o", "addopts=",
            "--rootdir", str(REPO), "--confcutdir", str(CHILD_DIR),
            "--benchmark-only", "--benchmark-warmup=on",
            f"--benchmark-warmup-iterations={timing['warmup_iterations']}",
            f"--benchmark-max-time={timing['max_time']}",
            f"--benchmark-min-rounds={timing['min_rounds']}",
            f"--benchmark-json={Path(json_path).absolute()}", "--benchmark-group-by=group",
            "--benchmark-columns=min,median,iqr,rounds", "--benchmark-sort=name",
            f"--fwdrev-plan={Path(plan_path).absolute()}"]


def run_cases(cases, run_dir: Path, timing: dict, progress=True, lock_fd=None,
              plugins=()) -> int:
    """Time `cases` in a pytest child process; rows land in run_dir/points.csv as they
    finish, their raw timings in pytest-benchmark.json. The child inherits lock_fd (the
    run's lock), so the run stays locked while it lives. Returns the child's exit status
    (130 when interrupted). The child runs in the directory holding this `bench` package,
    so it imports this very package; every path it is given is absolute, the plugin files
    (bench.plugins) too: the child loads them before its first case."""
    run_dir = Path(run_dir).absolute()
    tag = f"{utc_now().replace(':', '').replace('-', '')}-{os.getpid()}-{os.urandom(3).hex()}"
    plan_path, json_path = run_dir / f".plan-{tag}.json", run_dir / f".session-{tag}.json"
    store.write_json(plan_path, {"out": str(run_dir), "cases": cases, "plugins": list(plugins)})
    env = {**os.environ, "FWDREV_PARENT_PID": str(os.getpid())}
    try:
        with safefs.open_append(run_dir / "pytest.log") as log:  # never through a link
            log.write(f"\n===== session {tag}: {len(cases)} benchmarks =====\n")
            log.flush()
            proc = subprocess.Popen(pytest_args(plan_path, json_path, timing), cwd=REPO,
                                    stdout=log, stderr=subprocess.STDOUT, env=env,
                                    pass_fds=() if lock_fd is None else (lock_fd,))
            rc = _watch(proc, cases, run_dir / "points.csv", progress)
    finally:
        plan_path.unlink(missing_ok=True)
        store.remove_stale(run_dir)  # the child's temporary files, if it was killed mid-write
    raw.fold(run_dir)
    return rc


def _watch(proc, cases, csv_path, progress) -> int:
    """Wait for the child as rows appear in points.csv: on a terminal, a progress bar (in
    estimated seconds, so its time-left reflects the cost model) naming the benchmark in
    flight; where stdout is not a terminal (CI logs), one line per finished point."""
    from tqdm import tqdm
    est = {(store_key(c), c["mode"]): c["est_s"] for c in cases}
    before = {(r["point_key"], r["mode"], r["finished_utc"]) for r in store.read_rows(csv_path)}
    seen, lines = set(), _PointLines(cases, enabled=not sys.stdout.isatty())
    # disable=None: no bar where stderr is not a terminal (logs, CI), as tqdm decides.
    bar = tqdm(total=sum(est.values()), disable=None if progress else True,
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
               dynamic_ncols=True, file=sys.stderr, desc=_bar_text(cases, seen))
    stamp = None
    try:
        while True:
            rc = proc.poll()
            now = _stamp(csv_path)
            if now == stamp and rc is None:  # no new row: nothing to read (the child is timing)
                bar.refresh()  # the elapsed time still moves
                time.sleep(0.25)
                continue
            stamp, rows = now, store.read_rows(csv_path)
            for r in rows:
                k = (r["point_key"], r["mode"])
                if k in est and k not in seen and (*k, r["finished_utc"]) not in before:
                    seen.add(k)
                    bar.update(max(0.0, min(est[k], bar.total - bar.n)))  # never past 100 %
            lines.show(rows, seen)
            bar.set_description_str(_bar_text(cases, seen), refresh=True)
            if rc is not None:
                return rc
            time.sleep(0.25)
    except KeyboardInterrupt:
        _stop(proc)
        return 130
    except BaseException:  # never leave the child running
        _stop(proc)
        raise
    finally:
        bar.close()


def _stamp(path):
    """What changes when a row is written: points.csv's (mtime, size), or None."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def _bar_text(cases, seen) -> str:
    """The bar's description: benchmarks done, and the point and mode in flight (the child
    runs the cases in plan order)."""
    head = f"sweep {len(seen)}/{len(cases)}"
    for c in cases:
        if (store_key(c), c["mode"]) not in seen:
            return f"{head} {Point.from_dict(c['point']).label()} {c['mode']}"
    return head


class _PointLines:
    """Prints one line per point once every mode the plan times on it has its row."""

    def __init__(self, cases, enabled: bool):
        self.enabled, self.todo = enabled, {}
        for c in cases:
            self.todo.setdefault(store_key(c), set()).add(c["mode"])

    def show(self, rows, seen) -> None:
        """Print the points finished since the last call (rows: points.csv's rows)."""
        if not self.enabled:
            return
        for key, modes in list(self.todo.items()):
            if all((key, m) in seen for m in modes):
                del self.todo[key]
                print(table.point_line([r for r in rows if r["point_key"] == key]), flush=True)


def _stop(proc):
    """Stop the child: a moment for it to end by itself (a signal to the process group
    reached it too), then SIGTERM (it ends its session like Ctrl-C, losing only the
    benchmark in flight; finished ones are already on disk), then insist."""
    for sig, wait in ((None, 0.3), (signal.SIGTERM, 1.0), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        if sig is not None:
            proc.send_signal(sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
