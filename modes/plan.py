"""Plan once, execute many: the first call of an engine on a chain records what it executes,
later calls run the recording as one generated Python function.

Recording runs the engine for real through a counting `Kernel` whose backend is wrapped:
every backend call (a product, an elementwise step, a reshape) is executed and logged with
where its arguments came from — x, an earlier step's output, or a constant (the chain's
weights and y, scalars, shapes). The log becomes Python source, one line per step,

    def plan(x):
        r1 = matmul(c0, x)
        r2 = matmul(c1, r1)
        ...
        return r7, [(r9,), (r12, r3)], None

compiled once with the backend's bound methods and the constants in its namespace. The
counts are the kernel's, taken during the recording: the counting kernel stays the single
definition of a count, and a replay returns exactly the counts of the call it replays.

Nothing is memoised on x: every replay computes from its own x. Constants are held by
reference, so weights changed in place are seen by the next replay; weights (or y)
replaced by other arrays make the plan stale, which every call checks (`Held`: an identity
test per layer, only after some array was assigned) and answers by recording a new plan.
"""
from __future__ import annotations

import math
import weakref

from .kernel import Kernel, elements

_PLANS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
"""chain → {key: Plan}"""

EPOCH = [0]
"""Bumped whenever any layer's W or b, or any loss's y, is assigned (modes.layers): a plan
recorded in the current epoch is fresh without looking further.

It stays one counter per process, on purpose: the assignment `layer.W = …` is the only
place that knows an array was replaced, and a layer knows no chain (one may sit in several,
and a chain's plans are found from the chain, `_PLANS`), so nothing could be passed to it;
a counter per chain would have to be reached from the layer all the same. It is only ever
compared for equality, so one bump too many (another chain's assignment) costs the
identity check of `Held.fresh` and never a stale plan; the counter holds no arrays."""


def bump_epoch():
    """Some watched array was assigned somewhere in this process (modes.layers._Watched)."""
    EPOCH[0] += 1


class _Recording:
    """A backend stand-in that executes every call on the real backend and logs it."""

    def __init__(self, backend):
        self._b = backend
        self.steps = []            # (method name, argument specs, output slot)
        self.reads = []            # per step: the slots its arguments read
        self.phase = []            # per step: the kernel's phase when it ran
        self.slot = {}             # id(array) → slot number
        self.keep = []             # every recorded array, alive so no id is reused
        self.consts = []
        self.kernel = None         # set by `planned`, for the phase of each step
        self.shapes = []           # per step: (name, argument shapes, output shape)

    def __getattr__(self, name):
        attr = getattr(self._b, name)
        if not callable(attr) or name in ("owns", "all_finite", "synchronize", "to_numpy"):
            return attr

        def call(*args):
            out = attr(*args)
            self.reads.append(sorted(self.slots_in(args)))
            self.shapes.append((name, [_shape_of(a) for a in args], _shape_of(out)))
            self.steps.append((name, [self.spec(a) for a in args], self.bind(out)))
            self.phase.append(self.kernel.current_phase if self.kernel else "eval")
            return out
        return call

    def slots_in(self, a) -> set:
        if isinstance(a, (list, tuple)):
            return set().union(*(self.slots_in(v) for v in a)) if a else set()
        n = self.slot.get(id(a))
        return {n} if n is not None and self.keep[n] is a else set()

    def bind(self, a) -> int:
        n = len(self.keep)
        self.keep.append(a)
        self.slot[id(a)] = n
        return n

    def spec(self, a) -> str:
        """The source text that stands for argument a in the generated function: an earlier
        output (first: numpy's scalars are Python floats too), a list or tuple, a literal,
        or a constant held by reference."""
        n = self.slot.get(id(a))
        if n is not None and self.keep[n] is a:
            return f"r{n}"
        if isinstance(a, (list, tuple)):
            inner = ", ".join(self.spec(v) for v in a)
            return f"[{inner}]" if isinstance(a, list) else f"({inner}{',' if len(a) == 1 else ''})"
        if a is None or type(a) in (bool, int, str) or (type(a) is float and math.isfinite(a)):
            return repr(a)  # (inf and nan have no literal: held as constants)
        self.consts.append(a)
        return f"c{len(self.consts) - 1}"


