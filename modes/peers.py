"""What the peer modes share: the chain's function written in a framework's own terms, the
prepared call a peer is timed by, and the packaging of a peer's answer as a `Result` (ops
None: a framework's work is not ours to count; the sweep records torch's FlopCounterMode
flops beside it where that applies).

Every peer has the same two functions as the engines (gradient, jacobian) and one more,
`prepare(chain, x, target)` -> Prepared: the chain's arrays, x and the target converted to
the framework's arrays once, there, and anything compiled there too; `call()` then does
only the framework's call and the wait for it (JAX: block_until_ready; CUDA: synchronize),
returning the framework's own arrays; `answer(out)` converts them to the chain's backend and
checks them, outside any timed region. gradient() and jacobian() are prepare, call, answer.

A peer computes f(x) = ℓ(g_L(⋯g_0(x))) from the same chain — weights, biases, activation,
loss — so its answers must equal the engines' (tests/test_peers.py holds them to 1e-10).

    fn = chain_function(chain, xp)     # xp: the framework's namespace of primitives
    fn.h(params, x) = ŷ;  fn.f(params, x) = ℓ(ŷ);  params = fn.flat_params(arrays)

x may be one input (d,) or a batch X (d × B), one column per sample (docs/maths.md §7): h
and f then evaluate every column at once, as a framework's users write a batched model, and
`mean_f` is the batch's mean loss. The primitives' logsumexp reduces over axis 0 (a column).
y is one target for every sample (K,), or one per sample (K × B, `per_sample`): a vmapped
transform then maps over y's columns beside x's.
On a batch, gradient() returns each sample's ∇f (B × d) and f (B), jacobian() each sample's
J (B × K × d) and Ŷ (K × B), and the parameters' gradient is that of the mean loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .engine import Result, check_answer, check_wrt

TARGET_OF = {"input": "gradient", "params": "params"}
"""wrt of gradient() → the target prepare() takes (the third is "jacobian")."""


@dataclass(frozen=True)
class Prepared:
    """A peer's call at one (chain, x, target), ready to time: `call()` the framework's call
    and its wait, on arrays made beforehand; `answer(out, check=True)` its output as a
    Result on the chain's backend (refused when not finite, unless check=False)."""

    call: Callable
    answer: Callable


class PreparedPeer:
    """gradient() and jacobian() made of the subclass's prepare(chain, x, target)."""

    name = "peer"

    def prepare(self, chain, x, target) -> Prepared:
        raise NotImplementedError

    def gradient(self, chain, x, wrt="input", dense_B=False, check=True):
        """∇f at x with respect to the input or to every layer's parameters (dense_B is
        accepted for the common signature; the framework decides how it multiplies)."""
        check_wrt(wrt)
        p = self.prepare(chain, chain.input(x, check), TARGET_OF[wrt])
        return p.answer(p.call(), check)

    def jacobian(self, chain, x, check=True):
        """The K × d Jacobian of h at x."""
        p = self.prepare(chain, chain.input(x, check), "jacobian")
        return p.answer(p.call(), check)


def waiting(fn, sync):
    """fn() followed by sync() (the device's wait), returning fn's output."""
    def call():
        out = fn()
        sync()
        return out
    return call


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
        """ŷ = h(x): one x (d,) gives ŷ (K,); a batch X (d × B), one column per sample, gives
        Ŷ (K × B), each bias added to every column."""
        z, at = x, 0
        for kind, what in self.steps:
            if kind == "act":
                z = what(z)
                continue
            z = params[at] @ z
            at += 1
            if what:
                z = z + (params[at] if z.ndim == 1 else params[at].reshape(-1, 1))
                at += 1
        return z

    @property
    def per_sample(self) -> bool:
        """Whether y holds one target per sample (K × B) rather than one for all (K,)."""
        return self.y.ndim == 2

    def f(self, params, x, y=None):
        """f(x) = ℓ(h(x)): a number for one x, every sample's f (B) for a batch. y: the
        target, the chain's unless given (one sample's column, under a vmap)."""
        y = self.y if y is None else y
        z = self.h(params, x)
        if y.ndim == 2:  # one target per sample
            if self.loss == "squared":
                r = z - y
                return 0.5 * (r * r).sum(0)
            return self.xp.logsumexp(z) * y.sum(0) - (y * z).sum(0)
        if self.loss == "squared":
            r = z - (y if z.ndim == 1 else y.reshape(-1, 1))
            return 0.5 * (r @ r) if z.ndim == 1 else 0.5 * (r * r).sum(0)
        # −Σ_j y_j log softmax(z)_j = logsumexp(z)·Σy − y·z (stable: logsumexp shifts)
        return self.xp.logsumexp(z) * y.sum() - y @ z

    def mean_f(self, params, x):
        """The batch's mean loss (1/B) Σ_b f(x_b): what the parameters' gradient is of."""
        return self.f(params, x).mean()


def with_value(fn):
    """fn(params, x, …) -> (output, output): a transformation's has_aux hands the value
    back from the same evaluation, so no second forward pass is timed (torch.func, JAX)."""
    def aux(*args):
        out = fn(*args)
        return out, out
    return aux


def latest_seconds(compiled: dict, prefix: tuple):
    """The compile seconds of the last entry of `compiled` ({key: (function, seconds)},
    keys ending with x's shape) whose key starts with `prefix`, or None: each batch size
    compiles apart, and the latest is the one a sweep's point just prepared."""
    n = len(prefix)
    return next((secs for key, (_, secs) in reversed(compiled.items()) if key[:n] == prefix), None)


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


def result(mode, target, backend, value, grad=None, jac=None, check=True) -> Result:
    """A peer's answer as a Result, refused like an engine's when anything is not finite
    (unless check=False, for timing loops that check once outside)."""
    if check:
        check_answer(mode, target, backend, value, grad, jac)
    return Result(mode, target, value, None, {}, grad=grad, jac=jac)
