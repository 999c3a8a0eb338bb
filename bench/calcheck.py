"""A calibration (bench.model), read back checked: every rate a positive finite number
in a non-empty table keyed by sizes, every fixed cost finite, 0 or more and under a
second (a fixed cost of hours would skip every point on a guess). A calibration that
does not check out is measured again, never trusted."""
from __future__ import annotations

import math

TABLES = ("gemm_rate", "bandwidth", "write_bandwidth")
STEPS = ("matmul", "elementwise", "view")
MAX_FIXED_S = 1.0
"""The most a single backend or engine call's fixed cost may be (seconds)."""


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _cost(v) -> bool:
    return _number(v) and 0 <= v < MAX_FIXED_S


def calibration_problem(cal, backend=None):
    """What is wrong with a calibration record, or None when it can be used."""
    if not isinstance(cal, dict):
        return "not a JSON object"
    if backend is not None and cal.get("backend") != backend:
        return f"of backend {cal.get('backend')!r}"
    if cal.get("dtype") not in ("float64", "float32"):
        return "no dtype"
    for name in TABLES:
        t = cal.get(name)
        if not isinstance(t, dict) or not t:
            return f"{name} is not a table"
        for k, v in t.items():
            if not (isinstance(k, str) and k.isdigit() and int(k) > 0 and _number(v) and v > 0):
                return f"{name}[{k!r}] is not a positive rate"
    steps = cal.get("c_step_s")
    if not isinstance(steps, dict) or not all(_cost(steps.get(s)) for s in STEPS):
        return "c_step_s is not three fixed costs"
    if not _cost(cal.get("c_call_s")):
        return "c_call_s is not a fixed cost"
    peers = cal.get("c_peer_s", {})
    if not isinstance(peers, dict) or not all(_cost(v) for v in peers.values()):
        return "c_peer_s is not a table of fixed costs"
    return None
