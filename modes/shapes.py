"""A backend of shapes alone: every engine runs on it without touching a number, so the
plan of any chain — its backend calls with their shapes, its counts and its peak memory —
is known before a single weight is drawn (the time model and the guards use this for
points too large to build just to estimate them).

    profile, ops, mem = shape_plan(widths, mode, target)          # one input
    profile, ops, mem = shape_plan(widths, mode, target, B=64)    # a batch of 64
"""
from __future__ import annotations

from functools import lru_cache

from .arrays import Backend


class Shape:
    """An array that is only its shape."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(int(s) for s in shape)

    @property
    def ndim(self):
        return len(self.shape)

    def __getitem__(self, item):  # a slice of a vector
        start, stop, _ = item.indices(self.shape[0])
        return Shape((stop - start,))


def _shape(a):
    return a.shape if isinstance(a, Shape) else ()


def _broadcast(a, b):
    sa, sb = _shape(a), _shape(b)
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    return Shape(max(x, y) if min(x, y) == 1 else x for x, y in zip(sa, sb))


class ShapeBackend(Backend):
    """The array operations of `Backend`, on shapes."""

    name = "shapes"

    def asarray(self, data): return data if isinstance(data, Shape) else Shape(getattr(data, "shape", ()))
    def owns(self, a): return isinstance(a, Shape)
    def all_finite(self, *arrays): return True
    def matmul(self, a, b):
        n = () if a.ndim == 1 else (a.shape[-2],)
        l = () if b.ndim == 1 else (b.shape[-1],)
        batch = a.shape[:-2] if a.ndim == 3 else b.shape[:-2] if b.ndim == 3 else ()
        return Shape(batch + n + l)
    def mul(self, a, b): return _broadcast(a, b)
    add = sub = div = mul
    def outer(self, u, v): return Shape((u.shape[0], v.shape[0]))
    def func(self, name, a): return Shape(a.shape)
    def sum(self, a): return Shape(())
    max = sum
    def colsum(self, a): return Shape(a.shape[1:])
    colmax = colsum
    def coldot(self, a, b): return Shape(a.shape[1:])
    def zeros(self, shape): return Shape(shape)
    def eye(self, n): return Shape((n, n))
    def diag(self, v): return Shape((v.shape[0], v.shape[0]))
    def diags(self, S): return Shape((S.shape[1], S.shape[0], S.shape[0]))
    def expand(self, a, B): return Shape((B,) + a.shape)

    def hcat(self, blocks):
        batch = next((b.shape[:1] for b in blocks if b.ndim == 3), ())
        return Shape(batch + (blocks[0].shape[-2], sum(b.shape[-1] for b in blocks)))

    def transpose(self, a): return Shape(a.shape[::-1])

    def kron_eye(self, n, z):
        batch = (z.shape[1],) if z.ndim == 2 else ()
        return Shape(batch + (n, n * z.shape[0]))
    def slice(self, a, start, stop): return Shape((stop - start,))

    def reshape(self, a, shape):
        size = 1
        for s in a.shape:
            size *= s
        known = 1
        for s in shape:
            known *= s if s != -1 else 1
        return Shape(tuple(size // known if s == -1 else s for s in shape))


def shape_chain(widths, activation=None, loss="squared", bias=False):
    """A chain of shapes: linear layers [d, n_1, …, K] (with biases when `bias`), the
    activation after every one but the last when given, and the loss."""
    from .chain import Chain
    from .layers import ACTIVATIONS, LOSSES, Linear
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(Linear(Shape((b, a)), Shape((b,)) if bias else None))
        if activation and i < len(widths) - 2:
            layers.append(ACTIVATIONS[activation](b))
    return Chain(layers, LOSSES[loss](Shape((widths[-1],))), ShapeBackend("cpu", "float64"))


@lru_cache(maxsize=4096)
def _shape_plan(widths: tuple, mode, target, layers: tuple, B):
    from . import MODES, plan
    chain = shape_chain(widths, **dict(layers))
    x = Shape((widths[0],) if B is None else (widths[0], B))
    engine = MODES[mode]
    res = engine.jacobian(chain, x, check=False) if target == "jacobian" else \
        engine.gradient(chain, x, wrt="params" if target == "params" else "input", check=False)
    return plan.profile(chain, mode, target), res.ops, res.mem


def shape_plan(widths, mode, target="gradient", activation=None, loss="squared", bias=False,
               B=None):
    """(profile, ops, mem) of one call of engine `mode` on a chain of these widths (and
    layers): its backend calls as (name, argument shapes, output shape), its Ops and its
    memory; on one input x (B None) or a batch of B (x d × B). Computed once per (widths,
    mode, target, layers, B): the guards ask for it several times a point."""
    if B is not None:
        from .validate import batch_size
        B = batch_size(B)
    layers = (("activation", activation), ("loss", loss), ("bias", bool(bias)))
    return _shape_plan(tuple(int(w) for w in widths), mode, target, layers, B)
