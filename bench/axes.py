"""The axes of a sweep, one row each: what a point is, and everything derived from it.

A row says an axis's name, its type, its default, its allowed values or lowest value, its
role — "shape" (the function differentiated: what is computed), "config" (what it runs
on) or "mode" (who computes it) —, whether it is part of a point's key, its label and its
unit. From this table come `bench.points.Point` (its fields, key, label and checks), the
point columns of points.csv (bench.rows), the sweep's flags and their help, grid
validation and expansion (bench.sweep.grid), the pairing keys of compare, merge and
report, and the axis table of results/README.md.

Adding an axis is one row here plus the code that gives it a meaning (where the chain is
built: bench.points.chain_for). A row with `implicit=True` is left out of a point's key
at its default, and a row read from an older points.csv that lacks the column takes the
default: the keys and rows of runs made before the axis existed stay as they were.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bench.errors import AxisError
from modes.predict import TARGETS
"""What a point computes: ∇_x f, ∇_w f, or the K × d Jacobian of h."""


def _modes():
    from modes import MODES
    return tuple(MODES)


def _backends():
    from modes import BACKENDS
    return tuple(BACKENDS)


def _dtypes():
    from modes import DTYPES
    return tuple(DTYPES)


def _activations():
    from modes import ACTIVATIONS
    return ("none", *ACTIVATIONS)


def _losses():
    from modes import LOSSES
    return tuple(LOSSES)


@dataclass(frozen=True)
class Axis:
    """One axis. `values`: the allowed values of a str axis (a tuple, or a function of
    the registries for modes and backends); `auto`: what the value "auto" means in a grid
    (grid-only, never a point's); `low`, `high`: an int axis's lowest and highest value
    (beyond `high` no point fits any machine and the estimates would overflow); `grid`: the values a
    grid takes when neither a preset line nor the command line names the axis; `point`:
    whether a point has it (the mode is a grid's axis, not a point's); `strict`: whether a
    point's value must be one of `values` (a device may be cuda:N)."""

    name: str
    type: type
    default: object
    role: str
    doc: str
    values: object = ()
    low: int = 0
    high: int = 1 << 24
    implicit: bool = False
    label: str = ""
    unit: str = ""
    auto: str = ""
    grid: tuple = ()
    point: bool = True
    strict: bool = True

    def allowed(self) -> tuple:
        """The values a point may take (a str axis)."""
        return tuple(self.values() if callable(self.values) else self.values)

    def grid_values(self) -> list:
        return list(self.grid or (self.default,))

    def check(self, value):
        """`value` of a point, converted to the axis's type; a one-line AxisError if not
        allowed."""
        if self.type is int:
            text = str(value).strip()
            if isinstance(value, bool) or not re.fullmatch(r"[+-]?[0-9]+", text):
                raise AxisError(f"{self.name} must be a list of integers, got {value!r}")
            if len(text) > 12:
                raise AxisError(f"{self.name} must be at most {self.high}, got {text[:20]}…")
            n = int(text)
            if not self.low <= n <= self.high:
                raise AxisError(f"{self.name} must be at {'least' if n < self.low else 'most'} "
                                f"{self.low if n < self.low else self.high}, got {n}")
            return n
        known = self.allowed()
        if str(value) not in known:
            raise AxisError(f"unknown {self.name} {value!r} (known: {', '.join(known)})")
        return str(value)

    def short(self, value) -> str:
        """The axis and its value in a label: `m64`, `relu`, `bias`."""
        if self.type is int:
            return f"{self.label}{int(float(value))}"
        return self.label or str(value)


SHAPE, CONFIG, MODE = "shape", "config", "mode"

AXES = (
    Axis("backend", str, "numpy", CONFIG, "array library the engines run on",
         values=_backends),
    Axis("device", str, "cpu", CONFIG, "where it runs", values=("cpu", "cuda"),
         auto="the CPU, plus CUDA where present", strict=False),
    Axis("dtype", str, "float64", CONFIG, "floating-point type", values=_dtypes),
    Axis("threads", int, 1, CONFIG, "threads of each BLAS and torch pool", low=1, high=1024,
         label="t", unit="threads"),
    Axis("target", str, "gradient", SHAPE, "gradient: ∇_x f; params: ∇_w f; jacobian: "
         "the K × d Jacobian of h", values=TARGETS),
    Axis("L", int, 1, SHAPE, "hidden layers", low=0, high=100_000, label="L", unit="layers", grid=(2,)),
    Axis("m", int, 16, SHAPE, "hidden width", low=1, label="m", unit="units", grid=(64,)),
    Axis("d", int, 16, SHAPE, "input width (m in a grid: d = m)", low=1, label="d",
         unit="units", grid=(64,)),
    Axis("K", int, 1, SHAPE, "output width", low=1, label="K", unit="units"),
    Axis("waist", int, 0, SHAPE, "s > 0: the hourglass [d, m, s, m, K] (L = 3)", low=0,
         implicit=True, label="s", unit="units"),
    Axis("exec", str, "eager", CONFIG, "eager: call by call; graph: each engine call "
         "replayed from a CUDA graph (torch on CUDA, engines only)", values=("eager", "graph"),
         implicit=True, auto="eager, and graph on CUDA", grid=("auto",)),
    Axis("activation", str, "none", SHAPE, "applied after every linear layer but the last "
         "(the Jacobians then depend on x)", values=_activations, implicit=True),
    Axis("loss", str, "squared", SHAPE, "ℓ: squared ½‖ŷ − y‖², or softmax cross-entropy",
         values=_losses, implicit=True),
    Axis("bias", str, "off", SHAPE, "on: every linear layer has a bias b_i", values=("off", "on"),
         implicit=True, label="bias"),
    Axis("mode", str, "forward", MODE, "the engines and peers to time", values=_modes,
         grid=("forward", "reverse"), point=False),
    Axis("B", int, 1, SHAPE, "samples per call: x is d × B, one column per sample (B = 1: "
         "one x)", low=1, implicit=True, label="B", unit="samples"),
)
"""Every axis. The point's fields follow this order (its key too: keep new rows last)."""
NAMES = tuple(a.name for a in AXES)
"""Every axis's name, in the table's order."""

BY_NAME = {a.name: a for a in AXES}
POINT_AXES = tuple(a for a in AXES if a.point)
POINT_FIELDS = tuple(a.name for a in POINT_AXES)
"""The point's columns, in the order of its fields and key."""
SHAPE_AXES = tuple(a.name for a in POINT_AXES if a.role == SHAPE)
"""What is computed: target, sizes and the layers."""
CONFIG_AXES = tuple(a.name for a in POINT_AXES if a.role == CONFIG)
"""What it runs on: backend, device, dtype, threads, exec."""
SIZE_AXES = tuple(a.name for a in POINT_AXES if a.type is int and a.role == SHAPE
                  and not a.implicit)
"""The sizes a line runs along and a slope is fitted against: L, m, d, K."""
LAYER_AXES = tuple(a.name for a in POINT_AXES if a.role == SHAPE and a.implicit)
"""The shape axes beyond the sizes: the waist and the layers' kinds."""
INT_AXES = tuple(a.name for a in AXES if a.type is int)
DEFAULTS = {a.name: a.default for a in POINT_AXES}
PAIRING = (*SHAPE_AXES, "mode")
"""Rows of two runs are the same measurement when these agree (and the configuration
columns that are not compared across)."""


def axis(name: str) -> Axis:
    if name not in BY_NAME:
        raise AxisError(f"unknown axis {name!r} (known: {', '.join(BY_NAME)})")
    return BY_NAME[name]


def upgrade(row: dict) -> dict:
    """A row of any points.csv schema with every point column present: a column the file
    predates (schema 1 had no waist nor exec, schema 2 no activation, loss nor bias) or
    left empty reads as its axis's default. The one upgrade path of old runs."""
    out = dict(row)
    for a in POINT_AXES:
        if out.get(a.name) in ("", None):
            out[a.name] = a.default
    return out


def words(row) -> str:
    """The shape of a point (a Point, or a row's dict) in words: `gradient L2 m64 d64 K1`,
    then each implicit shape axis not at its default (`s8`, `relu`, `softmax_ce`, `bias`)."""
    get = row.get if isinstance(row, dict) else lambda k, v=None: getattr(row, k, v)
    vals = upgrade({a: get(a, "") for a in POINT_FIELDS})
    sizes = [BY_NAME[a].short(vals[a]) for a in SIZE_AXES]
    extra = [BY_NAME[a].short(vals[a]) for a in LAYER_AXES if str(vals[a]) not in
             (str(DEFAULTS[a]), f"{DEFAULTS[a]}.0")]
    return " ".join([str(vals["target"]), *sizes, *extra])


def readme_table() -> str:
    """The axis table of results/README.md, from this table (a test keeps them equal)."""
    head = ["| axis | role | type | default | values | in the key | label | unit |",
            "|---|---|---|---|---|---|---|---|"]
    rows = []
    for a in AXES:
        vals = f"{a.low} … {a.high}" if a.type is int else "every registered mode" if a.name == "mode" \
            else ", ".join(f"`{v}`" for v in a.allowed())
        key = "no" if not a.point else "when not the default" if a.implicit else "yes"
        rows.append(f"| `{a.name}` | {a.role} | {a.type.__name__} | `{a.default}` | {vals} | "
                    f"{key} | {a.label} | {a.unit} |")
    return "\n".join(head + rows)
