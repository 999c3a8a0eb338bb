"""The results store under damage, concurrency, signals and misuse: a damaged file is
named and blocks only its own run, a partial row is never kept, two sweeps never write one
run, SIGINT and SIGTERM stop a sweep at once keeping every finished row and its raw
timings, bad paths are one line, and a run's settings never change under it.

Everything runs in tmp_path with the smallest sweeps there are (sweep_helpers.MICRO);
most tests time nothing at all (a run where every point is skipped, or a finished run).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import cmdline as cli, report, rounds, store, sweep
from bench.sweep import raw, runs
from bench.points import Point
from bench.sweep.runlock import RunLock
from sweep_helpers import MICRO, copy_run, run_sweep

REPO = Path(__file__).resolve().parents[1]
SKIP_ALL = [*MICRO, "--mem-budget-gb", "1e-9"]
"""MICRO with every point skipped by the memory guard: a sweep that times nothing."""
LONGER = ["--L", "1,2,3", "--m", "4,8,16,24", "--d", "m", "--max-time", "0.05",
          "--min-rounds", "1", "--warmup-iterations", "0", "--no-progress"]
"""24 benchmarks of about 0.06 s each: long enough to interrupt in the middle."""


# -- helpers ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A finished MICRO run, timed once for the module; tests change copies of it."""
    root = tmp_path_factory.mktemp("base")
    assert run_sweep(root, *MICRO, "--run-id", "r") == 0
    return root / "r"


@pytest.fixture
def results(tmp_path, base):
    """A results root holding a copy of the base run as `r`, latest pointing at it."""
    root = tmp_path / "results"
    root.mkdir()
    copy_run(base, root, "r")
    store.set_latest(root, root / "r")
    return root


def files(path) -> dict:
    """{relative path: bytes} of every file under path (what "nothing changed" compares)."""
    path = Path(path)
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def one_line(capsys, rc, code, *words) -> str:
    """The one line on stderr of a command that exited with `code`, holding `words`."""
    err = capsys.readouterr().err.strip()
    assert rc == code, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err
    return err


def damage(path: Path, kind: str) -> None:
    """Damage a file the ways a crash, a full disk or a careless copy does."""
    text = path.read_bytes()
    path.write_bytes({"garbage": b"{this is not json,,\n", "empty": b"",
                      "truncated": text[: len(text) // 2], "binary": bytes(range(256)) * 4,
                      "foreign": b"[1, 2, 3]\n", "cut-header": b"run_id,point_k",
                      "foreign-csv": b"a,b,c\n1,2,3\n"}[kind])


def rows_of(run_dir):
    return store.read_rows(Path(run_dir) / "points.csv")


def report_args(root, tmp_path, *extra):
    return ["--results-dir", str(root), "--plots-dir", str(tmp_path / "plots"), *extra]


def spawn(root, run_id, *args, **kw) -> subprocess.Popen:
    """`python -m bench sweep` in its own process group, stderr captured."""
    cmd = [sys.executable, "-m", "bench", "sweep", *args, "--run-id", run_id,
           "--results-dir", str(root)]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, **kw)


def wait_rows(proc, csv_path, n, timeout=90) -> None:
    """Wait until points.csv has n rows (the sweep is in the middle of timing)."""
    deadline = time.monotonic() + timeout
    while len(rows_of(csv_path.parent)) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "sweep ended too soon"
        time.sleep(0.05)


def stop_and_check(proc, send, run_dir) -> list:
    """Send a signal with send(); the sweep must end within 5 s, exit 130 with one line
    and no traceback, and keep every finished row with its raw timings."""
    t0 = time.monotonic()
    send()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 5, f"took {time.monotonic() - t0:.1f} s to stop"
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "sweep: interrupted; run the same command again to resume"
    ok = [r for r in rows_of(run_dir) if r["status"] == "ok"]
    assert ok and all_raw_kept(run_dir, ok)
    return ok


