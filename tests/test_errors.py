"""Bad input: a one-line FwdrevError (a ValueError) naming the problem, nothing returned."""
import math

import numpy as np
import pytest

from modes import MODES, Chain, FwdrevError, predict
from modes.backends import get_backend

W0, W1 = np.ones((2, 3)), np.ones((2, 2))


def _raises(match, fn, *a, **kw):
    with pytest.raises(FwdrevError, match=match) as e:
        fn(*a, **kw)
    assert isinstance(e.value, ValueError)
    assert "\n" not in str(e.value)


def test_mismatched_shapes():
    _raises("W1 has 3 columns but W0 has 2 rows", Chain.from_matrices, [W0, np.ones((2, 3))], [0, 1])
    _raises(r"y has shape \(3,\), expected \(2,\)", Chain.from_matrices, [W0, W1], [0, 1, 2])
    _raises("W0 must be a matrix", Chain.from_matrices, [np.ones(3)], [0])
    c = Chain.from_matrices([W0, W1], [0, 1])
    _raises(r"x has shape \(4,\), expected \(3,\)", MODES["forward"].gradient, c, np.ones(4))
    _raises(r"x has shape \(1, 3\)", MODES["reverse"].jacobian, c, np.ones((1, 3)))  # (3, 1): a batch


def test_widths_below_one():
    _raises("every width must be at least 1", Chain.random, [3, 0, 2])
    _raises("widths needs at least", Chain.random, [3])
    _raises("widths must be a list of integers", Chain.random, ["a", 2])
    _raises("empty dimension", Chain.from_matrices, [np.ones((0, 3))], [])
    _raises("m=0", predict.gradient_ops, "forward", 1, 0, 3, 2)
    _raises("L must be at least 0", predict.gradient_ops, "forward", -1, 2, 3, 2)


@pytest.mark.parametrize("kw,what", [({"backend": "jax"}, "backend 'jax'"),
                                     ({"loss": "hinge"}, "loss 'hinge'"),
                                     ({"dtype": "float16"}, "dtype 'float16'"),
                                     ({"activation": "gelu"}, "activation 'gelu'")])
def test_unknown_names(kw, what):
    _raises(f"unknown {what}", Chain.random, [3, 2, 2], **kw)


def test_unknown_mode_and_wrt():
    _raises("unknown mode 'sideways'", predict.gradient_ops, "sideways", 1, 2, 3, 2)
    _raises("unknown target 'hessian'", predict.ops_for, "hessian", "forward", 1, 2, 3, 2)
    c = Chain.from_matrices([W0, W1], [0, 1])
    for mode in ("forward", "reverse"):
        _raises("unknown wrt 'weights'", MODES[mode].gradient, c, np.ones(3), wrt="weights")


def test_nan_in_weights_or_x():
    bad = W0.copy()
    bad[1, 2] = math.nan
    _raises("W0 contains NaN", Chain.from_matrices, [bad, W1], [0, 1])
    _raises("b1 contains NaN", Chain.from_matrices, [W0, W1], [0, 1], bs=[None, [0, math.nan]])
    _raises("y contains NaN or inf", Chain.from_matrices, [W0, W1], [0, math.inf])
    c = Chain.from_matrices([W0, W1], [0, 1], backend="torch")
    for mode in ("forward", "reverse"):
        _raises("x contains NaN", MODES[mode].gradient, c, [1.0, math.nan, 0.0])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_non_finite_results_are_refused():
    """A chain whose products overflow float32 raises rather than return inf."""
    big = np.full((4, 4), 1e30)
    c = Chain.from_matrices([big, big, np.ones((1, 4))], [0.0], dtype="float32")
    for mode in ("forward", "reverse"):
        _raises("not finite", MODES[mode].gradient, c, np.ones(4))


def test_numpy_backend_has_no_cuda():
    _raises("numpy backend runs on the CPU only", get_backend, "numpy", "cuda")


