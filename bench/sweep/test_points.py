"""One benchmark per (point, mode): check that the modes agree, then time one engine call.

The cases come from bench/sweep/conftest.py (a sweep's plan, or a preset by hand); the work is
in bench.sweep.timing.run_case.
"""
from bench.sweep.timing import run_case


def test_point(benchmark, fwdrev_case, fwdrev_out, fwdrev_child):
    run_case(benchmark, fwdrev_case, fwdrev_out, fwdrev_child)