def all_raw_kept(run_dir, ok_rows) -> bool:
    """Every ok row has its pytest-benchmark record (its statistics) and its rounds'
    times (rounds.json: pytest-benchmark.json no longer repeats them)."""
    doc = store.read_json(run_dir / raw.NAME)
    have = {(Point.from_dict({k: b["extra_info"][k] for k in Point().as_dict()}).key(),
             b["extra_info"]["mode"]) for b in doc["benchmarks"] if b["stats"].get("median")}
    times = rounds.load(run_dir)
    want = {(r["point_key"], r["mode"]) for r in ok_rows}
    return want <= have and all(len(times.get(k, ())) >= 1 for k in want)


# -- damage: named, isolated, survivable -------------------------------------------------
@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty", "binary", "foreign"])
def test_damaged_meta_refuses_its_run_and_writes_nothing(results, capsys, kind):
    damage(results / "r" / "meta.json", kind)
    before = files(results)
    rc = run_sweep(results, *MICRO, "--run-id", "r")
    one_line(capsys, rc, 3, "error:", str(results / "r" / "meta.json"), "--force")
    assert files(results) == before


def test_damaged_latest_meta_blocks_no_other_run(tmp_path, capsys):
    root = tmp_path / "results"
    assert run_sweep(root, *SKIP_ALL) == 0
    first = store.resolve_run(root)
    damage(first / "meta.json", "garbage")
    capsys.readouterr()
    assert run_sweep(root, *SKIP_ALL) == 0                  # resuming latest is not possible …
    err = capsys.readouterr().err
    assert f"warning: {first / 'meta.json'} is damaged" in err and "new run" in err
    second = store.resolve_run(root)
    assert second != first and rows_of(second)              # … so a new run is made
    assert run_sweep(root, *SKIP_ALL, "--new") == 0
    assert run_sweep(root, *SKIP_ALL, "--run-id", "other") == 0
    assert "Traceback" not in capsys.readouterr().err


def test_force_redoes_a_run_with_damaged_meta(results):
    damage(results / "r" / "meta.json", "binary")
    assert run_sweep(results, *SKIP_ALL, "--run-id", "r", "--force") == 0
    assert {r["status"] for r in rows_of(results / "r")} == {"skipped"}
    assert json.loads((results / "r" / "meta.json").read_text())["complete"] is True


