"""Every bad input to the public API raises FwdrevError (a ValueError) with one line naming
the problem: complex, None, text, ragged, non-integer widths, values that overflow the
chain's dtype. Inputs that only look unusual (a torch tensor with requires_grad, numpy
integer widths, a None bias) are accepted and computed correctly."""
import math
from decimal import Decimal

import numpy as np
import pytest
import torch

from modes import MODES, Chain, FwdrevError

from conftest import as_np

W0, W1 = np.ones((2, 3)), np.ones((2, 2))
Y = [0.0, 1.0]
GRAD = MODES["reverse"].gradient


def _chain(**kw):
    return Chain.from_matrices([W0, W1], Y, **kw)


# (id, call, the exact one-line message; one ending in … is a prefix)
BAD = [
    # 1. complex: the imaginary part would be dropped
    ("complex-W-numpy", lambda: Chain.from_matrices([W0 + 1j, W1], Y),
     "W0 is complex (complex128): fwdrev differentiates real functions only"),
    ("complex-W-torch", lambda: Chain.from_matrices([torch.ones(2, 3, dtype=torch.complex64), W1], Y),
     "W0 is complex (torch.complex64): fwdrev differentiates real functions only"),
    ("complex-y-python", lambda: Chain.from_matrices([W0, W1], [0, 1j]),
     "y is complex (complex128): fwdrev differentiates real functions only"),
    ("complex-b", lambda: _chain(bs=[None, [1 + 0j, 0]]),
     "b1 is complex (complex128): fwdrev differentiates real functions only"),
    ("complex-entry-in-mixed-list", lambda: _chain(bs=[None, [2j, None]]),
     "b1 is complex (complex): fwdrev differentiates real functions only"),
    ("complex-x-numpy", lambda: GRAD(_chain(), np.ones(3) * 1j),
     "x is complex (complex128): fwdrev differentiates real functions only"),
    ("complex-x-torch", lambda: GRAD(_chain(backend="torch"), torch.ones(3, dtype=torch.complex128)),
     "x is complex (torch.complex128): fwdrev differentiates real functions only"),
    ("complex-x-scalar", lambda: GRAD(Chain.from_matrices([[[1.0]]], [0.0]), 2 + 1j),
     "x is complex (complex128): fwdrev differentiates real functions only"),
    # 2. None where an array is needed (a None bias is legitimate: no bias)
    ("None-W", lambda: Chain.from_matrices([None, W1], Y), "W0 is None"),
    ("None-Ws", lambda: Chain.from_matrices(None, Y),
     "Ws (the weight matrices) must be a list, got NoneType"),
    ("None-y", lambda: Chain.from_matrices([W0, W1], None), "y is None"),
    ("None-x", lambda: GRAD(_chain(), None), "x is None"),
    ("None-entry-x", lambda: GRAD(_chain(), [1.0, None, 2.0]), "x has a None entry"),
    ("None-entry-W", lambda: Chain.from_matrices([[[1, None, 0], [0, 1, 0]], W1], Y),
     "W0 has a None entry"),
    ("text-b", lambda: _chain(bs=[None, "ab"]), "b1 holds text, not numbers"),
    ("object-b", lambda: _chain(bs=[None, object()]),
     "b1 has an entry of type object, not a real number"),
    ("bs-not-a-list", lambda: _chain(bs=5),
     "bs (one bias vector or None per layer) must be a list, got int"),
    # 4. text and ragged x
    ("text-x", lambda: GRAD(_chain(), "abc"), "x holds text, not numbers"),
    ("text-list-x", lambda: GRAD(_chain(), ["1", "2", "3"]), "x holds text, not numbers"),
    ("ragged-x", lambda: GRAD(_chain(), [[1, 2], [3]]),
     "x is ragged or not numeric: setting an array element with a sequence…"),  # numpy's words
    ("huge-int-x", lambda: GRAD(_chain(), [10**400, 0, 0]), "x holds an integer too large for float64"),
    ("decimal-x", lambda: GRAD(_chain(), [Decimal(1), 0, 0]),
     "x has an entry of type Decimal, not a real number"),
    ("datetime-x", lambda: GRAD(_chain(), np.array(["2020-01-01"] * 3, dtype="datetime64[D]")),
     "x has dtype datetime64[D], not real numbers"),
    # 5. widths: true integers >= 1 only
    ("width-2.5", lambda: Chain.random([3, 2.5, 2]),
     "widths must be a list of integers, got 2.5 (float) in [3, 2.5, 2]"),
    ("width-3.0", lambda: Chain.random([3, 3.0, 2]),
     "widths must be a list of integers, got 3.0 (float) in [3, 3.0, 2]"),
    ("width-True", lambda: Chain.random([3, True, 2]),
     "widths must be a list of integers, got True (bool) in [3, True, 2]"),
    ("width-np-bool", lambda: Chain.random([3, np.True_, 2]),
     f"widths must be a list of integers, got {np.True_!r} (bool) in [3, {np.True_!r}, 2]"),
    ("width-str", lambda: Chain.random([3, "2"]),
     "widths must be a list of integers, got '2' (str) in [3, '2']"),
    ("widths-int", lambda: Chain.random(5), "widths must be a list, got int"),
    # 6. finite in float64, inf in the chain's dtype: checked after conversion
    ("overflow-W-f32", lambda: Chain.from_matrices([W0 * 1e39, W1], Y, dtype="float32"),
     "W0 overflows float32: its largest magnitude is 1e+39"),
    ("overflow-W-f32-torch", lambda: Chain.from_matrices([W0, W1 * -1e39], Y, dtype="float32",
                                                         backend="torch"),
     "W1 overflows float32: its largest magnitude is 1e+39"),
    ("overflow-b-f32", lambda: _chain(dtype="float32", bs=[[0, 1e39], None]),
     "b0 overflows float32: its largest magnitude is 1e+39"),
    ("overflow-y-f32", lambda: Chain.from_matrices([W0, W1], [0, 5e38], dtype="float32"),
     "y overflows float32: its largest magnitude is 5e+38"),
    ("overflow-x-f32", lambda: GRAD(_chain(dtype="float32"), [1e39, 0, 0]),
     "x overflows float32: its largest magnitude is 1e+39"),
    ("overflow-x-f32-torch", lambda: GRAD(_chain(dtype="float32", backend="torch"),
                                          torch.tensor([0, 0, 1e39], dtype=torch.float64)),
     "x overflows float32: its largest magnitude is 1e+39"),
    ("nan-x-torch-f32-owned", lambda: GRAD(_chain(dtype="float32", backend="torch"),
                                           torch.tensor([0, math.nan, 1], dtype=torch.float32)),
     "x contains NaN or inf"),
]


