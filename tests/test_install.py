"""fwdrev as a regular (non-editable) wheel: built from a copy of this tree's sources (a
build/ left in the checkout by an earlier wheel would add files the sources no longer
have), installed into a scratch directory, and run from another one — the sweep's pytest
child must find bench/sweep/test_points.py and bench/sweep/conftest.py inside the installed
package."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import store

REPO = Path(__file__).resolve().parents[1]


def pip(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pip", *args, "-q", "--disable-pip-version-check"],
                          cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_installed_wheel_sweeps_from_anywhere(tmp_path):
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
        "results", "plots"))
    built = pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src),
                cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("fwdrev-*.whl")
    installed = pip("install", "--no-deps", "--target", str(site), str(wheel), cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    assert (site / "bench" / "sweep" / "test_points.py").exists() and (site / "bench" / "sweep" / "conftest.py").exists()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FWDREV_")},
           "PYTHONPATH": str(site)}

    def py(*args):
        return subprocess.run([sys.executable, *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=180)
    where = py("-c", "import bench, modes; print(bench.__file__); print(modes.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(Path(p).is_relative_to(site) for p in where.stdout.split()), where.stdout
    sweep = py("-m", "bench", "sweep", "--L", "1", "--m", "4,8", "--d", "m", "--max-time",
               "0.001", "--min-rounds", "1", "--warmup-iterations", "0", "--run-id", "w")
    assert sweep.returncode == 0, sweep.stderr + (work / "results" / "w" / "pytest.log").read_text()
    rows = store.read_rows(work / "results" / "w" / "points.csv")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