@pytest.mark.skipif(__import__("modes").cuda_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    _raises("no CUDA GPU", Chain.random, [3, 2, 2], backend="torch", device="cuda")
    _raises("no CUDA GPU", get_backend, "torch", "cuda")


def test_unknown_device():
    _raises("unknown device 'tpu'", get_backend, "torch", "tpu")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_overflow_in_a_later_layers_parameter_gradient_is_refused(backend):
    """float32, x = 1, W_0 = 1e20, W_1 = 0.1, y = 0: z_1 = 1e20, ŷ = r = 1e19, f = 5e37,
    ∇_x f = 1e38 and ∂f/∂W_0 = W_1 r x = 1e18 are finite; only ∂f/∂W_1 = r z_1 = 1e39 is not."""
    c = Chain.from_matrices([[[1e20]], [[0.1]]], [0.0], dtype="float32", backend=backend)
    for mode in ("forward", "reverse"):
        res = MODES[mode].gradient(c, [1.0])
        assert math.isfinite(float(res.value)) and math.isfinite(float(res.grad[0]))
        _raises(f"^{mode} params: the gradient is not finite", MODES[mode].gradient, c, [1.0],
                wrt="params")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_non_finite_value_is_refused(backend):
    """A finite derivative does not excuse an infinite value. float32, W = 1, y = 0,
    x = 1e20: ∇_x f = r W = 1e20 but f = ½ r² = 5e39; and ŷ = 3e38 + 3e38 with J = (1, 1)."""
    c = Chain.from_matrices([[[1.0]]], [0.0], dtype="float32", backend=backend)
    wide = Chain.from_matrices([[[1.0, 1.0]]], [0.0], dtype="float32", backend=backend)
    for mode in ("forward", "reverse"):
        _raises(rf"^{mode} gradient: the value f\(x\) is not finite", MODES[mode].gradient, c, [1e20])
        _raises(rf"^{mode} jacobian: ŷ = h\(x\) is not finite", MODES[mode].jacobian, wide, [3e38, 3e38])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_all_finite_agrees_with_isfinite_everywhere(backend, dtype):
    """The fast test (a dot product with zeros for small arrays, isfinite beyond
    Backend.SMALL) against np.isfinite: one bad entry at every position of every size,
    around the SMALL threshold too, in any of several arrays, and scalars."""
    be = get_backend(backend, dtype=dtype)
    rng = np.random.default_rng(0)
    sizes = [1, 2, 3, 7, 16, 33, 255, be.SMALL - 1, be.SMALL, be.SMALL + 1]
    for n in sizes:
        big = 1e308 if dtype == "float64" else 1e38  # finite, but any two sum to inf:
        base = (1 + rng.uniform(0, 0.7, n)) * big  # a test by summing would fail here
        assert be.all_finite(be.asarray(base))
        positions = range(n) if n < 300 else [0, 1, n // 2, n - 2, n - 1]
        for bad in (np.nan, np.inf, -np.inf):
            for i in positions:
                a = base.copy()
                a[i] = bad
                assert not be.all_finite(be.asarray(a)), (n, i, bad)
                # in the second of three arrays, matrices among them
                m = be.asarray(a.reshape(1, -1))
                assert not be.all_finite(be.asarray(base), m, be.asarray(2.0))
    ok = [be.asarray(rng.standard_normal((4, 5))), be.asarray(rng.standard_normal(3)), 1.5,
          be.asarray(3.0)]
    assert be.all_finite(*ok) and be.all_finite()
    for bad in (math.nan, math.inf):
        assert not be.all_finite(*ok, bad)
        assert not be.all_finite(*ok, be.asarray(bad))
    wrong_dtype = np.array([1.0, np.nan], dtype="float16")  # not the backend's: by isfinite
    if backend == "numpy":
        assert not be.all_finite(wrong_dtype)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_non_finite_x_of_the_backends_own_type_is_refused(backend):
    """x already on the backend skips conversion; torch tests it together with the answer
    (one sync on CUDA), numpy before computing. Either way an x with inf is refused even
    where the answer would be finite (tanh saturates: the gradient through it is 0), with
    no warning on the way, for every engine and target."""
    import warnings
    c = Chain.random([3, 4, 2], activation="tanh", loss="squared", backend=backend, seed=1)
    x = c.backend.asarray([1.0, math.inf, 0.5])
    unchecked = MODES["reverse"].gradient(c, x, check=False)
    assert c.backend.all_finite(unchecked.value, unchecked.grad)  # so only x can be refused
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mode in ("forward", "reverse", "cheapest"):
            e = MODES[mode]
            for call in (lambda: e.gradient(c, x), lambda: e.gradient(c, x, wrt="params"),
                         lambda: e.jacobian(c, x)):
                _raises("x contains NaN or inf", call)
