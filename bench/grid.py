"""The grid of a sweep: axis values from the command line or a preset, checked, and
expanded into benchmark cases (a `Point` and the modes to time on it).

Bad values raise `FwdrevError` with a one-line message before anything is written.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re

from modes import BACKENDS, DTYPES, MODES, FwdrevError, cuda_available

from .points import TARGETS, Point
from .presets import AXES, AXIS_DEFAULTS, INT_AXES, PRESETS

CHOICES = {
    "mode": tuple(MODES),
    "backend": tuple(BACKENDS),
    "device": ("cpu", "cuda", "auto"),
    "dtype": DTYPES,
    "target": TARGETS,
}
"""The allowed values of every non-integer axis."""


def parse_axis(name: str, text: str) -> list:
    """`--NAME a,b,c` as a list of checked values ("m" is allowed in d: d = m)."""
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    if not items:
        raise FwdrevError(f"--{name} needs at least one value")
    return check_axis(name, items)


def check_axis(name: str, values) -> list:
    """The values of one axis, converted and checked; raise a one-line FwdrevError."""
    if name not in AXES:
        raise FwdrevError(f"unknown axis {name!r} (known: {', '.join(AXES)})")
    values = list(values)
    if not values:
        raise FwdrevError(f"axis {name} has no values")
    if name in INT_AXES:
        return [_int_value(name, v) for v in values]
    known = CHOICES[name]
    for v in values:
        if v not in known:
            raise FwdrevError(f"unknown {name} {v!r} (known: {', '.join(known)})")
    return list(dict.fromkeys(values))


def _int_value(name, v):
    if name == "d" and v == "m":
        return "m"  # tied: d = m
    if isinstance(v, bool) or not re.fullmatch(r"[+-]?\d+", str(v).strip()):
        raise FwdrevError(f"{name} must be a list of integers, got {v!r}")
    n, low = int(str(v).strip()), (0 if name == "L" else 1)
    if n < low:
        raise FwdrevError(f"{name} must be at least {low}, got {n}")
    return n


def preset(name: str) -> dict:
    """The preset `name`, or a one-line FwdrevError naming the known ones."""
    if name not in PRESETS:
        raise FwdrevError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return PRESETS[name]


def subgrids(preset_name, overrides: dict) -> list:
    """The sub-grids to expand: the preset's, each with the command line's axes on top;
    or, without a preset, one grid of the command line's axes over the defaults."""
    if preset_name is None:
        return [{"name": "command line", **AXIS_DEFAULTS, **overrides}]
    grids = []
    for g in preset(preset_name)["grids"]:
        full = {**AXIS_DEFAULTS, **{k: v for k, v in g.items() if k != "name"}, **overrides}
        grids.append({"name": g["name"], **{a: check_axis(a, full[a]) for a in AXES}})
    return grids


def expand(grids) -> list:
    """[(Point, modes tuple, line names)]: the union of the sub-grids, each point once.

    Impossible combinations (numpy on a GPU) are dropped; "auto" devices become the CPU
    plus CUDA where present; a point in several lines keeps every line's name.
    """
    cases = {}
    for g in grids:
        modes = tuple(m for m in MODES if m in g["mode"])
        for values in itertools.product(*(g[a] for a in AXES if a != "mode")):
            kw = dict(zip([a for a in AXES if a != "mode"], values))
            if kw["d"] == "m":
                kw["d"] = kw["m"]
            for device in _devices(kw["device"]):
                if kw["backend"] == "numpy" and device != "cpu":
                    continue  # numpy has no GPU: not a point at all
                point = Point(**{**kw, "device": device})
                _, old_modes, lines = cases.get(point.key(), (point, (), []))
                merged = tuple(m for m in MODES if m in old_modes or m in modes)
                cases[point.key()] = (point, merged, lines + [g["name"]])
    if not cases:
        raise FwdrevError("the grid is empty (numpy runs on the CPU only; ask for --backend torch)")
    return [(p, m, list(dict.fromkeys(lines))) for p, m, lines in cases.values()]


def _devices(device):
    if device == "auto":
        return ["cpu", "cuda"] if cuda_available() else ["cpu"]
    return [device]


def spec_hash(spec: dict) -> str:
    """A short fingerprint of what a run sweeps, to recognise a run worth resuming."""
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
