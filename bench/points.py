"""A benchmark point and the callables that time it, shared by the sweep and the gate.

A point is data, one value per axis of bench.axes: backend, device, dtype, threads,
target, L, m, d, K, a waist, an exec, the layers' kinds (activation, loss, bias) and the
batch B (x is d × B, one column per sample). A point
with waist = s > 0 is the hourglass [d, m, s, m, K] (L = 3), where the cheapest bracketing
beats both pure modes; exec = "graph" replays each engine call from a CUDA graph (torch on
CUDA, engines only) where "eager" runs it call by call. `prepare` builds the chain and
input outside any timed region and returns one zero-argument callable per mode, which does exactly one call of that mode
(an engine or a peer) and waits for the device (CUDA is asynchronous).
"""
from __future__ import annotations

import math
from dataclasses import asdict, field, make_dataclass

from modes import MODES, Chain, traits

from bench import axes
from bench.axes import TARGETS  # noqa: F401  (what a point computes; bench.axes defines it)
from bench.errors import AxisError


class _PointMethods:
    """What a point does beyond its fields (bench.axes.POINT_AXES: one field per axis)."""

    def __post_init__(self):
        for a in axes.POINT_AXES:
            if a.type is str and a.strict:
                a.check(getattr(self, a.name))
        if self.waist and self.L != 3:
            raise AxisError(f"a waist needs L = 3 (the hourglass [d, m, s, m, K]), got L = {self.L}")

    @property
    def widths(self):
        if self.waist:
            return [self.d, self.m, self.waist, self.m, self.K]
        return [self.d] + [self.m] * self.L + [self.K]

    @property
    def batch(self):
        """The batch as the engines and modes.shapes take it: None at B = 1 (one x ∈ R^d,
        exactly a point's input before the B axis), else B (x is d × B)."""
        return None if self.B == 1 else self.B

    @property
    def uniform(self) -> bool:
        return not self.waist

    @property
    def layers(self) -> dict:
        """The chain's kinds of layers: activation (None: linear), loss and bias, as
        modes.Chain.random, modes.shapes and the modes' predictions take them."""
        return {"activation": None if self.activation == "none" else self.activation,
                "loss": self.loss, "bias": self.bias == "on"}

    def key(self) -> str:
        """A stable identifier, used to skip points already done and to name gate points
        (an implicit axis — waist, exec, the layers' kinds — appears only when not at its
        default, so the points of runs made before it existed keep their keys)."""
        return "/".join(f"{a.name}={getattr(self, a.name)}" for a in axes.POINT_AXES
                        if not (a.implicit and getattr(self, a.name) == a.default))

    def label(self, style: str = "words") -> str:
        """The point named for a reader. words: `gradient L2 m64 d64 K1 numpy/cpu/float64/1t`
        (then the implicit axes not at their default); id: the same joined by dashes, a
        pytest id; short: `numpy/params L=2 m=24 d=24 K=1`, the gate's (its few points differ
        in the backend, target and sizes alone; its --point takes this); key: `key()`."""
        if style == "key":
            return self.key()
        extra = axes.words(self).split()[1 + len(axes.SIZE_AXES):]
        if style == "short":
            sizes = [f"{a}={getattr(self, a)}" for a in axes.SIZE_AXES]
            return " ".join([f"{self.backend}/{self.target}", *sizes, *extra])
        conf = f"{self.backend}/{self.device}/{self.dtype}/{self.threads}t"
        ex = [] if self.exec == "eager" else [self.exec]
        if style == "id":
            return "-".join([self.target, self.backend, self.device, *ex, self.dtype,
                             f"t{self.threads}", *axes.words(self).split()[1:]])
        if style != "words":
            raise AxisError(f"unknown label style {style!r} (known: words, id, short, key)")
        return " ".join([axes.words(self), conf, *ex])

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d) -> "Point":
        """A point from a row or a plan case's dict; an axis missing or empty takes its
        default (bench.axes.upgrade)."""
        unknown = set(d) - set(axes.POINT_FIELDS)
        if unknown:
            raise AxisError(f"unknown point field(s): {', '.join(sorted(unknown))}")
        row = axes.upgrade(d)
        return cls(**{a.name: a.type(row[a.name]) for a in axes.POINT_AXES})

    @classmethod
    def of_row(cls, row) -> "Point":
        """The point of a points.csv row (its other columns ignored)."""
        return cls.from_dict({k: row.get(k, "") for k in axes.POINT_FIELDS})


Point = make_dataclass(
    "Point", [(a.name, a.type, field(default=a.default)) for a in axes.POINT_AXES],
    bases=(_PointMethods,), frozen=True)
Point.__module__ = __name__
Point.__doc__ = """A benchmark point: one value per axis of bench.axes (its fields, in order)."""


def set_threads(n: int) -> dict:
    """Pin numpy's BLAS (threadpoolctl) and torch's intra-op pool to n threads; return what
    is now in force. Both pools above one thread in one process were seen to make a GEMV
    swing from 0.06 ms to 8 ms, so the count is set, never inherited."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=int(n))
    torch.set_num_threads(int(n))
    blas = sorted({(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()})
    return {"threads": int(n), "torch_threads": torch.get_num_threads(),
            "pools": [f"{api}:{k}" for api, k in blas]}


def chain_for(point: Point, seed=0) -> Chain:
    """The point's chain: its widths and layers, on its backend, device and dtype."""
    return Chain.random(point.widths, backend=point.backend, device=point.device,
                        dtype=point.dtype, seed=seed, **point.layers)


