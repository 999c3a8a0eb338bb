"""python -m bench sweep: a tiny sweep end to end, the CSV schema, resuming, the guards,
a GPU that is not there, and bad input. Everything is written under tmp_path."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import store, sweep
from bench.sweep import grid, guards, parent, presets, timing
from bench.points import Point
from modes import cuda_available
from sweep_helpers import TINY, FakeBenchmark, run_sweep, tiny_run  # noqa: F401  (a fixture)

REPO = Path(__file__).resolve().parents[1]


def rows_of(run_dir):
    return store.read_rows(Path(run_dir) / "points.csv")


def pairs(rows):
    return [(r["point_key"], r["mode"]) for r in rows]


# -- end to end ---------------------------------------------------------------------------
def test_tiny_sweep_end_to_end(tiny_run):
    root, run = tiny_run
    rows = rows_of(run)
    assert len(rows) == 12 and {r["status"] for r in rows} == {"ok"}
    assert sorted(pairs(rows)) == sorted(set(pairs(rows)))
    assert (root / "latest").resolve() == run.resolve()
    m = json.loads((run / "meta.json").read_text())
    for key in ("versions", "machine", "blas", "threads", "git", "date", "command", "preset"):
        assert key in m, key
    assert m["complete"] is True and m["versions"]["pytest-benchmark"]
    raw = json.loads((run / "pytest-benchmark.json").read_text())
    assert len(raw["benchmarks"]) == 12 and "machine_info" in raw and "commit_info" in raw
    assert all(b["options"]["warmup"] for b in raw["benchmarks"])  # warm-up was on


def test_csv_schema(tiny_run):
    _, run = tiny_run
    with open(run / "points.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == store.COLUMNS
    required = ["run_id", "backend", "device", "dtype", "threads", "target", "mode", "L", "m",
                "d", "K", "ops_mults", "ops_adds", "ops_total", "ops_predicted",
                "time_median_s", "time_iqr_s", "time_min_s", "rounds", "grad_relerr",
                "status", "reason"]
    assert set(required) <= set(header)
    for r in rows_of(run):
        assert r["run_id"] == "tiny" and r["threads"] == "1" and r["mode"] in ("forward", "reverse")
        assert int(r["ops_mults"]) + int(r["ops_adds"]) == int(r["ops_total"])
        assert int(r["ops_total"]) == int(r["ops_predicted"]) and r["ops_exact"] == "True"
        assert 0 < float(r["time_min_s"]) <= float(r["time_median_s"])
        assert float(r["time_iqr_s"]) >= 0 and int(r["rounds"]) >= 2
        assert float(r["grad_relerr"]) <= float(r["tol"])
        assert r["thread_pools"].startswith("torch:1")


def test_rerun_skips_what_is_done(tiny_run, capsys, tmp_path):
    root, run = tiny_run
    before = (run / "points.csv").read_text()
    meta = (run / "meta.json").read_bytes()
    assert run_sweep(root, *TINY, "--run-id", "tiny") == 0
    assert "run tiny is complete; nothing to do" in capsys.readouterr().out
    assert (run / "points.csv").read_text() == before and (run / "meta.json").read_bytes() == meta


# -- resuming -----------------------------------------------------------------------------
def test_resume_after_lost_rows(tmp_path, tiny_run):
    """The state a kill leaves (some rows written, the rest not): only those are timed."""
    _, src = tiny_run
    root = tmp_path / "results"
    (root / "tiny").mkdir(parents=True)
    for name in ("points.csv", "meta.json"):
        (root / "tiny" / name).write_bytes((src / name).read_bytes())
    rows = rows_of(root / "tiny")
    failed = {**rows[0], "status": "error", "reason": "RuntimeError: as if it failed"}
    store.atomic_write(root / "tiny" / "points.csv", "")
    store.upsert_rows(root / "tiny" / "points.csv", [failed, *rows[1:7]])
    assert run_sweep(root, *TINY, "--run-id", "tiny") == 0
    after = {(r["point_key"], r["mode"]): r for r in rows_of(root / "tiny")}
    assert sorted(after) == sorted(pairs(rows))                  # none lost, none twice
    assert all(after[k]["finished_utc"] == r["finished_utc"] for r in rows[1:7]
               if (k := (r["point_key"], r["mode"])))            # kept as they were
    assert after[pairs(rows)[0]]["status"] == "ok"               # an error row is retried


def test_killed_sweep_resumes(tmp_path):
    """Kill a running sweep outright (parent and child), then run it again."""
    root = tmp_path / "results"
    args = [sys.executable, "-m", "bench", "sweep", "--L", "1,2,3,4", "--m", "8,16,24,32",
            "--max-time", "0.03", "--min-rounds", "2", "--warmup-iterations", "1",
            "--no-progress", "--run-id", "k", "--results-dir", str(root)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    csv_path, deadline = root / "k" / "points.csv", time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if len(store.read_rows(csv_path)) >= 3:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    partial = rows_of(root / "k")
    assert partial and sorted(pairs(partial)) == sorted(set(pairs(partial)))
    assert run_sweep(root, *args[4:-2]) == 0
    done = rows_of(root / "k")
    assert len(done) == 32 and len(set(pairs(done))) == 32
    assert {r["status"] for r in done} == {"ok"}
    kept = {(r["point_key"], r["mode"]): r["finished_utc"] for r in partial if r["status"] == "ok"}
    assert all(r["finished_utc"] == kept[k] for r in done if (k := (r["point_key"], r["mode"])) in kept)


def test_force_redoes_and_new_run_keeps_old(tmp_path):
    root = tmp_path / "results"
    args = ["--L", "1", "--m", "8", "--mem-budget-gb", "1e-9", "--no-progress"]
    assert run_sweep(root, *args, "--run-id", "a") == 0
    (root / "a" / "note.txt").write_text("mine")
    assert run_sweep(root, *args, "--run-id", "a") == 0
    assert (root / "a" / "note.txt").exists()            # resumed: nothing removed
    assert run_sweep(root, *args, "--run-id", "a", "--force") == 0
    assert not (root / "a" / "note.txt").exists()        # asked: redone from nothing
    assert run_sweep(root, *args, "--run-id", "b") == 0
    assert (root / "a" / "points.csv").exists() and (root / "latest").resolve().name == "b"


# -- one benchmark's row: exact counts and the agreement check ------------------------
def one_case(tol=1e-8, point=Point(L=1, m=4, d=4)):
    return {"point": point.as_dict(), "mode": "forward", "lines": ["t"], "tol": tol,
            "run_id": "u", "est_s": 0.01}


def test_row_marks_counts_exact_only_when_they_equal_the_prediction(tmp_path, monkeypatch):
    timing.run_case(FakeBenchmark(), one_case(), tmp_path)
    (row,) = rows_of(tmp_path)
    assert row["ops_exact"] == "True" and row["ops_total"] == row["ops_predicted"]
    real = timing.predicted_ops
    monkeypatch.setattr(timing, "predicted_ops",
                        lambda p, m: SimpleNamespace(total=real(p, m).total + 1))
    timing.run_case(FakeBenchmark(), one_case(), tmp_path)
    (row,) = rows_of(tmp_path)
    assert row["status"] == "ok" and row["ops_exact"] == "False"
    assert int(row["ops_total"]) + 1 == int(row["ops_predicted"])


def test_engine_failure_while_timed_leaves_an_error_row(tmp_path):
    class Failing(FakeBenchmark):
        def __call__(self, fn):
            raise RuntimeError("out of memory\nmore")
    with pytest.raises(RuntimeError):
        timing.run_case(Failing(), one_case(point=Point(L=1, m=9, d=4)), tmp_path)
    (row,) = rows_of(tmp_path)
    assert row["status"] == "error" and row["reason"] == "RuntimeError: out of memory"


@pytest.mark.parametrize("m, relerr, status", [(5, 1e-8, "ok"), (6, 1.5e-8, "disagree"),
                                               (7, 5e-8, "disagree")])
def test_agreement_check_is_at_its_tolerance(tmp_path, monkeypatch, m, relerr, status):
    """relerr at tol passes; just above it is a disagreement, recorded and never timed.
    (Each case alone: a point is checked once per Child.)"""
    monkeypatch.setattr(timing, "agreement", lambda results, backend, batched=False: relerr)
    bench, case = FakeBenchmark(), one_case(tol=1e-8, point=Point(L=1, m=m, d=4))
    if status == "ok":
        timing.run_case(bench, case, tmp_path)
    else:
        with pytest.raises(pytest.fail.Exception, match="modes disagree"):
            timing.run_case(bench, case, tmp_path)
    (row,) = rows_of(tmp_path)
    assert row["status"] == status and (bench.stats is None) == (status != "ok")


def test_default_tolerance_by_dtype():
    exp = grid.expand(grid.subgrids(None, {"m": [4], "dtype": ["float64", "float32"]}))
    cases, _ = timing.cases_to_run(exp, set(), dict(presets.GUARD_DEFAULTS), presets.TIMING_DEFAULTS, "x")
    assert {c["point"]["dtype"]: c["tol"] for c in cases} == {"float64": 1e-8, "float32": 1e-3}


# -- guards -------------------------------------------------------------------------------
def test_memory_guard_skips_with_reason(tmp_path):
    root = tmp_path / "results"
    assert run_sweep(root, "--m", "8,4096", "--d", "m", "--mem-budget-gb", "0.01",
                     "--max-time", "0.002", "--min-rounds", "2", "--no-progress",
                     "--run-id", "g") == 0
    rows = {(int(r["m"]), r["mode"]): r for r in rows_of(root / "g")}
    assert rows[(8, "forward")]["status"] == "ok"
    big = rows[(4096, "forward")]
    assert big["status"] == "skipped" and "memory estimate" in big["reason"]
    assert big["time_median_s"] == "" and int(big["ops_predicted"]) > 0


def test_time_guard_skips_with_reason(tmp_path):
    root = tmp_path / "results"
    assert run_sweep(root, "--target", "params", "--L", "3", "--m", "256", "--d", "m",
                     "--max-point-s", "5", "--no-progress", "--run-id", "t") == 0
    rows = rows_of(root / "t")
    assert {r["status"] for r in rows} == {"skipped"}
    assert all("time estimate" in r["reason"] and "cap 5 s" in r["reason"] for r in rows)


def test_guard_estimates():
    small, big = Point(m=16, d=16), Point(target="params", L=3, m=256, d=256)
    assert guards.memory_bytes(small) < 2 ** 20
    # forward params holds J_O beside its concatenation with B_i: its exact counted peak
    from modes import predict
    assert guards.memory_bytes(big, ("forward",)) >= 8 * predict.memory_peak("params", "forward", 3, 256, 256, 1)
    assert guards.memory_bytes(big, ("forward",)) > 8 * 5 * 256 ** 3
    assert guards.call_seconds(big, "forward") > 100 * guards.call_seconds(big, "reverse")
    lim = dict(presets.GUARD_DEFAULTS)
    assert guards.skip_reason(small, ("forward", "reverse"), lim, presets.TIMING_DEFAULTS) is None


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU")
def test_gpu_requested_without_gpu(tmp_path):
    root = tmp_path / "results"
    assert run_sweep(root, "--backend", "numpy,torch", "--device", "cpu,cuda", "--m", "8",
                     "--max-time", "0.002", "--min-rounds", "2", "--no-progress",
                     "--run-id", "gpu") == 0
    rows = rows_of(root / "gpu")
    cuda = [r for r in rows if r["device"] == "cuda"]
    assert len(cuda) == 4 and all(r["backend"] == "torch" for r in cuda)  # numpy: no GPU rows
    assert sorted(r["exec"] for r in cuda) == ["eager", "eager", "graph", "graph"]  # exec auto
    assert all(r["status"] == "skipped" and r["reason"] == "no CUDA GPU" for r in cuda)
    assert {r["status"] for r in rows if r["device"] == "cpu"} == {"ok"}


# -- bad input: one line, exit 2, nothing written -----------------------------------------
@pytest.mark.parametrize("args, words", [
    (["--m", "0"], "m must be at least 1"),
    (["--m", "x"], "integers"),
    (["--backend", "foo"], "unknown backend 'foo'"),
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--target", "hessian"], "unknown target"),
    (["--max-time", "0"], "must be positive"),
    (["--backend", "numpy", "--device", "cuda"], "grid is empty"),
    (["--run-id", "../x"], "bad --name"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_input(tmp_path, capsys, args, words):
    root = tmp_path / "results"
    assert run_sweep(root, *args) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not root.exists()


# -- grid and presets ---------------------------------------------------------------------
def test_grid_ties_d_to_m_and_dedupes():
    grids = grid.subgrids(None, {"m": [8, 16], "d": ["m"], "L": [1]})
    pts = [p for p, _, _ in grid.expand(grids + grids)]
    assert [(p.m, p.d) for p in pts] == [(8, 8), (16, 16)]


def test_presets_expand_and_fit_their_budgets():
    budget = {"quick": 120, "default": 600}
    for name, p in presets.PRESETS.items():
        expanded = grid.expand(grid.subgrids(name, {}))
        tim = {**presets.TIMING_DEFAULTS, **p["timing"]}
        lim = {**presets.GUARD_DEFAULTS, **p["guards"]}
        cases, _ = timing.cases_to_run(expanded, set(), lim, tim, run_id="x")
        if name in budget:  # estimated time, with room for the model's error
            assert sum(c["est_s"] for c in cases) < budget[name] / 2, name


def test_help_exits_zero(capsys):
    assert sweep.main(["--help"]) == 0
    assert "--preset" in capsys.readouterr().out


def test_disagreement_marks_rows_and_is_not_timed(tmp_path, capsys):
    """A tolerance no float answer can meet: every point disagrees, none is timed."""
    root = tmp_path / "results"
    args = ["--L", "3", "--m", "24,32", "--tol", "1e-300", "--no-progress", "--run-id", "dis"]
    assert run_sweep(root, *args) == 0                      # reported, not fatal …
    assert "disagree" in capsys.readouterr().err
    rows = rows_of(root / "dis")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"disagree"}
    assert all(r["time_median_s"] == "" and "relerr" in r["reason"] for r in rows)
    assert all(float(r["grad_relerr"]) > 0 for r in rows)
    assert run_sweep(root, *args, "--strict") == 1         # … unless asked to be


def test_unfinished_latest_run_is_resumed_without_run_id(tmp_path, capsys):
    root = tmp_path / "results"
    args = ["--L", "1", "--m", "8", "--mem-budget-gb", "1e-9", "--no-progress"]
    assert run_sweep(root, *args) == 0
    first = (root / "latest").resolve().name
    assert first.endswith("-custom-L1-m8")             # the axes the command line gave
    meta = json.loads((root / first / "meta.json").read_text())
    store.write_json(root / first / "meta.json", {**meta, "complete": False})  # as if killed
    assert run_sweep(root, *args) == 0
    assert "(resuming)" in capsys.readouterr().out
    assert (root / "latest").resolve().name == first
    time.sleep(1.1)  # run ids have one-second resolution
    assert run_sweep(root, *args) == 0                         # finished: a new run
    assert (root / "latest").resolve().name != first


# -- anywhere: paths resolved at the command line, output, help, meta -----------------------
def fwdrev_cmd():
    """The `fwdrev` console script beside this Python, else `python -m bench`."""
    script = Path(sys.executable).parent / "fwdrev"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bench"]


def outside_env():
    """The environment, without the variables that would point the commands elsewhere."""
    return {k: v for k, v in os.environ.items()
            if k not in ("FWDREV_RESULTS_DIR", "FWDREV_PLOTS_DIR")}


def test_runs_from_any_directory(tmp_path):
    """sweep, report and regress from a directory outside the repository, with relative
    paths: everything lands under that directory (the pytest child gets absolute paths)."""
    def run(*args):
        return subprocess.run([*fwdrev_cmd(), *args], cwd=tmp_path, env=outside_env(),
                              capture_output=True, text=True, timeout=180)
    sweep_ = run("sweep", "--L", "1", "--m", "16,64", "--d", "m", "--max-time", "0.002",
                 "--min-rounds", "2", "--warmup-iterations", "1", "--run-id", "here",
                 "--results-dir", "res")
    assert sweep_.returncode == 0, sweep_.stderr
    lines = [s for s in sweep_.stdout.splitlines() if s.startswith("gradient L1")]
    assert len(lines) == 2 and all("forward" in s and "fwd/rev" in s for s in lines)
    assert len(rows_of(tmp_path / "res" / "here")) == 4
    report = run("report", "--results-dir", "res", "--plots-dir", "pl", "--points")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "pl" / "here" / "REPORT.md").exists()
    assert "median ms" in report.stdout and "fwd/rev" in report.stdout
    gate = run("regress", "--counts-only", "--baseline", str(REPO / "results" / "baseline.json"))
    assert gate.returncode == 0, gate.stderr + gate.stdout
    assert not (REPO / "res").exists() and not (REPO / "pl").exists()


def test_child_gets_absolute_paths_and_no_outside_config():
    args = parent.pytest_args(Path("rel/.plan.json"), Path("rel/.s.json"),
                              presets.TIMING_DEFAULTS)
    plan = next(a for a in args if a.startswith("--fwdrev-plan="))
    out = next(a for a in args if a.startswith("--benchmark-json="))
    assert Path(plan.split("=", 1)[1]).is_absolute() and Path(out.split("=", 1)[1]).is_absolute()
    assert Path(args[3]) == Path(timing.__file__).parent / "test_points.py"
    assert args[args.index("-c") + 1] == os.devnull


def test_help_shows_values_defaults_and_presets(capsys):
    assert sweep.main(["--help"]) == 0
    out = "".join(capsys.readouterr().out.split())  # help wraps lines, even at hyphens

    def squeeze(text):
        return "".join(text.split())
    for name, p in presets.PRESETS.items():
        assert squeeze(f"{name} {p['about']}") in out, name
    for axis in presets.AXES:
        assert squeeze(f"--{axis} V,V,… allowed: {grid.allowed(axis)}") in out, axis
    assert out.count(squeeze("default: the preset's")) >= len(presets.AXES) + 5
    assert "--shardI/N" in out


def test_point_line_and_table():
    from bench import table
    p = Point(L=2, m=8, d=8).as_dict()
    rows = [{**p, "point_key": "k", "mode": "reverse", "status": "ok", "time_median_s": "0.001",
             "time_iqr_s": "0.0001"},
            {**p, "point_key": "k", "mode": "forward", "status": "ok", "time_median_s": "0.003",
             "time_iqr_s": "0.0002"}]
    line = table.point_line(rows)
    assert line == "gradient L2 m8 d8 K1 numpy/cpu/float64/1t  forward 3 ms  reverse 1 ms  fwd/rev 3"
    text = table.point_table(rows + [{**rows[0], "point_key": "j", "status": "skipped"}])
    head, *body = text.splitlines()
    assert head.split() == ["point", "mode", "median", "ms", "IQR", "ms", "fwd/rev"]
    assert len(body) == 3 and body[0].split()[-4:] == ["forward", "3", "0.2", "3"]
    assert body[2].split()[-1] == "skipped"


def test_meta_tells_machines_apart(tiny_run):
    _, run = tiny_run
    m = json.loads((run / "meta.json").read_text())
    assert m["schema"] == "fwdrev-run/4" and m["shard"] is None and m["fwdrev"]
    mach = m["machine"]
    assert mach["memory_bytes"] > 2 ** 20 and mach["torch_build"]
    assert {"brand", "family", "model", "stepping", "flags", "hz_advertised"} <= set(mach["cpuinfo"])
    assert "fingerprint" in m


@pytest.mark.parametrize("command", ["sweep", "report", "compare", "merge", "overhead", "regress"])
def test_help_names_the_command_as_typed(command, capsys):
    """`fwdrev X --help` says `fwdrev X`, `python -m bench X --help` says that."""
    from bench import __main__ as cli_main
    for prog in ("fwdrev", "python -m bench", "fwdrev"):  # nothing left behind by a call
        assert cli_main.main([command, "--help"], prog=prog) == 0
        assert capsys.readouterr().out.startswith(f"usage: {prog} {command} ")
