"""The layered function f(x) = ℓ(g_L(⋯g_0(x))) and the evaluation trace both modes share."""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

from .backends import get_backend
from .errors import FwdrevError, check, choose
from .kernel import Kernel
from .layers import ACTIVATIONS, LOSSES, Linear

MAX_WIDTH = 2 ** 31 - 1
"""The widest layer a chain may have (numpy's and torch's index limits are near)."""
warnings.filterwarnings("ignore", category=RuntimeWarning,
                        module=r"modes\.(backends|torch_backend)")
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
        """A chain with linear layers W_0 … W_L (W_i is n_{i+1} × n_i) and target y.

        `activation` (relu, sigmoid, tanh), when given, follows every linear layer but the
        last. `bs`, when given, is one bias vector (or None: no bias) per layer.
        Every array must be real and finite in `dtype` (see `_as_numpy`); torch tensors
        with requires_grad=True are fine: their values are copied, detached.
        """
        backend = get_backend(backend, device, dtype)  # the name, resolved to its Backend
        loss_cls = choose("loss", loss, LOSSES)
        act_cls = None if activation is None else choose("activation", activation, ACTIVATIONS)
        Ws = [_matrix(W, f"W{i}") for i, W in enumerate(_nonempty(Ws))]
        bs = _biases(bs, len(Ws))
        for i in range(1, len(Ws)):
            check(Ws[i].shape[1] == Ws[i - 1].shape[0],
                  f"W{i} has {Ws[i].shape[1]} columns but W{i - 1} has {Ws[i - 1].shape[0]} rows")
        layers = []
        for i, (W, b) in enumerate(zip(Ws, bs)):
            if b is not None:
                b = _to_backend(backend, _vector(b, f"b{i}", W.shape[0]), f"b{i}")
            layers.append(Linear(_to_backend(backend, W, f"W{i}"), b))
            if act_cls is not None and i < len(Ws) - 1:
                layers.append(act_cls(W.shape[0]))
        y = _to_backend(backend, _vector(y, "y", Ws[-1].shape[0]), "y")
        return cls(layers, loss_cls(y), backend)

    @classmethod
    def random(cls, widths, activation=None, loss="squared", backend="numpy", device="cpu",
               dtype="float64", seed=0, bias=False):
        """A random chain with widths [d, n_1, …, n_L, K]; the same seed gives the same chain
        on every backend (weights are drawn with numpy, W_i ~ N(0, 1/n_i), n_i its input
        width). Each width is a true integer ≥ 1: numpy integers are fine, bool and float
        (even 3.0) are refused."""
        import numpy as np
        widths = _widths(widths)
        rng = np.random.default_rng(_seed(seed))
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
        return self.backend.asarray(np.random.default_rng(_seed(seed)).standard_normal(shape))

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
        else is validated like the weights (real numbers only, see `_as_numpy`) and copied.
        A torch x with requires_grad=True is accepted and read as a detached copy: fwdrev
        computes its own derivatives and never joins torch's autograd graph.
        check_finite=False skips the finiteness test of an owned x (a device sync on CUDA),
        for timing loops that checked x once outside.
        """
        backend = self.backend
        if backend.owns(x):
            _x_shape(x, self.d)
            if check_finite and not backend.all_finite(x):
                raise FwdrevError("x contains NaN or inf")
            return x
        x = _as_numpy(x, "x")
        _x_shape(x, self.d)
        _finite(x, "x")
        return _to_backend(backend, x, "x")


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


# -- validation helpers -------------------------------------------------------------
REAL_KINDS = "biuf"
"""numpy dtype kinds accepted as real numbers: bool, signed and unsigned integers, floats."""


def _list(items, what):
    """items as a list, or a one-line FwdrevError saying what they should have been."""
    try:
        return list(items)
    except TypeError:
        raise FwdrevError(f"{what} must be a list, got {type(items).__name__}") from None


def _nonempty(Ws):
    Ws = _list(Ws, "Ws (the weight matrices)")
    check(len(Ws) >= 1, "need at least one weight matrix")
    return Ws


def _biases(bs, n):
    """One bias (or None) per layer; bs=None means no biases at all."""
    if bs is None:
        return [None] * n
    bs = _list(bs, "bs (one bias vector or None per layer)")
    check(len(bs) == n, f"got {len(bs)} biases for {n} weight matrices")
    return bs


def _as_numpy(a, what):
    """a as a float64 numpy array, or a one-line FwdrevError naming what is wrong.

    Refused rather than coerced: None, text, ragged nesting, complex numbers (the imaginary
    part would be dropped) and any other non-real data. A torch tensor is read from any
    device and dtype, detached (requires_grad is fine: only its values are used).
    """
    import numpy as np
    check(a is not None, f"{what} is None")
    if hasattr(a, "detach"):  # a torch tensor
        check(not a.is_complex(), _complex(what, a.dtype))
        check(getattr(a.device, "type", "") != "meta",
              f"{what} is on torch's meta device: it has a shape but no values")
        a = a.detach().cpu().double().numpy()
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as e:
        raise FwdrevError(f"{what} is ragged or not numeric: {_first_line(e)}") from None
    if arr.dtype.kind == "O":
        _check_entries(arr, what)
    else:
        check(arr.dtype.kind != "c", _complex(what, arr.dtype))
        check(arr.dtype.kind not in "US", f"{what} holds text, not numbers")
        check(arr.dtype.kind in REAL_KINDS, f"{what} has dtype {arr.dtype}, not real numbers")
    try:
        return arr.astype(np.float64, copy=False)
    except OverflowError:
        raise FwdrevError(f"{what} holds an integer too large for float64") from None


def _check_entries(arr, what):
    """The entries of an object array (mixed Python values) must all be real numbers."""
    import numbers
    for v in arr.flat:
        if isinstance(v, numbers.Real):
            continue
        check(v is not None, f"{what} has a None entry")
        check(not isinstance(v, numbers.Complex), _complex(what, type(v).__name__))
        raise FwdrevError(f"{what} has an entry of type {type(v).__name__}, not a real number")


def _complex(what, dtype):
    return f"{what} is complex ({dtype}): fwdrev differentiates real functions only"


def _first_line(e):
    lines = str(e).splitlines()
    return lines[0] if lines else type(e).__name__


def _shape(a, name, n):
    if tuple(a.shape) != (n,):  # no message built on the way that passes: x is checked per call
        raise FwdrevError(f"{name} has shape {tuple(a.shape)}, expected ({n},)")


def _x_shape(x, d):
    """x must be (d,) or (d, B) with B ≥ 1 (no message built on the way that passes)."""
    s = x.shape
    if s[0:1] == (d,) if len(s) == 1 else len(s) == 2 and s[0] == d and s[1] >= 1:
        return
    s = tuple(int(v) for v in s)
    if len(s) == 2 and s[0] == d:
        raise FwdrevError(f"x has shape {s}: a batch needs at least one column (sample)")
    raise FwdrevError(f"x has shape {s}, expected ({d},) or ({d}, B): one column per sample")


def batch_size(B) -> int:
    """B as an int, or a one-line FwdrevError: a batch is a whole number ≥ 1 of samples."""
    import numbers
    check(isinstance(B, numbers.Integral) and not isinstance(B, bool),
          f"B must be a whole number of samples, got {B!r} ({type(B).__name__})")
    check(B >= 1, f"B must be at least 1, got {B}")
    return int(B)


def _matrix(W, name):
    W = _as_numpy(W, name)
    check(W.ndim == 2, f"{name} must be a matrix, got {W.ndim} dimension(s)")
    check(min(W.shape) >= 1, f"{name} has an empty dimension: shape {W.shape}")
    _finite(W, name)
    return W


def _vector(v, name, n):
    v = _as_numpy(v, name)
    _shape(v, name, n)
    _finite(v, name)
    return v


def _finite(a, name):
    import numpy as np
    check(np.isfinite(a).all(), f"{name} contains NaN or inf")


def _to_backend(backend, a, name):
    """a (finite float64 numpy) as a new array of `backend`, refusing values that overflow
    its dtype (1e39 is finite in float64 but inf in float32): checked after conversion."""
    import numpy as np
    with np.errstate(over="ignore"):  # the overflow is reported below, as an error
        out = backend.asarray(a)
    check(backend.all_finite(out),
          f"{name} overflows {backend.dtype}: its largest magnitude is {np.abs(a).max():.3g}")
    return out


def _widths(widths):
    """Widths as Python ints; each must be a true integer (numpy integers too, never bool
    or float, not even 3.0) and at least 1."""
    widths = _list(widths, "widths")
    for w in widths:
        check(isinstance(w, numbers.Integral) and not isinstance(w, bool),
              f"widths must be a list of integers, got {w!r} ({type(w).__name__}) in {widths}")
    widths = [int(w) for w in widths]
    check(len(widths) >= 2, f"widths needs at least [d, K], got {widths}")
    check(min(widths) >= 1, f"every width must be at least 1, got {widths}")
    check(max(widths) <= MAX_WIDTH, f"every width must be at most {MAX_WIDTH}, got {max(widths)}")
    return widths


def _seed(seed):
    """A seed for numpy's generator: None or an integer from 0 up (never bool)."""
    check(seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                           and seed >= 0), f"seed must be an integer 0 or more, got {seed!r}")
    return seed
