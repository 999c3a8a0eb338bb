"""A shared results folder against a careless user and a hostile neighbour: no write or
delete follows a planted link, a complete run stays byte for byte, every damaged file is
one line and exit 3, merge and report are all-or-nothing, and every command's bad input
is one line (docs/results.md says what fwdrev promises)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cmdline as cli, listing, merge, report, store
from bench.__main__ import main as fwdrev
from bench.report import plots
from bench.sweep import raw
from bench.sweep.runlock import RunLock
from sweep_helpers import MICRO, run_sweep
from test_reliability import SKIP_ALL, base, files, one_line, results  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[1]


def outside(tmp_path, name="victim.txt", text="someone else's data\n") -> Path:
    """A file outside the results folder that a planted link points at."""
    p = tmp_path / "elsewhere" / name
    p.parent.mkdir(exist_ok=True)
    p.write_text(text)
    return p


def unfinish(run_dir) -> None:
    """Drop the last row of a run, so a sweep has one benchmark to time again."""
    path = run_dir / "points.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))


# -- links ---------------------------------------------------------------------------------
def test_a_linked_lock_is_refused_and_its_target_kept(results, tmp_path, capsys):
    victim = outside(tmp_path)
    (results / "s").mkdir()
    os.symlink(victim, results / "s" / ".lock")
    rc = run_sweep(results, *SKIP_ALL, "--run-id", "s")
    one_line(capsys, rc, 3, str(results / "s" / ".lock"), "symbolic link")
    assert victim.read_text() == "someone else's data\n"


def test_a_linked_pytest_log_is_refused_and_its_target_kept(results, tmp_path, capsys):
    victim = outside(tmp_path)
    unfinish(results / "r")
    (results / "r" / "pytest.log").unlink(missing_ok=True)
    os.symlink(victim, results / "r" / "pytest.log")
    rc = run_sweep(results, *MICRO, "--run-id", "r")
    assert rc == 3 and "pytest.log is a symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "someone else's data\n"


def test_a_linked_raw_folder_is_refused_and_nothing_in_it_deleted(results, tmp_path, capsys):
    victim = outside(tmp_path, "precious.json", "{}")
    unfinish(results / "r")
    os.symlink(victim.parent, results / "r" / raw.RAW_DIR)
    rc = run_sweep(results, *MICRO, "--run-id", "r")
    one_line(capsys, rc, 3, str(results / "r" / raw.RAW_DIR), "symbolic link")
    assert victim.read_text() == "{}"


def test_a_linked_plots_folder_is_refused_and_nothing_in_it_deleted(results, tmp_path, capsys):
    victim = outside(tmp_path, "figure.png", "png")
    (tmp_path / "plots").mkdir()
    os.symlink(victim.parent, tmp_path / "plots" / "r")
    rc = report.main(["r", "--results-dir", str(results), "--plots-dir", str(tmp_path / "plots")])
    one_line(capsys, rc, 3, str(tmp_path / "plots" / "r"), "symbolic link")
    assert sorted(p.name for p in victim.parent.iterdir()) == ["figure.png"]


def test_an_interrupted_report_leaves_the_previous_one_whole(results, tmp_path, monkeypatch,
                                                             capsys):
    args = ["r", "--results-dir", str(results), "--plots-dir", str(tmp_path / "plots")]
    assert report.main(args) == 0
    before = files(tmp_path / "plots" / "r")
    assert "REPORT.md" in before and any(k.endswith(".png") for k in before)

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(plots, "all_figures", interrupted)
    assert report.main(args) == 130
    assert files(tmp_path / "plots" / "r") == before
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["latest", "r"]  # no temp


# -- immutable runs ------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_a_complete_run_is_never_rewritten(results, capsys, extra):
    before = files(results)
    assert run_sweep(results, *MICRO, "--run-id", "r", *extra) == 0
    assert "run r is complete; nothing to do" in capsys.readouterr().out
    assert files(results) == before


def test_new_always_starts_a_new_run(results, capsys):
    before = files(results / "r")
    rc = run_sweep(results, *MICRO, "--run-id", "r", "--new")
    one_line(capsys, rc, 2, "run r exists and --new starts a new run")
    assert run_sweep(results, *SKIP_ALL, "--new") == 0
    assert files(results / "r") == before
    assert len([p for p in results.iterdir() if p.is_dir() and not p.is_symlink()]) == 2


def test_an_empty_run_id_is_a_usage_error(results, capsys):
    before = files(results)
    one_line(capsys, run_sweep(results, *MICRO, "--run-id="), 2, "bad --name ''")
    assert files(results) == before


def test_a_merged_run_is_never_resumed(results, capsys):
    meta = json.loads((results / "r" / "meta.json").read_text())
    meta.update(merged_from=["a", "b"], complete=False)
    (results / "r" / "meta.json").write_text(json.dumps(meta))
    before = files(results)
    one_line(capsys, run_sweep(results, *MICRO, "--run-id", "r"), 2, "fwdrev merge")
    assert files(results) == before


# -- damaged files -------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [("sessions", "x"), ("machine", [1, 2]),
                                          ("fingerprint", [1]), ("complete", "no")])
def test_a_wrong_typed_meta_field_is_one_line(results, capsys, field, value):
    path = results / "r" / "meta.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), field: value}))
    before = files(results)
    one_line(capsys, run_sweep(results, *MICRO, "--run-id", "r"), 3, str(path), repr(field))
    assert files(results) == before
    assert listing.main(["--results-dir", str(results)]) == 0
    assert f"damaged meta.json ({field!r} is" in capsys.readouterr().out


@pytest.mark.parametrize("record", [{"point_key": "k", "mode": "forward", "benchmark": {}},
                                    {"point_key": ["k"], "mode": "forward",
                                     "benchmark": {"fullname": "x"}}])
def test_a_damaged_raw_record_is_one_line(results, capsys, record):
    (results / "r" / raw.RAW_DIR).mkdir()
    path = results / "r" / raw.RAW_DIR / "abc.json"
    path.write_text(json.dumps(record))
    one_line(capsys, run_sweep(results, *MICRO, "--run-id", "r"), 3, str(path), "fullname")


def test_benchmarks_that_are_a_number_are_one_line(results, capsys):
    path = results / "r" / raw.NAME
    path.write_text(json.dumps({**json.loads(path.read_text()), "benchmarks": 5}))
    unfinish(results / "r")
    before = files(results)
    one_line(capsys, run_sweep(results, *MICRO, "--run-id", "r"), 3, str(path), "benchmarks")
    assert files(results) == before


def test_a_foreign_column_is_never_dropped_by_a_resume(results, capsys):
    path = results / "r" / "points.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",my_note"] + [x + ",mine" for x in lines[1:-1]]) + "\n")
    before = files(results)
    one_line(capsys, run_sweep(results, *MICRO, "--run-id", "r"), 3, str(path), "my_note")
    assert files(results) == before


def test_list_names_every_damaged_run_and_lists_the_rest(results, tmp_path, capsys, monkeypatch):
    for name, meta in (("a", "[1, 2]"), ("b", '{"machine": "x"}'), ("c", '{"complete": "no"}')):
        (results / name).mkdir()
        (results / name / "meta.json").write_text(meta)
    monkeypatch.setenv("FWDREV_RESULTS_DIR", str(results))
    monkeypatch.chdir(tmp_path)
    assert listing.main([]) == 0
    out = capsys.readouterr().out
    lines = {x.split()[0]: x for x in out.splitlines()[1:]}
    assert set(lines) == {"a", "b", "c", "r"} and "complete" in lines["r"]
    assert all("damaged meta.json" in lines[n] for n in "abc")


# -- merge ---------------------------------------------------------------------------------
def shards(results):
    """Two runs that merge: r and a copy q marked as another machine's."""
    import shutil
    shutil.copytree(results / "r", results / "q")
    path = results / "q" / "points.csv"
    path.write_text(path.read_text().replace(",r,", ",q,"))
    return ["r", "q", "--prefer-last", "--results-dir", str(results)]


