"""The grid of a sweep: axis values from the command line or a preset, checked, and
expanded into benchmark cases (a `Point` and the modes to time on it).

Bad values raise `AxisError` with a one-line message before anything is written.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re

from modes import MODES, cuda_available, traits

from bench import axes
from bench.errors import AxisError
from bench.points import Point, execs
from bench.sweep.presets import AXES, AXIS_DEFAULTS, PRESETS

def parse_axis(name: str, text: str) -> list:
    """`--NAME a,b,c` as a list of checked values ("m" is allowed in d: d = m)."""
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    if not items:
        raise AxisError(f"--{name} needs at least one value")
    return check_axis(name, items)


def check_axis(name: str, values) -> list:
    """The values of one axis (bench.axes), converted and checked, each once; a grid's own
    values too: d = m, device and exec auto, mode all or fast (MODE_GROUPS, now)."""
    ax = axes.axis(name)
    values = list(values)
    if not values:
        raise AxisError(f"axis {name} has no values")
    if name == "mode":
        values = [m for v in values for m in
                  ([n for n in MODES if MODE_GROUPS[v][1](traits(n))] if v in MODE_GROUPS else [v])]
    out = [v if _grid_only(ax, v) else ax.check(v) for v in values]
    return list(dict.fromkeys(out))


MODE_GROUPS = {
    "all": ("every registered mode", lambda t: True),
    "fast": ("every registered mode but those that compile for seconds per shape",
             lambda t: t.compile_s <= 1.0),
}
"""A grid's names for groups of modes, expanded when the grid is checked (a plugin's modes
join them): name → (what it means, which traits belong)."""


def _grid_only(ax, v) -> bool:
    """A value only a grid has: d = m, or auto where the axis defines it."""
    return (ax.name == "d" and v == "m") or (bool(ax.auto) and v == "auto")


def preset(name: str) -> dict:
    """The preset `name`, or a one-line AxisError naming the known ones."""
    if name not in PRESETS:
        raise AxisError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
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

    Impossible combinations are dropped: numpy on a GPU, exec graph off CUDA, and the modes
    that cannot run a point's exec (peers replay no graph). "auto" devices become the CPU
    plus CUDA where present, "auto" exec eager (and graph on CUDA); a point in several
    lines keeps every line's name.
    """
    cases = {}
    for g in grids:
        modes = tuple(m for m in MODES if m in g["mode"])
        for values in itertools.product(*(g[a] for a in AXES if a != "mode")):
            kw = dict(zip([a for a in AXES if a != "mode"], values))
            if kw["d"] == "m":
                kw["d"] = kw["m"]
            if kw["waist"] and kw["L"] != 3:
                continue  # an hourglass is [d, m, s, m, K]: with another L, not a point at all
            for device, ex in _devices_execs(kw["device"], kw["exec"]):
                if kw["backend"] == "numpy" and device != "cpu":
                    continue  # numpy has no GPU: not a point at all
                runs = tuple(m for m in modes if ex in execs(m))
                if not runs:
                    continue
                point = Point(**{**kw, "device": device, "exec": ex})
                _, old_modes, lines = cases.get(point.key(), (point, (), []))
                merged = tuple(m for m in MODES if m in old_modes or m in runs)
                cases[point.key()] = (point, merged, lines + [g["name"]])
    if not cases:
        raise AxisError("the grid is empty (numpy runs on the CPU only, and exec graph on CUDA "
                          "with the torch backend, for the engines only)")
    return [(p, m, list(dict.fromkeys(lines))) for p, m, lines in cases.values()]


def _devices_execs(device, ex):
    """[(device, exec)] of one grid entry: auto devices resolved, exec graph on CUDA only."""
    devices = (["cpu", "cuda"] if cuda_available() else ["cpu"]) if device == "auto" else [device]
    out = []
    for dev in devices:
        cuda = dev.startswith("cuda")
        for e in (["eager", "graph"] if cuda else ["eager"]) if ex == "auto" else [ex]:
            if e == "eager" or cuda:
                out.append((dev, e))
    return out


def spec_hash(spec: dict) -> str:
    """A short fingerprint of what a run sweeps, to recognise a run worth resuming."""
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# -- help texts, generated from the data --------------------------------------------------
def allowed(axis: str) -> str:
    """The values an axis flag takes, in words (bench.axes)."""
    ax = axes.axis(axis)
    if ax.type is int:
        return f"integers {ax.low} … {ax.high}{', or m' if axis == 'd' else ''} — {ax.doc}"
    extra = f", auto ({ax.auto})" if ax.auto else "".join(f", {g} ({w})" for g, (w, _) in MODE_GROUPS.items()) \
        if axis == "mode" else ""
    return f"{', '.join(ax.allowed())}{extra} — {ax.doc}"


def _values(values) -> str:
    return ",".join(map(str, values))


def axis_help(axis: str) -> str:
    """`--AXIS`'s help: its allowed values and its default (the preset's)."""
    return (f"allowed: {allowed(axis)}; default: the preset's (with axes but no preset: "
            f"{_values(AXIS_DEFAULTS[axis])})")


def setting_help(what: str, key: str, defaults: dict, section: str) -> str:
    """A timing or guard flag's help: what it is and its default per preset."""
    per = ", ".join(f"{n} {p.get(section, {}).get(key, defaults[key]):g}"
                    for n, p in PRESETS.items())
    return f"{what} (default: the preset's — {per}; with no preset {defaults[key]:g})"


def describe_presets(width: int = 88) -> str:
    """Every preset from bench/sweep/presets.py: what it is for, its points, timing, guards and
    lines (for `fwdrev sweep --help`)."""
    import textwrap
    out = ["presets (bench/sweep/presets.py; --preset NAME, axes given on the command line "
           "replace the preset's on every line):"]
    for name, p in PRESETS.items():
        points = len(expand(subgrids(name, {})))
        tim = ", ".join(f"{k.replace('_', '-')} {v:g}" for k, v in p.get("timing", {}).items())
        lim = ", ".join(f"{k.replace('_', '-')} {v:g}" for k, v in p.get("guards", {}).items())
        lines = "; ".join(g["name"] for g in p["grids"])
        text = (f"{p.get('about', '')}. {points} points here. timing: {tim}. guards: {lim}. "
                f"lines: {lines}.")
        out.append(textwrap.fill(text, width, initial_indent=f"  {name:8} ",
                                 subsequent_indent=" " * 11))
    return "\n".join(out)
