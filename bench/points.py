"""A benchmark point and the callables that time it, shared by the sweep and the gate.

A point is data: backend, device, dtype, threads, target, L, m, d, K, a waist and an exec:
a point with waist = s > 0 is the hourglass [d, m, s, m, K] (L = 3), where the cheapest
bracketing beats both pure modes; exec = "graph" replays each engine call from a CUDA graph
(torch on CUDA, engines only) where "eager" runs it call by call. `prepare` builds the chain and input outside any timed region and
returns one zero-argument callable per mode, which does exactly one call of that mode
(an engine or a peer) and waits for the device (CUDA is asynchronous).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from modes import MODES, Chain, FwdrevError, predict
from modes.engine import EXECS

TARGETS = ("gradient", "params", "jacobian")


@dataclass(frozen=True)
class Point:
    backend: str = "numpy"
    device: str = "cpu"
    dtype: str = "float64"
    threads: int = 1
    target: str = "gradient"
    L: int = 1
    m: int = 16
    d: int = 16
    K: int = 1
    waist: int = 0
    exec: str = "eager"

    def __post_init__(self):
        if self.waist and self.L != 3:
            raise FwdrevError(f"a waist needs L = 3 (the hourglass [d, m, s, m, K]), got L = {self.L}")
        if self.exec not in EXECS:
            raise FwdrevError(f"unknown exec {self.exec!r} (known: {', '.join(EXECS)})")

    @property
    def widths(self):
        if self.waist:
            return [self.d, self.m, self.waist, self.m, self.K]
        return [self.d] + [self.m] * self.L + [self.K]

    @property
    def uniform(self) -> bool:
        return not self.waist

    def key(self) -> str:
        """A stable identifier, used to skip points already done and to name gate points
        (waist appears only when set and exec only when not eager, so uniform eager points
        keep the keys they always had)."""
        return "/".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                        if (f.name, getattr(self, f.name)) not in (("waist", 0), ("exec", "eager")))

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d) -> "Point":
        names = {f.name: f.type for f in fields(cls)}
        unknown = set(d) - set(names)
        if unknown:
            raise FwdrevError(f"unknown point field(s): {', '.join(sorted(unknown))}")
        kw = {k: (int(v) if names[k] in ("int", int) else str(v)) for k, v in d.items()
              if not (k in ("waist", "exec") and v in ("", None))}
        return cls(**kw)


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
    loss = "squared"
    return Chain.random(point.widths, loss=loss, backend=point.backend, device=point.device,
                        dtype=point.dtype, seed=seed)


def execs(mode: str) -> tuple:
    """How a mode can run: an engine declares its `execs` (eager, graph); a peer, eager."""
    return tuple(getattr(MODES[mode], "execs", ("eager",)))


def call_for(mode: str, point: Point, check=True):
    """The engine call that `point.target` names, as f(chain, x) -> Result. check=False
    times the call without its finiteness checks (no host sync on CUDA): check the answer
    once outside the timed region. A graph point's call replays a CUDA graph."""
    engine = MODES[mode]
    kw = {"check": check} if point.exec == "eager" else {"check": check, "exec": point.exec}
    if point.exec not in execs(mode):
        raise FwdrevError(f"mode {mode} cannot run with exec {point.exec!r} (it runs: "
                          f"{', '.join(execs(mode))})")
    if point.target == "gradient":
        return lambda chain, x: engine.gradient(chain, x, **kw)
    if point.target == "params":
        return lambda chain, x: engine.gradient(chain, x, wrt="params", **kw)
    if point.target == "jacobian":
        return lambda chain, x: engine.jacobian(chain, x, **kw)
    raise FwdrevError(f"unknown target {point.target!r} (known: {', '.join(TARGETS)})")


def prepare(point: Point, modes=("forward", "reverse"), seed=0, chain=None):
    """({mode: zero-argument callable}, {mode: Result}) for the point: each callable is
    exactly what the sweep times. Inputs are built here, not in the call. An engine's call
    is made once with every check (it raises on a non-finite answer) and its Result
    returned; its callable then runs without the checks. A peer is prepared here (its own
    arrays made, anything compiled: modes.peers.Prepared); its callable is the framework's
    call and the device's wait alone, and its one answer is converted and checked here."""
    chain = chain or chain_for(point, seed)
    x = chain.random_x(seed + 1)
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
    return call_for("reverse", replace(point, exec="eager"))(chain, chain.random_x(seed + 1))


def _timed(fn, chain, x, sync):
    def call():
        res = fn(chain, x)
        sync()
        return res
    return call


def to_numpy_list(b, res):
    """The answer of a Result as flat numpy arrays (gradient, params or Jacobian), using
    backend b to bring them to the host."""
    if res.jac is not None:
        return [b.to_numpy(res.jac)]
    if isinstance(res.grad, list):
        return [b.to_numpy(a) for t in res.grad for a in t]
    return [b.to_numpy(res.grad)]


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
    """The closed-form derivative-chain count of a linear point, or None for a mode that
    does not count (a peer). forward and reverse: modes.predict (by widths for an hourglass);
    cheapest: the bracketing DP's minimum (backprop's count for the parameters)."""
    from modes import ENGINES, cheapest
    if mode not in ENGINES:
        return None
    if mode == "cheapest":
        if point.target == "params":
            return predicted_ops(point, "reverse")
        return _dp_ops(point, cheapest)
    if point.uniform:
        return predict.ops_for(point.target, mode, point.L, point.m, point.d, point.K)
    fn = {"gradient": predict.gradient_ops_widths, "params": predict.params_ops_widths,
          "jacobian": predict.jacobian_ops_widths}[point.target]
    return fn(mode, point.widths)


def _dp_ops(point, cheapest):
    """The DP's minimum as Ops (mults and adds split as the kernel counts them)."""
    from modes.ops import Ops
    from modes.shapes import shape_chain
    shapes = cheapest.factor_shapes(shape_chain(tuple(point.widths)),
                                    with_loss=point.target == "gradient")
    total, split = cheapest.plan(shapes)
    mults = _dp_mults(shapes, split, 0, len(shapes) - 1)[0]
    return Ops(mults=mults, adds=total - mults)


def _dp_mults(shapes, split, i, j):
    """(multiplications, rows, cols) of the planned product of dense factors i..j."""
    if i == j:
        return 0, shapes[i][1], shapes[i][2]
    k = split[i][j]
    a, n, m = _dp_mults(shapes, split, i, k)
    b, _, l = _dp_mults(shapes, split, k + 1, j)
    return a + b + n * m * l, n, l


def agreement(results: dict, backend) -> float:
    """Relative error of every mode's answer against reverse mode's (NaN when any is)."""
    ref = to_numpy_list(backend, results["reverse"])
    return relerr([a for r in results.values() for a in to_numpy_list(backend, r)],
                  [a for _ in results.values() for a in ref])