def test_merge_refuses_a_source_being_written(results, capsys):
    args = shards(results)
    with RunLock(results / "q"):
        rc = merge.main([*args, "--run-id", "m"])
    one_line(capsys, rc, 4, "run q is being written")
    assert not (results / "m").exists()


def test_a_merge_that_fails_leaves_nothing_and_the_retry_works(results, capsys, monkeypatch):
    args = shards(results)

    def full_disk(out, *a):
        raise OSError(28, "No space left on device", str(out / raw.NAME))
    monkeypatch.setattr(merge, "write_benchmarks", full_disk)
    one_line(capsys, merge.main([*args, "--run-id", "m"]), 3, "No space left", raw.NAME)
    assert sorted(p.name for p in results.iterdir()) == ["latest", "q", "r"]
    monkeypatch.undo()
    assert merge.main([*args, "--run-id", "m"]) == 0
    assert json.loads((results / "m" / "meta.json").read_text())["complete"] is True


def test_a_merge_leaving_out_a_damaged_row_is_not_complete(results, capsys):
    args = shards(results)
    path = results / "q" / "points.csv"
    path.write_text(path.read_text().replace(",ok,", ",nope,", 1))
    assert merge.main([*args, "--run-id", "m"]) == 0
    assert json.loads((results / "m" / "meta.json").read_text())["complete"] is False


