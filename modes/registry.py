"""The modes and what each says about itself: one entry per mode, its traits beside it.

    register_mode("mine", obj)                       # a peer: no counts, no model
    register_mode("mine", obj, counts=True, predict=fn, direction="forward",
                  memory=fn, execs=("eager",), requires=("jax",), extras=fn, style={...},
                  unavailable=fn, compile_s=10.0)

A mode is any object with gradient(chain, x, wrt=..., dense_B=..., check=...) and
jacobian(chain, x, check=...). Its traits are optional keywords, read by the bench, which
names no mode itself:

- counts: its Results carry exact Ops and memory (an engine); False: a peer (ops None).
- predict: predict(target, widths, activation, bias, loss) → the Ops its count must equal,
  or None where it has no closed form; None: no prediction at all.
- memory: memory(target, widths, activation, bias, loss) → the peak live elements its
  count must equal, or None where it has no closed form.
- direction: "forward" or "reverse", the engine whose plan its time and memory are
  estimated by (the guards and the time model).
- execs: how it can run (eager; graph: replayed from a CUDA graph).
- requires: the packages it imports; one missing is the skip reason of its rows.
- unavailable: unavailable() → why it cannot run here beyond a missing package (a compiler
  it needs, say), or None.
- handles: {layer axis: values} — the chains it is written for ({"activation": ("none",)}:
  linear chains only); a point with another value is skipped, saying so. None: every chain.
- compile_s: seconds one compilation takes (a peer that compiles per shape: the guards'
  estimate of its set-up, and the smoke test leaves out one above a second).
- extras: extras(chain, target, call) → {column: value} of extra columns of its rows.
- style: how the figures draw it ({"color": …, "marker": …, "linestyle": …}), or None.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

DIRECTIONS = ("forward", "reverse")


@dataclass(frozen=True)
class Traits:
    counts: bool = False
    predict: object = None
    memory: object = None
    direction: str = "reverse"
    execs: tuple = ("eager",)
    requires: tuple = ()
    extras: object = None
    style: dict = None
    unavailable: object = None
    compile_s: float = 0.0
    handles: dict = None

    def refuses(self, layers: dict):
        """Why a chain of these layer kinds ({"activation": "relu", …}) is not one the mode
        is written for (its `handles`), or None."""
        for axis, allowed in (self.handles or {}).items():
            if axis in layers and str(layers[axis]) not in allowed:
                return f"written for {axis} {', '.join(allowed)} only (this point: {layers[axis]})"
        return None

    def missing(self):
        """Why the mode cannot run here at all (a package it requires is missing, or its own
        `unavailable` says why), or None."""
        for pkg in self.requires:
            if importlib.util.find_spec(pkg) is None:
                return f"{pkg} not installed"
        return self.unavailable() if self.unavailable else None


MODES: dict = {}
"""name → mode: any object with gradient(chain, x, wrt=..., dense_B=...) and jacobian(chain, x)."""
TRAITS: dict = {}
"""name → Traits of the mode registered under that name."""


def register_mode(name, mode, *, counts=False, predict=None, memory=None, direction="reverse",
                  execs=None, requires=(), extras=None, style=None, unavailable=None,
                  compile_s=0.0, handles=None):
    """Add a mode (an engine, or a peer such as torch.autograd) under `name`, with its
    traits (all optional: a mode without any is a peer that runs eagerly)."""
    for fn in ("gradient", "jacobian"):
        if not callable(getattr(mode, fn, None)):
            raise TypeError(f"mode {name!r} has no {fn}() function")
    if direction not in DIRECTIONS:
        raise TypeError(f"mode {name!r}: direction must be one of {', '.join(DIRECTIONS)}, "
                        f"got {direction!r}")
    execs = tuple(execs or getattr(mode, "execs", ("eager",)))
    MODES[name] = mode
    TRAITS[name] = Traits(bool(counts), predict, memory, direction, execs, tuple(requires), extras,
                          style, unavailable, float(compile_s),
                          {k: tuple(map(str, v)) for k, v in (handles or {}).items()} or None)
    return mode


def traits(name) -> Traits:
    """The traits of mode `name` (a peer's defaults for a name no one registered)."""
    return TRAITS.get(name, Traits())


def engines() -> tuple:
    """The modes that count their operations, in the order registered."""
    return tuple(n for n, t in TRAITS.items() if t.counts)