def test_report_survives_damaged_meta(results, tmp_path, capsys):
    damage(results / "r" / "meta.json", "garbage")
    assert report.main(["r", *report_args(results, tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {results / 'r' / 'meta.json'} is damaged" in err
    assert (tmp_path / "plots" / "r" / "REPORT.md").exists()


def test_truncated_last_row_is_measured_again_never_kept(results, capsys):
    path = results / "r" / "points.csv"
    text = path.read_text()
    path.write_text(text[: len(text) - 40])             # a kill or a copy cut the last line
    assert len(store.read_checked(path)[1]) == 1
    assert run_sweep(results, *MICRO, "--run-id", "r") == 0
    err = capsys.readouterr().err
    assert f"{path}: 1 damaged row(s) left out (line 5" in err
    rows = rows_of(results / "r")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert store.read_checked(path)[1] == [] and path.read_text().endswith("Z\n")
    assert json.loads((results / "r" / "meta.json").read_text())["complete"] is True
    assert all_raw_kept(results / "r", rows)


def test_report_leaves_out_damaged_rows(results, tmp_path, capsys):
    path = results / "r" / "points.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",ok,", ",nan,")        # a row with a status no run writes
    path.write_text("".join(lines)[:-30])                # and a cut last row
    assert report.main(["r", *report_args(results, tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert f"warning: {path}: 2 damaged row(s) left out (line 2, 5" in err
    assert "(2 ok rows of 2)" in out


@pytest.mark.parametrize("kind", ["cut-header", "binary", "foreign-csv"])
def test_points_csv_that_is_not_one_is_named(results, tmp_path, capsys, kind):
    path = results / "r" / "points.csv"
    damage(path, kind)
    before = files(tmp_path)
    rc = report.main(["r", *report_args(results, tmp_path)])
    one_line(capsys, rc, 3, "error:", str(path))
    rc = run_sweep(results, *MICRO, "--run-id", "r")
    one_line(capsys, rc, 3, "error:", str(path), "--force")
    assert files(tmp_path) == before


@pytest.mark.parametrize("kind", ["empty", "header-only"])
def test_points_csv_without_rows(results, tmp_path, capsys, kind):
    path = results / "r" / "points.csv"
    path.write_text("" if kind == "empty" else path.read_text().splitlines()[0] + "\n")
    rc = report.main(["r", *report_args(results, tmp_path)])
    one_line(capsys, rc, 2, "error: no results at")
    assert not (tmp_path / "plots").exists()
    assert run_sweep(results, *MICRO, "--run-id", "r", "--dry-run") == 0
    assert "4 to time" in capsys.readouterr().out      # a sweep measures them all again


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty", "binary"])
def test_damaged_raw_json_is_named_before_any_timing(results, capsys, kind):
    path = results / "r" / raw.NAME
    damage(path, kind)
    (results / "r" / "points.csv").write_text(
        "".join((results / "r" / "points.csv").read_text().splitlines(keepends=True)[:-1]))
    before = files(results)
    rc = run_sweep(results, *MICRO, "--run-id", "r")     # one benchmark left to time
    one_line(capsys, rc, 3, "error:", str(path), "move it aside")
    assert files(results) == before


def test_leftovers_of_a_killed_sweep_are_folded_in(results, base):
    run = results / "r"
    doc = store.read_json(run / raw.NAME)
    ok = rows_of(run)[0]
    record = {**doc["benchmarks"][0], "param": "refolded"}
    raw.save_record(run, ok["point_key"], ok["mode"], record)             # a finished one
    raw.save_record(run, "backend=gone", "forward", {**record, "fullname": "orphan"})
    (run / ".session-1-1.json").write_text('{"machine_info": {"node": "half')  # cut short
    (run / ".points.csv.x1y2").write_text("half a temporary file")
    (run / ".plan-20260101T000000Z-1-ab.json").write_text("{}")
    assert run_sweep(results, *MICRO, "--run-id", "r") == 0
    benchmarks = store.read_json(run / raw.NAME)["benchmarks"]
    assert [b["param"] for b in benchmarks].count("refolded") == 1    # replaced, not added
    assert len(benchmarks) == 4 and "orphan" not in {b["fullname"] for b in benchmarks}
    assert files(run).keys() == files(base).keys()                     # nothing left over


def test_latest_symlink_loop(tmp_path, capsys):
    root = tmp_path / "results"
    root.mkdir()
    os.symlink("latest", root / "latest")
    rc = report.main(report_args(root, tmp_path))
    one_line(capsys, rc, 3, "error:", str(root / "latest"), "symlink loop", "remove it")
    assert run_sweep(root, *SKIP_ALL) == 0                # a sweep warns and starts a new run
    assert "symlink loop" in capsys.readouterr().err
    assert store.resolve_run(root).is_dir()


# -- one writer per run ------------------------------------------------------------------
def test_two_sweeps_of_one_run(tmp_path, capsys):
    """While a sweep times run c, a second sweep of c is refused with one line (even with
    --force); the first completes with every row and raw record and no leftovers."""
    root, args = tmp_path / "results", [*LONGER, "--max-time", "0.2"]  # ≈ 5 s of timing
    first = spawn(root, "c", *args)
    wait_rows(first, root / "c" / "points.csv", 1)
    rc = run_sweep(root, *args, "--run-id", "c", "--force")
    one_line(capsys, rc, 4, "error: run c is being written by another sweep", f"(pid {first.pid})")
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0 and "Traceback" not in err, err
    rows = rows_of(root / "c")
    assert len(rows) == 24 and {r["status"] for r in rows} == {"ok"}
    assert all_raw_kept(root / "c", rows)
    assert json.loads((root / "c" / "meta.json").read_text())["complete"] is True
    hidden = sorted(p.name for p in (root / "c").iterdir() if p.name.startswith("."))
    assert hidden == [".lock"]


def test_a_locked_run_is_refused_and_untouched(results, capsys):
    before = files(results)
    with RunLock(results / "r"):
        rc = run_sweep(results, *MICRO, "--run-id", "r", "--force")
    one_line(capsys, rc, 4, "being written by another sweep", f"(pid {os.getpid()})")
    assert files(results) == before


def test_new_run_ids_taken_in_the_same_second_get_a_suffix(tmp_path):
    first = runs.claim(tmp_path, "20260101T000000Z-quick", new=True)
    second = runs.claim(tmp_path, "20260101T000000Z-quick", new=True)
    assert (first.name, second.name) == ("20260101T000000Z-quick", "20260101T000000Z-quick-2")


# -- signals ----------------------------------------------------------------------------
def test_sigterm_to_the_process_group(tmp_path):
    root = tmp_path / "results"
    proc = spawn(root, "s", *LONGER)
    wait_rows(proc, root / "s" / "points.csv", 3)
    stop_and_check(proc, lambda: os.killpg(proc.pid, signal.SIGTERM), root / "s")
    assert sorted(p.name for p in (root / "s").iterdir() if p.name.startswith(".")) == [".lock"]


@pytest.mark.slow
def test_sigint_to_the_sweep_alone_then_resume(tmp_path):
    root = tmp_path / "results"
    proc = spawn(root, "i", *LONGER)
    wait_rows(proc, root / "i" / "points.csv", 3)
    kept = stop_and_check(proc, lambda: proc.send_signal(signal.SIGINT), root / "i")
    assert run_sweep(root, *LONGER, "--run-id", "i") == 0
    after = {(r["point_key"], r["mode"]): r for r in rows_of(root / "i")}
    assert len(after) == 24 and all(after[(r["point_key"], r["mode"])] == r for r in kept)
    assert all_raw_kept(root / "i", list(after.values()))


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_background_sweep_with_sigint_ignored_stops_at_once(tmp_path, how):
    """A script's `sweep &` inherits SIGINT ignored; the sweep and its child stop anyway."""
    root = tmp_path / "results"
    proc = spawn(root, "b", *LONGER,
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    wait_rows(proc, root / "b" / "points.csv", 3)
    stop_and_check(proc, lambda: proc.send_signal(getattr(signal, how)), root / "b")


@pytest.mark.parametrize("delay", [0.3, 0.8])
def test_ctrl_c_at_start_up_is_one_line(tmp_path, delay):
    """Interrupted while it imports and gathers the machine's details: no traceback."""
    proc = spawn(tmp_path / "results", "u", *MICRO)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    assert proc.returncode in (130, -signal.SIGINT), err   # -2: the shell shows 130 too


def test_an_interruption_something_swallowed_still_stops_the_command(capsys):
    """C code (an extension's import) may swallow the KeyboardInterrupt a signal raised;
    the command stops anyway, at the next checkpoint or at the failure that follows."""
    def swallowed(then):
        def body():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            except KeyboardInterrupt:
                pass
            return then()
        return body
    assert cli.run("sweep", swallowed(lambda: cli.checkpoint() or 0)) == 130
    assert cli.run("sweep", swallowed(lambda: [][1])) == 130
    assert capsys.readouterr().err == "sweep: interrupted\n" * 2
    assert cli.run("sweep", lambda: cli.checkpoint() or 0) == 0        # none pending now


# -- bad paths and arguments: one line, nothing written ------------------------------------
@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


@pytest.mark.parametrize("where, words", [
    ("file", "is not a directory"), ("under-file", "is not a directory"), ("empty", "is empty"),
])
def test_bad_results_dir(tmp_path, afile, capsys, where, words):
    arg = {"file": str(afile), "under-file": str(afile / "sub"), "empty": ""}[where]
    before = files(tmp_path)
    rc = run_sweep(arg, *MICRO, "--run-id", "x")
    one_line(capsys, rc, 2, "sweep: error: --results-dir", words)
    rc = report.main(["--results-dir", arg, "--plots-dir", str(tmp_path / "p")])
    one_line(capsys, rc, 2, "report: error: --results-dir", words)
    assert files(tmp_path) == before and not Path("latest").exists()


def test_results_dir_from_an_empty_environment_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FWDREV_RESULTS_DIR", "")
    monkeypatch.chdir(tmp_path)
    rc = sweep.main(MICRO)                                # no --results-dir: the variable's
    one_line(capsys, rc, 2, "--results-dir is empty")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_results_dir(tmp_path, capsys, monkeypatch):
    """(As root every directory is writable, so the permission check is made to fail.)"""
    monkeypatch.setattr(cli.os, "access", lambda path, mode: False)
    rc = run_sweep(tmp_path / "results", *MICRO, "--run-id", "x")
    one_line(capsys, rc, 2, "is not writable")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where, words", [("file", "is not a directory"), ("empty", "is empty")])
def test_bad_plots_dir(results, afile, capsys, where, words):
    rc = report.main(["r", "--results-dir", str(results),
                      "--plots-dir", str(afile) if where == "file" else ""])
    one_line(capsys, rc, 2, "report: error: --plots-dir", words)


@pytest.mark.parametrize("run_id, words", [
    ("x" * 300, "at most 100"), ("latest", "not 'latest'"), ("a/b", "bad --name"),
    ("reference", "committed reference"), ("a-file", "exists and is not a run directory"),
])
def test_bad_run_id(results, capsys, run_id, words):
    (results / "a-file").write_text("mine\n")
    before = files(results)
    rc = run_sweep(results, *MICRO, "--run-id", run_id)
    one_line(capsys, rc, 2, "sweep: error:", words)
    assert files(results) == before


# -- a run's settings never change under it ------------------------------------------------
def test_the_committed_reference_cannot_be_swept(tmp_path, capsys):
    root = tmp_path / "results"
    shutil.copytree(REPO / "results" / "reference", root / "reference")
    before = files(root)
    rc = run_sweep(root, *MICRO, "--run-id", "reference")
    one_line(capsys, rc, 2, "committed reference")
    assert files(root) == before and not (root / "latest").exists()


@pytest.mark.parametrize("change, words", [
    (["--m", "4,8,12"], "grid"), (["--tol", "1e-3"], "guards or tolerance"),
    (["--max-time", "0.002"], "timing"), (["--mem-budget-gb", "2"], "guards or tolerance"),
])
def test_resuming_with_other_settings_is_refused(results, capsys, change, words):
    before = files(results)
    args = [*MICRO, *change] if change[0] != "--m" else [*MICRO[:2], *change, *MICRO[4:]]
    rc = run_sweep(results, *args, "--run-id", "r")
    one_line(capsys, rc, 2, "run r was made with other settings", words, "--force")
    assert files(results) == before


def test_resuming_keeps_what_defines_the_run(results, capsys):
    path = results / "r" / "points.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))  # one to redo
    before = json.loads((results / "r" / "meta.json").read_text())
    assert run_sweep(results, *MICRO, "--run-id", "r") == 0
    assert "1 to time" in capsys.readouterr().out
    after = json.loads((results / "r" / "meta.json").read_text())
    for key in ("preset", "spec_hash", "axes", "grids", "timing", "guards", "tolerance_by_dtype"):
        assert after[key] == before[key], key
    assert len(after["sessions"]) == len(before["sessions"]) + 1


def test_force_discards_a_run_made_with_other_settings(results):
    assert run_sweep(results, *SKIP_ALL, "--run-id", "r", "--force") == 0
    assert {r["status"] for r in rows_of(results / "r")} == {"skipped"}
    assert not (results / "r" / raw.NAME).exists()