# -- numbers, one error path ---------------------------------------------------------------
@pytest.mark.parametrize("flag, value", [("--max-time", "inf"), ("--max-time", "nan"),
                                         ("--min-rounds", "1" + "0" * 30), ("--tol", "inf"),
                                         ("--mem-budget-gb", "nan"), ("--max-point-s", "1e300"),
                                         ("--m", "1" + "0" * 200), ("--L", "99999999")])
def test_absurd_numbers_are_one_line(tmp_path, capsys, flag, value):
    rc = run_sweep(tmp_path / "results", *MICRO, flag, value, "--dry-run")
    one_line(capsys, rc, 2, flag.lstrip("-").split("-")[0])
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("argv", [["overhead", "--seconds", "inf"], ["list", "--bogus"],
                                  ["compare"], ["regress", "--bogus"], ["nonsense"]])
def test_every_command_fails_in_one_line(capsys, argv):
    one_line(capsys, fwdrev(argv), 2, "error")


def test_python_m_modes_fails_in_one_line():
    p = subprocess.run([sys.executable, "-m", "modes"], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_an_ascii_only_stdout_survives(tmp_path):
    env = {**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    p = subprocess.run([sys.executable, "-m", "bench", "sweep", *MICRO, "--dry-run", "--no-model",
                        "--results-dir", str(tmp_path / "r")], capture_output=True, text=True,
                       cwd=REPO, env=env)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert "(~" in p.stdout


def test_a_failed_write_names_its_file(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as e:
        store.atomic_write(tmp_path / "x.csv", "a")
    assert cli.os_message(e.value).endswith(str(tmp_path / "x.csv"))
    assert list(tmp_path.iterdir()) == []


# -- calibration ---------------------------------------------------------------------------
GOOD_CAL = {"backend": "numpy", "device": "cpu", "dtype": "float64", "threads": 1,
            "gemm_rate": {"1": 1e9}, "bandwidth": {"16384": 1e10},
            "write_bandwidth": {"16384": 1e10}, "c_call_s": 1e-5, "c_peer_s": {},
            "c_step_s": {"matmul": 1e-6, "elementwise": 5e-7, "view": 1e-7}}


@pytest.mark.parametrize("change", [{"gemm_rate": {}}, {"bandwidth": {"16384": 0}},
                                    {"c_call_s": 1e9}, {"write_bandwidth": {"x": 1.0}},
                                    {"c_step_s": {"matmul": float("nan")}}])
def test_a_damaged_calibration_is_measured_again(tmp_path, monkeypatch, change):
    from bench import model
    made = []
    monkeypatch.setattr(model, "calibrate", lambda *a: made.append(a) or dict(GOOD_CAL))
    model.calibration(tmp_path, "numpy")
    [path] = (tmp_path / "calibration").iterdir()
    path.write_text(json.dumps({**GOOD_CAL, **change}))
    assert model.calibration(tmp_path, "numpy") == GOOD_CAL and len(made) == 2


def test_a_dry_run_measures_and_writes_no_calibration(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FWDREV_NO_MODEL", raising=False)  # the time model on, as for a user
    assert run_sweep(tmp_path / "results", *MICRO, "--dry-run") == 0
    assert not (tmp_path / "results" / "calibration").exists()
