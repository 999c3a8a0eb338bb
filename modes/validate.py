"""What a chain accepts: weights, biases, targets, inputs, widths, seeds and batch sizes
checked and converted, each refusal a one-line FwdrevError naming what is wrong.

modes.chain builds and evaluates chains through these; modes.predict and modes.memory
take their batch sizes through `batch_size`.
"""
from __future__ import annotations

import numbers

from .errors import FwdrevError, check

MAX_WIDTH = 2 ** 31 - 1
"""The widest layer a chain may have (numpy's and torch's index limits are near)."""
REAL_KINDS = "biuf"
"""numpy dtype kinds accepted as real numbers: bool, signed and unsigned integers, floats."""


def _list(items, what):
    """items as a list, or a one-line FwdrevError saying what they should have been."""
    try:
        return list(items)
    except TypeError:
        raise FwdrevError(f"{what} must be a list, got {type(items).__name__}") from None


def nonempty(Ws):
    """The weight matrices as a list of at least one."""
    Ws = _list(Ws, "Ws (the weight matrices)")
    check(len(Ws) >= 1, "need at least one weight matrix")
    return Ws


def biases(bs, n):
    """One bias (or None) per layer; bs=None means no biases at all."""
    if bs is None:
        return [None] * n
    bs = _list(bs, "bs (one bias vector or None per layer)")
    check(len(bs) == n, f"got {len(bs)} biases for {n} weight matrices")
    return bs


def as_numpy(a, what):
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


def x_shape(x, d):
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
    check(isinstance(B, numbers.Integral) and not isinstance(B, bool),
          f"B must be a whole number of samples, got {B!r} ({type(B).__name__})")
    check(B >= 1, f"B must be at least 1, got {B}")
    return int(B)


def as_matrix(W, name):
    """W as a finite float64 numpy matrix with no empty dimension."""
    W = as_numpy(W, name)
    check(W.ndim == 2, f"{name} must be a matrix, got {W.ndim} dimension(s)")
    check(min(W.shape) >= 1, f"{name} has an empty dimension: shape {W.shape}")
    finite(W, name)
    return W


def as_vector(v, name, n):
    """v as a finite float64 numpy vector of shape (n,)."""
    v = as_numpy(v, name)
    _shape(v, name, n)
    finite(v, name)
    return v


def as_target(y, K):
    """y as a finite float64 numpy target: one for every sample (K,), or one per sample,
    the K × B matrix of their columns."""
    y = as_numpy(y, "y")
    if y.ndim == 2:
        check(y.shape[0] == K and y.shape[1] >= 1,
              f"y has shape {tuple(y.shape)}, expected ({K},) or ({K}, B): one column per sample")
        finite(y, "y")
        return y
    return as_vector(y, "y", K)


def finite(a, name):
    """A one-line FwdrevError where the numpy array a holds NaN or inf."""
    import numpy as np
    check(np.isfinite(a).all(), f"{name} contains NaN or inf")


def to_backend(backend, a, name):
    """a (finite float64 numpy) as a new array of `backend`, refusing values that overflow
    its dtype (1e39 is finite in float64 but inf in float32): checked after conversion."""
    import numpy as np
    with np.errstate(over="ignore"):  # the overflow is reported below, as an error
        out = backend.asarray(a)
    check(backend.all_finite(out),
          f"{name} overflows {backend.dtype}: its largest magnitude is {np.abs(a).max():.3g}")
    return out


def as_widths(widths):
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


def as_seed(seed):
    """A seed for numpy's generator: None or an integer from 0 up (never bool)."""
    check(seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                           and seed >= 0), f"seed must be an integer 0 or more, got {seed!r}")
    return seed