@pytest.mark.parametrize("call,message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_line(call, message):
    with pytest.raises(FwdrevError) as e:
        call()
    got = str(e.value)
    assert got == message or (message.endswith("…") and got.startswith(message[:-1])), got
    assert isinstance(e.value, ValueError) and "\n" not in got


def test_no_bad_input_warns():
    """Refused, not coerced: no ComplexWarning or overflow warning on the way to the error."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _, call, _ in BAD:
            with pytest.raises(FwdrevError):
                call()


# -- unusual but valid -----------------------------------------------------------------
def test_none_bias_means_no_bias():
    c = _chain(bs=[None, [0.5, -0.5]])
    assert [len(p) for p in c.params()] == [1, 2]
    assert [len(p) for p in _chain(bs=[None, None]).params()] == [1, 1]


def test_numpy_integer_widths_are_fine():
    c = Chain.random(np.array([3, 4, 2]))
    assert c.widths == [3, 4, 2] and all(type(w) is int for w in c.widths)
    assert Chain.random([np.int32(3), np.uint8(2)]).widths == [3, 2]


def test_float64_chain_keeps_what_float32_refuses():
    c = Chain.from_matrices([W0 * 1e39, W1], Y)
    assert as_np(c, c.params()[0][0]).max() == 1e39


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_x_requiring_grad_is_read_as_a_detached_copy(backend):
    """A torch x with requires_grad=True gives the same numbers as a plain one; fwdrev does
    not join torch's graph (the result does not require grad) and leaves x untouched."""
    c = Chain.random([3, 4, 2], activation="tanh", backend=backend)
    x = torch.tensor([0.3, -1.2, 0.7], dtype=torch.float64, requires_grad=True)
    plain = x.detach().numpy()
    for mode in ("forward", "reverse"):
        calls = [lambda x: MODES[mode].gradient(c, x).grad,
                 lambda x: [a for l in MODES[mode].gradient(c, x, wrt="params").grad for a in l],
                 lambda x: MODES[mode].jacobian(c, x).jac]
        for call in calls:
            for a, b in zip(_flat(call(x)), _flat(call(plain))):
                assert not getattr(a, "requires_grad", False)
                assert np.array_equal(as_np(c, a), as_np(c, b))
    assert x.grad is None and x.requires_grad


def _flat(a):
    return a if isinstance(a, list) else [a]


def test_weights_requiring_grad_are_copied():
    W = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    c = Chain.from_matrices([W, W1], Y, backend="torch")
    (cW,) = c.params()[0]
    assert not cW.requires_grad and np.array_equal(as_np(c, cW), np.ones((2, 3)))
    with torch.no_grad():
        W.mul_(2)  # the chain owns a copy
    assert np.array_equal(as_np(c, cW), np.ones((2, 3)))


def test_integer_and_bool_arrays_are_real_numbers():
    c = Chain.from_matrices([np.ones((2, 3), dtype=int), np.eye(2, dtype=bool)], [0, 1])
    ref = Chain.from_matrices([np.ones((2, 3)), np.eye(2)], [0.0, 1.0])
    got = GRAD(c, np.array([1, 2, 3], dtype=np.int64)).grad
    assert np.array_equal(got, GRAD(ref, [1.0, 2.0, 3.0]).grad)
