"""The layered function f(x) = ℓ(g_L(⋯g_0(x))) and the evaluation trace both modes share."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from .backends import get_backend
from .errors import FwdrevError, check, choose
from .kernel import Kernel
from .layers import ACTIVATIONS, LOSSES, Linear
from .validate import (as_matrix, as_numpy, as_seed, as_target, as_vector, as_widths, batch_size, biases,
                       finite, nonempty, to_backend, x_shape)

warnings.filterwarnings("ignore", category=RuntimeWarning,
                        module=r"modes\.(arrays|backends|torch_backend)")
"""An overflow inside the chain is reported once, as the engine's one-line FwdrevError
(modes.engine refuses a non-finite answer), never as numpy's warning beside it."""


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
        """A chain with linear layers W_0 … W_L (W_i is n_{i+1} × n_i) and target y: one
        for every input (K,), or one per sample of a batch (K × B: x must then be d × B).

        `activation` (relu, sigmoid, tanh), when given, follows every linear layer but the
        last. `bs`, when given, is one bias vector (or None: no bias) per layer.
        Every array must be real and finite in `dtype` (see modes.validate.as_numpy); torch
        tensors with requires_grad=True are fine: their values are copied, detached.
        """
        backend = get_backend(backend, device, dtype)  # the name, resolved to its Backend
        loss_cls = choose("loss", loss, LOSSES)
        act_cls = None if activation is None else choose("activation", activation, ACTIVATIONS)
        Ws = [as_matrix(W, f"W{i}") for i, W in enumerate(nonempty(Ws))]
        bs = biases(bs, len(Ws))
        for i in range(1, len(Ws)):
            check(Ws[i].shape[1] == Ws[i - 1].shape[0],
                  f"W{i} has {Ws[i].shape[1]} columns but W{i - 1} has {Ws[i - 1].shape[0]} rows")
        layers = []
        for i, (W, b) in enumerate(zip(Ws, bs)):
            if b is not None:
                b = to_backend(backend, as_vector(b, f"b{i}", W.shape[0]), f"b{i}")
            layers.append(Linear(to_backend(backend, W, f"W{i}"), b))
            if act_cls is not None and i < len(Ws) - 1:
                layers.append(act_cls(W.shape[0]))
        y = to_backend(backend, as_target(y, Ws[-1].shape[0]), "y")
        return cls(layers, loss_cls(y), backend)

    @classmethod
    def random(cls, widths, activation=None, loss="squared", backend="numpy", device="cpu",
               dtype="float64", seed=0, bias=False):
        """A random chain with widths [d, n_1, …, n_L, K]; the same seed gives the same chain
        on every backend (weights are drawn with numpy, W_i ~ N(0, 1/n_i), n_i its input
        width). Each width is a true integer ≥ 1: numpy integers are fine, bool and float
        (even 3.0) are refused."""
        import numpy as np
        widths = as_widths(widths)
        rng = np.random.default_rng(as_seed(seed))
        try:
            Ws = [rng.standard_normal((o, i)) / math.sqrt(i) for i, o in zip(widths, widths[1:])]
        except MemoryError:
            n = sum(o * i for i, o in zip(widths, widths[1:]))
            raise FwdrevError(f"a chain of widths {widths} does not fit in memory "
                              f"({n:.3g} weights)") from None
        bs = [rng.standard_normal(o) * 0.1 if bias else None for o in widths[1:]]
        K = widths[-1]
        y = rng.standard_normal(K) if loss != "softmax_ce" else np.eye(K)[rng.integers(K)]
        return cls.from_matrices(Ws, y, loss=loss, activation=activation, backend=backend,
                                 device=device, dtype=dtype, bs=bs)

    def random_x(self, seed=1, B=None):
        """A random input x ∈ R^d on this chain's backend; with B, a batch of B inputs, the
        d × B matrix of their columns (B = 1: the column of random_x(seed))."""
        import numpy as np
        shape = self.d if B is None else (self.d, batch_size(B))
        try:
            return self.backend.asarray(np.random.default_rng(as_seed(seed)).standard_normal(shape))
        except MemoryError:
            raise FwdrevError(f"a batch of {shape[1]} inputs of width {self.d} does not fit in "
                              "memory") from None

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

    def input(self, x, check_finite=True):
        """x on this chain's backend, checked for shape and finiteness in the chain's dtype:
        one input (d,) or a batch of B ≥ 1 inputs, the d × B matrix of their columns.

        An array the backend owns (its type, dtype and device) is used as it is. Anything
        else is validated like the weights (real numbers only, see modes.validate.as_numpy)
        and copied. A torch x with requires_grad=True is accepted and read as a detached
        copy: fwdrev computes its own derivatives and never joins torch's autograd graph.
        check_finite=False skips the finiteness test of an owned x (a device sync on CUDA),
        for timing loops that checked x once outside.
        """
        backend = self.backend
        if backend.owns(x):
            x_shape(x, self.d)
            self._one_target_per_sample(x)
            if check_finite and not backend.all_finite(x):
                raise FwdrevError("x contains NaN or inf")
            return x
        x = as_numpy(x, "x")
        x_shape(x, self.d)
        self._one_target_per_sample(x)
        finite(x, "x")
        return to_backend(backend, x, "x")

    def _one_target_per_sample(self, x):
        """Where y holds one target per sample (K × B), x must be the batch of those B."""
        y = self.loss.y
        if y.ndim == 2 and (x.ndim != 2 or int(x.shape[1]) != int(y.shape[1])):
            raise FwdrevError(f"y holds {int(y.shape[1])} targets, one per sample, but x has "
                              f"shape {tuple(int(s) for s in x.shape)}: expected ({self.d}, "
                              f"{int(y.shape[1])})")


@dataclass
class Trace:
    """What evaluating the chain leaves for the derivative chain: per-layer caches and
    Jacobian entries, ŷ, f and ∇ℓ(ŷ)."""

    caches: list
    jacs: list
    yhat: object
    value: object = None
    loss_grad: object = None


def evaluate(chain, x, kernel: Kernel, with_loss=True, mean=False) -> Trace:
    """Run the chain forward once, counting into kernel: eval, then loss (optional), then jac.
    On a batch (x d × B) every array has one column per sample and f one entry; with
    mean, ∇ℓ is that of the batch's mean loss, each column divided by B (B > 1)."""
    caches, z = [], x
    with kernel.phase("eval"):
        for layer in chain.layers:
            z, c = layer.eval(kernel, z)
            caches.append(c)
    t = Trace(caches, [], z)
    if with_loss:
        t.value, t.loss_grad = chain.loss.value_and_grad(kernel, z)
        if mean and x.ndim == 2 and x.shape[1] > 1:
            with kernel.phase("loss_grad"):
                t.loss_grad = kernel.mul(t.loss_grad, 1.0 / int(x.shape[1]))
    with kernel.phase("jac"):
        t.jacs = [layer.jac(kernel, c) for layer, c in zip(chain.layers, caches)]
    return t
