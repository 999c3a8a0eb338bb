"""pytest plumbing for the benchmarks in bench/: where the cases come from.

`python -m bench sweep` passes --fwdrev-plan (a JSON file of cases and the run directory).
Run by hand — `pytest bench/ --benchmark-warmup=on …` — the cases are a preset's grid
(--fwdrev-preset, quick by default) after the guards, and no rows are written.
"""
from __future__ import annotations

import json
import os
import signal

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("fwdrev")
    group.addoption("--fwdrev-plan", default=None,
                    help="JSON plan written by `python -m bench sweep` (cases and run directory)")
    group.addoption("--fwdrev-preset", default="quick",
                    help="preset to time when no plan is given (default: quick)")


def pytest_configure(config):
    """In a sweep's child, SIGTERM and SIGINT both end the session as Ctrl-C does, even
    where SIGINT was inherited ignored (a sweep started in the background of a script)."""
    if config.getoption("--fwdrev-plan"):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.default_int_handler)


def _plan(config) -> dict:
    if not hasattr(config, "_fwdrev_plan"):
        config._fwdrev_plan = _load_plan(config)
    return config._fwdrev_plan


def _load_plan(config) -> dict:
    from bench import plugins
    path = config.getoption("--fwdrev-plan")
    if path:
        with open(path, encoding="utf-8") as fh:
            plan = json.load(fh)
        plugins.load(plan.get("plugins", ()))  # the sweep's plugins: their modes are timed here
        return plan
    plugins.load()
    from bench.sweep import grid, presets, timing
    p = grid.preset(config.getoption("--fwdrev-preset"))
    limits = {**presets.GUARD_DEFAULTS, **p.get("guards", {})}
    tim = {**presets.TIMING_DEFAULTS, **p.get("timing", {})}
    cases, _ = timing.cases_to_run(grid.expand(grid.subgrids(config.getoption("--fwdrev-preset"), {})),
                           set(), limits, tim, run_id="")
    return {"out": None, "cases": cases}


def pytest_generate_tests(metafunc):
    if "fwdrev_case" in metafunc.fixturenames:
        from bench.sweep.timing import case_id
        cases = _plan(metafunc.config)["cases"]
        metafunc.parametrize("fwdrev_case", cases, ids=[case_id(c) for c in cases])


@pytest.fixture(scope="session")
def fwdrev_out(request):
    """The run directory rows are written to, or None when run by hand."""
    return _plan(request.config)["out"]


@pytest.fixture(scope="session")
def fwdrev_child():
    """What the cases of this process share: the point in hand, the threads in force."""
    from bench.sweep.timing import Child
    return Child()


def pytest_runtest_setup(item):
    # A sweep killed outright (SIGKILL) cannot stop its child: the child stops itself,
    # before its next benchmark, once its parent is gone.
    parent = os.environ.get("FWDREV_PARENT_PID")
    if parent and os.getppid() != int(parent):
        pytest.exit("the sweep that started this run is gone", returncode=2)
