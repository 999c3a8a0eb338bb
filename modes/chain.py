"""The layered function f(x) = ℓ(g_L(⋯g_0(x))) and the evaluation trace both modes share."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .backends import get_backend
from .errors import FwdrevError, check, choose
from .kernel import Kernel
from .layers import ACTIVATIONS, LOSSES, Linear


class Chain:
    """A list of layers and a loss, on one backend, device and dtype.

    `widths` = [d, n_1, …, n_L, K] are the widths of the linear layers' inputs and outputs;
    `L` counts hidden widths (activations between linear layers do not change it).
    """

    def __init__(self, layers, loss, backend):
        self.layers, self.loss, self.backend = list(layers), loss, backend
        linear = [l for l in self.layers if isinstance(l, Linear)]
        self.widths = [linear[0].n_in] + [l.n_out for l in linear]
        self.d, self.K, self.L = self.widths[0], self.widths[-1], len(linear) - 1
        self.activation = next((l.kind for l in self.layers if l.kind != "linear"), None)
        self.loss_name = loss.kind

    # -- constructors -------------------------------------------------------------
    @classmethod
    def from_matrices(cls, Ws, y, loss="squared", activation=None, backend="numpy",
                      device="cpu", dtype="float64", bs=None):
        """A chain with linear layers W_0 … W_L (W_i is n_{i+1} × n_i) and target y.

        `activation` (relu, sigmoid, tanh), when given, follows every linear layer but the
        last. `bs`, when given, is one bias vector (or None) per layer.
        """
        be = get_backend(backend, device, dtype)
        loss_cls = choose("loss", loss, LOSSES)
        act_cls = None if activation is None else choose("activation", activation, ACTIVATIONS)
        Ws = [_matrix(W, i) for i, W in enumerate(_nonempty(Ws))]
        bs = [None] * len(Ws) if bs is None else list(bs)
        check(len(bs) == len(Ws), f"got {len(bs)} biases for {len(Ws)} weight matrices")
        for i in range(1, len(Ws)):
            check(Ws[i].shape[1] == Ws[i - 1].shape[0],
                  f"W{i} has {Ws[i].shape[1]} columns but W{i - 1} has {Ws[i - 1].shape[0]} rows")
        layers = []
        for i, (W, b) in enumerate(zip(Ws, bs)):
            _finite(W, f"W{i}")
            if b is not None:
                b = _vector(b, f"b{i}", W.shape[0])
            layers.append(Linear(be.asarray(W), None if b is None else be.asarray(b)))
            if act_cls is not None and i < len(Ws) - 1:
                layers.append(act_cls(W.shape[0]))
        y = _vector(y, "y", Ws[-1].shape[0])
        return cls(layers, loss_cls(be.asarray(y)), be)

    @classmethod
    def random(cls, widths, activation=None, loss="squared", backend="numpy", device="cpu",
               dtype="float64", seed=0, bias=False):
        """A random chain with widths [d, n_1, …, n_L, K]; the same seed gives the same chain
        on every backend (weights are drawn with numpy, W_i ~ N(0, 1/n_i))."""
        import numpy as np
        widths = _widths(widths)
        rng = np.random.default_rng(seed)
        Ws = [rng.standard_normal((o, i)) / math.sqrt(i) for i, o in zip(widths, widths[1:])]
        bs = [rng.standard_normal(o) * 0.1 if bias else None for o in widths[1:]]
        K = widths[-1]
        y = rng.standard_normal(K) if loss != "softmax_ce" else np.eye(K)[rng.integers(K)]
        return cls.from_matrices(Ws, y, loss=loss, activation=activation, backend=backend,
                                 device=device, dtype=dtype, bs=bs)

    def random_x(self, seed=1):
        """A random input x ∈ R^d on this chain's backend."""
        import numpy as np
        return self.backend.asarray(np.random.default_rng(seed).standard_normal(self.d))

    # -- inspection ---------------------------------------------------------------
    @property
    def linear_layers(self):
        return [l for l in self.layers if isinstance(l, Linear)]

    def params(self):
        """The parameter arrays, one tuple (W,) or (W, b) per linear layer."""
        return [l.params for l in self.linear_layers]

    def __repr__(self):
        act = f", activation={self.activation}" if self.activation else ""
        return f"Chain(widths={self.widths}{act}, loss={self.loss_name}, backend={self.backend})"

    def input(self, x):
        """x converted to this chain's backend, checked for shape and finiteness."""
        x = x if self.backend.owns(x) else self.backend.asarray(x)
        check(tuple(x.shape) == (self.d,), f"x has shape {tuple(x.shape)}, expected ({self.d},)")
        check(self.backend.all_finite(x), "x contains NaN or inf")
        return x


@dataclass
class Trace:
    """What evaluating the chain leaves for the derivative chain: per-layer caches and
    Jacobian entries, ŷ, f and ∇ℓ(ŷ)."""

    caches: list
    jacs: list
    yhat: object
    value: object = None
    loss_grad: object = None


def evaluate(chain, x, k: Kernel, with_loss=True) -> Trace:
    """Run the chain forward once, counting into k: eval, then loss (optional), then jac."""
    caches, z = [], x
    with k.phase("eval"):
        for layer in chain.layers:
            z, c = layer.eval(k, z)
            caches.append(c)
    t = Trace(caches, [], z)
    if with_loss:
        t.value, t.loss_grad = chain.loss.value_and_grad(k, z)
    with k.phase("jac"):
        t.jacs = [layer.jac(k, c) for layer, c in zip(chain.layers, caches)]
    return t


# -- validation helpers -------------------------------------------------------------
def _nonempty(Ws):
    Ws = list(Ws)
    check(len(Ws) >= 1, "need at least one weight matrix")
    return Ws


def _as_numpy(a, what):
    import numpy as np
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a, dtype=float)
    except (TypeError, ValueError) as e:
        raise FwdrevError(f"{what} is not numeric: {e}") from None


def _matrix(W, i):
    W = _as_numpy(W, f"W{i}")
    check(W.ndim == 2, f"W{i} must be a matrix, got {W.ndim} dimension(s)")
    check(min(W.shape) >= 1, f"W{i} has an empty dimension: shape {W.shape}")
    return W


def _vector(v, name, n):
    v = _as_numpy(v, name)
    check(v.shape == (n,), f"{name} has shape {v.shape}, expected ({n},)")
    _finite(v, name)
    return v


def _finite(a, name):
    import numpy as np
    check(np.isfinite(a).all(), f"{name} contains NaN or inf")


def _widths(widths):
    try:
        widths = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise FwdrevError(f"widths must be a list of integers, got {widths!r}") from None
    check(len(widths) >= 2, f"widths needs at least [d, K], got {widths}")
    check(min(widths) >= 1, f"every width must be at least 1, got {widths}")
    return widths