def execs(mode: str) -> tuple:
    """How a mode can run (its `execs` trait): an engine eager and graph; a peer, eager."""
    return traits(mode).execs


def call_for(mode: str, point: Point, check=True):
    """The engine call that `point.target` names, as f(chain, x) -> Result. check=False
    times the call without its finiteness checks (no host sync on CUDA): check the answer
    once outside the timed region. A graph point's call replays a CUDA graph."""
    engine = MODES[mode]
    kw = {"check": check} if point.exec == "eager" else {"check": check, "exec": point.exec}
    if point.exec not in execs(mode):
        raise AxisError(f"mode {mode} cannot run with exec {point.exec!r} (it runs: "
                          f"{', '.join(execs(mode))})")
    if point.target == "gradient":
        return lambda chain, x: engine.gradient(chain, x, **kw)
    if point.target == "params":
        return lambda chain, x: engine.gradient(chain, x, wrt="params", **kw)
    if point.target == "jacobian":
        return lambda chain, x: engine.jacobian(chain, x, **kw)
    raise AxisError(f"unknown target {point.target!r} (known: {', '.join(TARGETS)})")


def prepare(point: Point, modes=("forward", "reverse"), seed=0, chain=None):
    """({mode: zero-argument callable}, {mode: Result}) for the point: each callable is
    exactly what the sweep times. Inputs are built here, not in the call. An engine's call
    is made once with every check (it raises on a non-finite answer) and its Result
    returned; its callable then runs without the checks. A peer is prepared here (its own
    arrays made, anything compiled: modes.peers.Prepared); its callable is the framework's
    call and the device's wait alone, and its one answer is converted and checked here."""
    chain = chain or chain_for(point, seed)
    x = x_for(point, chain, seed)
    sync = chain.backend.synchronize
    calls, results = {}, {}
    for mode in modes:
        call_for(mode, point)  # an unknown target or exec is refused here, for peers too
        peer = getattr(MODES[mode], "prepare", None)
        if peer is None:
            results[mode] = call_for(mode, point)(chain, x)
            calls[mode] = _timed(call_for(mode, point, check=False), chain, x, sync)
        else:
            p = peer(chain, x, point.target)
            results[mode], calls[mode] = p.answer(p.call()), p.call
    return calls, results


def eager_reference(point: Point, chain, seed=0):
    """Reverse mode's eager Result on the input `prepare` uses: what a graph point's
    replayed answers are held to."""
    from dataclasses import replace
    return call_for("reverse", replace(point, exec="eager"))(chain, x_for(point, chain, seed))


def x_for(point: Point, chain, seed=0):
    """The point's input: one x ∈ R^d at B = 1 (exactly the input of a point before the B
    axis), else the d × B batch of B columns."""
    return chain.random_x(seed + 1, B=point.batch)


def _timed(fn, chain, x, sync):
    def call():
        res = fn(chain, x)
        sync()
        return res
    return call


def to_numpy_list(b, res, per_sample=False):
    """The answer of a Result as flat numpy arrays (gradient, params or Jacobian), using
    backend b to bring them to the host; per_sample: a batch's per-sample gradients (B × d)
    and Jacobians (B × K × d) one array per sample (the parameters' gradient of the mean
    loss stays whole)."""
    if isinstance(res.grad, list) and res.jac is None:
        return [b.to_numpy(a) for t in res.grad for a in t]
    a = b.to_numpy(res.jac if res.jac is not None else res.grad)
    return list(a) if per_sample else [a]


def relerr(a_list, b_list) -> float:
    """max ‖a − b‖ / max(‖b‖, tiny) over the pieces of two answers; NaN when any piece's is
    (a NaN answer never agrees: max() would drop it)."""
    import numpy as np
    worst = 0.0
    for a, b in zip(a_list, b_list):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        e = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
        if math.isnan(e):
            return math.nan
        worst = max(worst, e)
    return worst


def predicted_ops(point: Point, mode: str):
    """The count a mode's Result must equal at the point (its `predict` trait over the
    point's widths, layers and batch), or None for a mode that predicts none (a peer)."""
    fn = traits(mode).predict
    return None if fn is None else fn(point.target, point.widths, **point.layers, **_batch(point))


def predicted_memory(point: Point, mode: str):
    """The peak live elements a mode's Result must hold at the point (its `memory` trait),
    or None where it has no closed form."""
    fn = traits(mode).memory
    return None if fn is None else fn(point.target, point.widths, **point.layers, **_batch(point))


def _batch(point: Point) -> dict:
    """{"B": B} for a batched point, {} at B = 1 (a plugin's trait need not take B)."""
    return {} if point.batch is None else {"B": point.batch}


def agreement(results: dict, backend, batched=False) -> float:
    """Relative error of every mode's answer against reverse mode's (NaN when any is); on a
    batch (batched=True), the worst sample's, so one small sample's error is not hidden by
    a large one's norm."""
    ref = to_numpy_list(backend, results["reverse"], batched)
    return relerr([a for r in results.values() for a in to_numpy_list(backend, r, batched)],
                  [a for _ in results.values() for a in ref])
