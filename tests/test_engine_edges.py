"""The engines' edges, where the oracle tests' chains never go: the closed forms refusing
widths below one, a plan's memory of views (a slice is no new storage, and keeps its base
alive), non-finite constants in a plan's generated source, the bracketing DP on factors a
chain never has next to each other (two diagonals), and the finiteness test on arrays of
another dtype than the backend's."""
import math

import numpy as np
import pytest
import torch

from modes import FwdrevError, cheapest, get_backend, predict
from modes.chain import Chain
from modes.engine import run

from test_cheapest import brute_force


# -- closed forms -------------------------------------------------------------------------------
UNIFORM = [predict.gradient_ops, predict.params_ops, predict.jacobian_ops]


@pytest.mark.parametrize("fn", UNIFORM + [lambda mode, *a: predict.memory_peak("gradient", mode, *a),
                                          lambda mode, *a: predict.memory_peak("params", mode, *a)],
                         ids=["gradient", "params", "jacobian", "memory", "memory-params"])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("L, m, d, K", [(1, 4, 3, 0), (1, 4, 3, -1), (1, 0, 3, 2), (1, 4, 0, 2),
                                        (-1, 4, 3, 2), (0, 4, 3, 0), (True, 4, 3, 2),
                                        (1, 4, 3, True), (1, 4.0, 3, 2)])
def test_the_uniform_forms_refuse_what_is_not_a_chain(fn, mode, L, m, d, K):
    with pytest.raises(FwdrevError):
        fn(mode, L, m, d, K)


@pytest.mark.parametrize("K", [0, -2, True, 1.0])
def test_the_loss_counts_refuse_k_below_one(K):
    with pytest.raises(FwdrevError):
        predict.loss_ops("squared", K)


def test_l_zero_is_the_loss_row_alone():
    """L = 0: f = ℓ(W_0 x), ∇f = W_0ᵀ r: the K × d product (1 × K)(K × d), K·d mults and
    (K − 1)·d adds, in both modes."""
    for mode in ("forward", "reverse"):
        ops = predict.gradient_ops(mode, 0, 7, 3, 5)
        assert (ops.mults, ops.adds) == (15, 12)


def test_ops_for_passes_the_dense_b_option_on():
    dense = predict.ops_for("params", "reverse", 2, 3, 4, 5, dense_B=True)
    assert dense == predict.params_ops("reverse", 2, 3, 4, 5, dense_B=True)
    assert dense != predict.ops_for("params", "reverse", 2, 3, 4, 5)


# -- a plan's memory and source ------------------------------------------------------------------
def planned_call(chain, x, body, name):
    """Two calls of a made-up engine: the recording's answer, then the replay's."""
    first = run(name, "gradient", chain, x, (), body, check=False)
    return first, run(name, "gradient", chain, x, (), body, check=False)


def test_a_slice_is_no_new_storage_and_keeps_its_base_alive():
    """v = W_0 x (6 entries); s = v[0:4] and u = s reshaped (a view of a view, returned);
    w = W_0 x again (6 more), which reads nothing of v, and Σw (1). Live at the sum's step:
    v, whose storage the returned u still is, w and Σw: 6 + 6 + 1. Counting the views as
    storage (+4 +4), or freeing v after the last step that reads it or its direct view
    (7), would be wrong."""
    chain = Chain.random([3, 6, 2], seed=0)
    x = chain.random_x()
    W0 = chain.linear_layers[0].W

    def body(chain, k, x):
        v = k.matmul(W0, x)
        u = k.reshape(k.slice(v, 0, 4), (2, 2))
        w = k.matmul(W0, x)
        return k.sum(w), u, None
    rec, rep = planned_call(chain, x, body, "slice-test")
    assert rec.mem["peak"] == 6 + 6 + 1 == rep.mem["peak"]
    np.testing.assert_array_equal(rep.grad, (W0 @ x)[:4].reshape(2, 2))


def test_the_profile_is_the_plan_of_the_mode_and_target_asked_for():
    from modes import MODES, plan
    from modes.shapes import shape_plan
    chain = Chain.random([3, 5, 4, 2], seed=0)
    x = chain.random_x()
    MODES["reverse"].gradient(chain, x)
    MODES["reverse"].jacobian(chain, x)
    for target in ("gradient", "jacobian"):
        assert plan.profile(chain, "reverse", target) == shape_plan([3, 5, 4, 2], "reverse", target)[0]
    assert plan.profile(chain, "forward", "gradient") is None


