"""What the peer modes share: the chain's function written in a framework's own terms, and
the packaging of a peer's answer as a `Result` (ops None: a framework's work is not ours to
count; the sweep records torch's FlopCounterMode flops beside it where that applies).

A peer computes f(x) = ℓ(g_L(⋯g_0(x))) from the same chain — weights, biases, activation,
loss — so its answers must equal the engines' (tests/test_peers.py holds them to 1e-10).

    fn = chain_function(chain, xp)     # xp: the framework's namespace of primitives
    fn.h(params, x) = ŷ;  fn.f(params, x) = ℓ(ŷ);  params = fn.flat_params(arrays)
"""
from __future__ import annotations

from dataclasses import dataclass

from .engine import Result, check_answer


@dataclass(frozen=True)
class Primitives:
    """A framework's elementwise functions and its log-sum-exp."""

    tanh: object
    sigmoid: object
    relu: object
    logsumexp: object


class ChainFunction:
    """h and f of a chain over a flat parameter list [W_0, (b_0,) W_1, …]."""

    def __init__(self, chain, xp: Primitives, y):
        self.steps = []  # ("linear", has_bias) or ("act", fn)
        for layer in chain.layers:
            if layer.kind == "linear":
                self.steps.append(("linear", layer.b is not None))
            else:
                self.steps.append(("act", getattr(xp, layer.kind)))
        self.loss, self.y, self.xp = chain.loss_name, y, xp

    def h(self, params, x):
        z, at = x, 0
        for kind, what in self.steps:
            if kind == "act":
                z = what(z)
                continue
            z = params[at] @ z
            at += 1
            if what:
                z = z + params[at]
                at += 1
        return z

    def f(self, params, x):
        z = self.h(params, x)
        if self.loss == "squared":
            r = z - self.y
            return 0.5 * (r @ r)
        # −Σ_j y_j log softmax(z)_j = logsumexp(z)·Σy − y·z (stable: logsumexp shifts)
        return self.xp.logsumexp(z) * self.y.sum() - self.y @ z


def with_value(fn):
    """fn(params, x) -> (output, output): a transformation's has_aux hands the value back
    from the same evaluation, so no second forward pass is timed (torch.func and JAX)."""
    def aux(params, x):
        out = fn(params, x)
        return out, out
    return aux


def flat_params(chain):
    """The chain's parameter arrays in order: W_0, (b_0,) W_1, …"""
    return [a for group in chain.params() for a in group]


def group_params(chain, flat):
    """A flat list of per-parameter arrays regrouped as one tuple (∂W_i[, ∂b_i]) per layer."""
    out, at = [], 0
    for group in chain.params():
        out.append(tuple(flat[at: at + len(group)]))
        at += len(group)
    return out


def result(mode, target, b, value, grad=None, jac=None, check=True) -> Result:
    """A peer's answer as a Result, refused like an engine's when anything is not finite
    (unless check=False, for timing loops that check once outside)."""
    if check:
        check_answer(mode, target, b, value, grad, jac)
    return Result(mode, target, value, None, {}, grad=grad, jac=jac)