class Plan:
    """A recorded engine call: run(x) -> (value, grad, jac); ops and phases as counted."""

    def __init__(self, rec: _Recording, out, phases, chain):
        self.phases, self.ops, self.held = phases, phases["chain"], Held(chain)
        self.graph = None  # run(x) replayed from a CUDA graph, once captured (modes.engine)
        self.profile = list(rec.shapes)  # (backend call, argument shapes, output shape) per step
        keep = rec.slots_in(list(out))
        self.mem, last = memory(rec, keep)
        lines, dies = [], {}
        for s, at in last.items():  # the step after which each slot is read no more
            if s not in keep:
                dies.setdefault(at, []).append(f"r{s}")
        infix = rec._b.operators  # calls that are the arrays' own operator: one call less a step
        for t, (name, args, n) in enumerate(rec.steps):
            op = infix.get(name) if len(args) == 2 else None
            lines.append(f"    r{n} = {args[0]} {op} {args[1]}" if op else f"    r{n} = {name}({', '.join(args)})")
            dead = dies.get(t)
            if dead:  # free what no later step reads, as the counted peak assumes
                lines.append(f"    del {', '.join(dead)}")
        ret = ", ".join(rec.spec(o) for o in out)  # after the steps: may add constants
        src = "def plan(r0):\n" + "\n".join(lines + [f"    return {ret}"]) + "\n"
        ns = {f"c{i}": c for i, c in enumerate(rec.consts)}
        ns.update({name: getattr(rec._b, name) for name, _, _ in rec.steps})
        exec(compile(src, "<fwdrev plan>", "exec"), ns)  # noqa: S102  our own generated source
        self.run, self.source = ns["plan"], src


class Held:
    """The arrays a chain held (its weights, biases and y) when something was built from it
    — a plan, a peer's copy of the chain — and whether it still holds them."""

    def __init__(self, chain):
        self.arrays, self.epoch = _arrays(chain), EPOCH[0]

    def fresh(self, chain) -> bool:
        """At once when no array was assigned anywhere since, else by identity, array by
        array."""
        if self.epoch == EPOCH[0]:
            return True
        if all(a is b for a, b in zip(_arrays(chain), self.arrays)):
            self.epoch = EPOCH[0]
            return True
        return False


VIEWS = ("reshape", "transpose", "slice")
"""Backend calls whose result shares its argument's storage (numpy and torch alike for the
contiguous arrays the engines make): no new elements, and they keep their base alive."""


def memory(rec: _Recording, keep: set):
    """The peak number of array elements the call holds live, beyond the weights and x:
    ({"peak": n, "phases": {phase: n}}, {slot: step of its last read}). An output lives to
    the end; anything else is freed after the last step that reads it or a view of it."""
    n_steps = len(rec.steps)
    made, size, base = {}, {}, {}
    for t, (name, _, s) in enumerate(rec.steps):
        made[s] = t
        view, src = name in VIEWS, rec.reads[t]  # a view of a constant (y as a column) is
        base[s] = base.get(src[0], src[0]) if view and src else s  # no storage of the call's
        size[s] = 0 if view else elements(rec.keep[s])
    last = {s: made[s] for s in made}
    for t, reads in enumerate(rec.reads):
        for s in reads:
            if s in last:
                last[s] = t
    until = {}
    for s in made:  # storage lives while its own variable or any view of it is read
        b = base[s]
        end = n_steps if s in keep else last[s]
        until[b] = max(until.get(b, -1), end)
    live = [0] * n_steps
    for s, t0 in made.items():
        if size[s]:
            for t in range(t0, min(until[s], n_steps - 1) + 1):
                live[t] += size[s]
    phases = {}
    for t, ph in enumerate(rec.phase):
        phases[ph] = max(phases.get(ph, 0), live[t])
    return {"peak": max(live, default=0), "phases": phases}, last


def _shape_of(a):
    """An argument's shape for the time model: a tuple for an array, a list for a list of
    arrays (hcat), None for a scalar or a shape given as data."""
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape"):
        return [tuple(int(d) for d in v.shape) for v in a]
    return tuple(int(d) for d in a.shape) if hasattr(a, "shape") else None


def _arrays(chain):
    out = [chain.loss.y]
    for layer in chain.linear_layers:
        out += [layer.W, layer.b]
    return out


def planned(chain, call, options, x, body):
    """(plan, answer): the chain's plan for call + options ((mode, target) and the engine's
    options) on x's batch size, and None; or, when there is none or it is stale, a new
    plan recorded by running body(chain, kernel, x, *options) -> (value, grad, jac) for real
    through a counting kernel, and that call's answer. One x (d,) and each batch size B
    (d × B) have plans of their own."""
    plans = _PLANS.get(chain)
    if plans is None:
        plans = _PLANS[chain] = {}
    key = call + options + tuple(x.shape[1:])
    p = plans.get(key)
    if p is not None and p.held.fresh(chain):
        return p, None
    rec = _Recording(chain.backend)
    rec.bind(x)  # slot 0: the plan's argument
    kernel = rec.kernel = Kernel(rec)
    out = body(chain, kernel, x, *options)
    p = plans[key] = Plan(rec, out, kernel.phases(), chain)
    return p, out


def profile(chain, mode, target):
    """The backend calls of the chain's plan for (mode, target, …) as (name, argument
    shapes, output shape), or None when no such plan was recorded (call the mode first)."""
    for key, p in _PLANS.get(chain, {}).items():
        if key[:2] == (mode, target):
            return p.profile
    return None
