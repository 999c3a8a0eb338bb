"""Peers from torch: what a user of the framework would call, on the chain's own arrays.

    autograd:  gradient by f.backward() (torch.autograd.grad); Jacobian by
               torch.autograd.functional.jacobian (one backward pass per output row)
    func-rev:  torch.func.grad for gradients (a vjp), torch.func.jacrev for the Jacobian
    func-fwd:  torch.func.jacfwd for both (vmapped jvps, one per input direction)

On a numpy chain the arrays are shared with torch (torch.from_numpy, no copy) and the
answer comes back as numpy arrays; on a torch chain (CPU or CUDA) nothing is converted.
The torch view of a chain is made once, and again when its W, b or y is assigned.
"""
from __future__ import annotations

import weakref

from .engine import check_wrt
from .peers import ChainFunction, Primitives, flat_params, group_params, result, with_value
from .plan import Held

_TWINS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
"""chain → its _Twin, made on the first call (not inside every timed one)."""


class _Twin:
    """The chain's function and arrays in torch, with the way back to the chain's backend."""

    def __init__(self, chain):
        import torch
        self.torch, self.b = torch, chain.backend
        self.numpy = chain.backend.name == "numpy"
        conv = torch.from_numpy if self.numpy else (lambda a: a)
        xp = Primitives(torch.tanh, torch.sigmoid, torch.relu, lambda z: torch.logsumexp(z, 0))
        self.fn = ChainFunction(chain, xp, conv(chain.loss.y))
        self.params = [conv(p) for p in flat_params(chain)]
        self.conv, self.held = conv, Held(chain)

    def x(self, chain, x, check=True):
        return self.conv(chain.input(x, check))

    def back(self, a):
        a = a.detach()
        return a.numpy() if self.numpy else a


def _twin(chain):
    """The chain's twin, made anew when one of its arrays was assigned since."""
    t = _TWINS.get(chain)
    if t is None or not t.held.fresh(chain):
        t = _TWINS[chain] = _Twin(chain)
    return t


class TorchPeer:
    """One torch peer: `name` and how it forms gradients and Jacobians."""

    def __init__(self, name, grad_input, grad_params, jac):
        self.name, self._gi, self._gp, self._jac = name, grad_input, grad_params, jac

    def gradient(self, chain, x, wrt="input", dense_B=False, check=True):
        """∇f at x with respect to the input or to every layer's parameters (dense_B is
        accepted for the common signature; torch decides how it multiplies)."""
        check_wrt(wrt)
        t = _twin(chain)
        xt = t.x(chain, x, check)
        if wrt == "input":
            value, g = self._gi(t, xt)
            return result(self.name, "gradient", t.b, t.back(value), grad=t.back(g), check=check)
        value, gs = self._gp(t, xt)
        return result(self.name, "params", t.b, t.back(value),
                      grad=group_params(chain, [t.back(g) for g in gs]), check=check)

    def jacobian(self, chain, x, check=True):
        """The K × d Jacobian of h at x."""
        t = _twin(chain)
        yhat, jac = self._jac(t, t.x(chain, x, check))
        return result(self.name, "jacobian", t.b, t.back(yhat), jac=t.back(jac), check=check)


# -- autograd ------------------------------------------------------------------------------
def _autograd_input(t, x):
    x = x.detach().requires_grad_(True)
    value = t.fn.f(t.params, x)
    return value, t.torch.autograd.grad(value, x)[0]


def _autograd_params(t, x):
    ps = [p.detach().requires_grad_(True) for p in t.params]
    value = t.fn.f(ps, x)
    return value, t.torch.autograd.grad(value, ps)


def _autograd_jac(t, x):
    with t.torch.no_grad():
        yhat = t.fn.h(t.params, x)
    return yhat, t.torch.autograd.functional.jacobian(lambda v: t.fn.h(t.params, v), x)


autograd = TorchPeer("autograd", _autograd_input, _autograd_params, _autograd_jac)


# -- torch.func ------------------------------------------------------------------------------
def _func(transform, argnums, what="f"):
    """(value, transform(what)) at (params, x) w.r.t. argnums (0: params, 1: x)."""
    def run(t, x):
        fn = with_value(getattr(t.fn, what))
        d, value = getattr(t.torch.func, transform)(fn, argnums=argnums, has_aux=True)(t.params, x)
        return value, d
    return run


func_rev = TorchPeer("func-rev", _func("grad", 1), _func("grad", 0), _func("jacrev", 1, "h"))
func_fwd = TorchPeer("func-fwd", _func("jacfwd", 1), _func("jacfwd", 0), _func("jacfwd", 1, "h"))


def extras(chain, target, call) -> dict:
    """A torch peer's extra column: torch's FlopCounterMode count of one call, in its own
    convention (2·n·m·l per product), with matrix-vector and dot products counted too
    (2·n·m, 2·n): torch's table leaves them out, and they are all a gradient in x is made of."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    aten = torch.ops.aten
    counter = FlopCounterMode(display=False, custom_mapping={
        aten.mv: lambda a, b, *r, out_shape=None, **k: 2 * a[0] * a[1],
        aten.dot: lambda a, b, *r, out_shape=None, **k: 2 * a[0]})
    with counter:
        call()
    return {"flops_torch": counter.get_total_flops()}