def test_an_output_lives_to_the_end():
    """a = W_0 x (6) and b = W_1 a (2) are returned, c = a − a (6) is not, Σc (1) is: live
    at the sum's step are a, b, c and Σc: 15 (a freed after its last read would give 9)."""
    chain = Chain.random([3, 6, 2], seed=0)
    x = chain.random_x()
    W0, W1 = (layer.W for layer in chain.linear_layers)

    def body(chain, k, x):
        a = k.matmul(W0, x)
        b = k.matmul(W1, a)
        c = k.sub(a, a)
        return b, a, k.sum(c)
    rec, rep = planned_call(chain, x, body, "keep-test")
    assert rec.mem["peak"] == 15


@pytest.mark.parametrize("const", [math.inf, -math.inf, math.nan, np.float64(2.5), 2.5],
                         ids=["inf", "-inf", "nan", "np.float64", "float"])
def test_every_scalar_constant_survives_the_replay(const):
    """A scalar argument is written into the plan's source as a literal when it has one and
    held as a constant otherwise (inf, NaN, numpy scalars): the replay computes the same."""
    chain = Chain.random([3, 4, 2], seed=1)
    x = chain.random_x()
    W0 = chain.linear_layers[0].W

    def body(chain, k, x):
        v = k.matmul(W0, x)
        return k.sum(v), k.mul(v, const), None
    rec, rep = planned_call(chain, x, body, f"const-{const!r}")
    np.testing.assert_array_equal(rep.grad, rec.grad)
    assert rep.value == rec.value


# -- the bracketing DP ----------------------------------------------------------------------------
def test_two_diagonals_join_at_one_multiplication_per_entry():
    D, A = (cheapest.DIAG, 5, 5), (cheapest.DENSE, 5, 3)
    assert cheapest.join_cost(D, D) == (5, cheapest.DIAG)
    assert cheapest.join_cost(D, A) == (15, cheapest.DENSE)
    assert cheapest.join_cost((cheapest.DENSE, 2, 5), D) == (10, cheapest.DENSE)
    assert cheapest.join_cost((cheapest.DENSE, 2, 5), A) == (2 * 5 * 3 + 2 * 4 * 3, cheapest.DENSE)


@pytest.mark.parametrize("seed", range(3))
def test_the_dp_equals_brute_force_on_any_factors(seed):
    """Random lists of dense and diagonal factors, diagonals next to each other included
    (a chain never has them so, but bracketing() takes any factors)."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 6))
        widths = [int(w) for w in rng.integers(1, 9, size=n + 1)]
        shapes = []
        for i in range(n):
            if rng.random() < 0.5 and widths[i] == widths[i + 1]:
                shapes.append((cheapest.DIAG, widths[i], widths[i]))
            elif rng.random() < 0.4:
                widths[i + 1] = widths[i]
                shapes.append((cheapest.DIAG, widths[i], widths[i]))
            else:
                shapes.append((cheapest.DENSE, widths[i], widths[i + 1]))
        assert cheapest.bracketing(shapes)[0] == brute_force(shapes), shapes


def test_factor_shapes_are_rows_by_columns_left_to_right():
    chain = Chain.random([3, 5, 2], activation="tanh", seed=0)
    assert cheapest.factor_shapes(chain) == [
        ("dense", 1, 2), ("dense", 2, 5), ("diag", 5, 5), ("dense", 5, 3)]
    assert cheapest.factor_shapes(chain, with_loss=False)[0] == ("dense", 2, 5)


# -- finiteness across dtypes ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64])
def test_torch_tests_finiteness_of_a_tensor_of_another_dtype(dtype):
    b = get_backend("torch", "cpu", "float64")
    good = torch.ones(7, dtype=dtype)
    assert b.all_finite(good) is True
    assert b.all_finite(torch.ones((3, 4), dtype=dtype)) is True
    if dtype.is_floating_point:
        for bad in (math.nan, math.inf):
            t = torch.ones(7, dtype=dtype)
            t[3] = bad
            assert b.all_finite(t) is False
            assert b.all_finite(torch.ones(3, dtype=torch.float64), t) is False


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_finiteness_of_small_and_large_arrays_of_the_backends_dtype(backend):
    b = get_backend(backend, "cpu", "float64")
    for n in (5, b.SMALL + 3):
        a = b.asarray(np.ones(n))
        assert b.all_finite(a) is True
        for bad in (math.nan, math.inf, -math.inf):
            v = np.ones(n)
            v[n // 2] = bad
            assert b.all_finite(b.asarray(v)) is False, (n, bad)


def test_numpy_tests_finiteness_of_an_array_of_another_dtype():
    b = get_backend("numpy", "cpu", "float64")
    v = np.ones(6, dtype=np.float32)
    assert b.all_finite(v) is True
    v[2] = np.nan
    assert b.all_finite(v) is False
