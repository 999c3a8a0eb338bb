"""The cheapest bracketing: its DP against brute force over every bracketing, its counts
against the kernel's and both pure modes', its answers against the other modes."""
import itertools

import numpy as np
import pytest

from modes import MODES, Chain, cheapest


def brute_force(shapes):
    """The fewest operations over every bracketing, each costed from first principles:
    dense (n×m)(m×l) = n·m·l mults + n·(m−1)·l adds; a diagonal scales each entry once."""
    def best(i, j):
        if i == j:
            return [(0, shapes[i])]
        out = []
        for k in range(i, j):
            for cl, (lk, n, m) in best(i, k):
                for cr, (rk, _, l) in best(k + 1, j):
                    if lk == "diag" and rk == "diag":
                        c, kind = n, "diag"
                    elif lk == "diag":
                        c, kind = m * l, "dense"
                    elif rk == "diag":
                        c, kind = n * m, "dense"
                    else:
                        c, kind = n * m * l + n * (m - 1) * l, "dense"
                    out.append((cl + cr + c, (kind, n, l)))
        return out
    return min(c for c, _ in best(0, len(shapes) - 1))


def random_chain(rng):
    act = rng.choice([None, "tanh", "relu", "sigmoid"])
    L = int(rng.integers(0, 4 if act else 7))
    widths = [int(w) for w in rng.integers(1, 13, size=L + 2)]
    loss = rng.choice(["squared", "softmax_ce"])
    return Chain.random(widths, activation=act, loss=loss, seed=int(rng.integers(1 << 30)))


@pytest.mark.parametrize("seed", range(4))
def test_dp_equals_brute_force_and_the_kernel_count(seed):
    """250 random non-uniform chains (L ≤ 6; ≤ 3 with activations), gradient and Jacobian."""
    rng = np.random.default_rng(seed)
    for _ in range(63):
        chain = random_chain(rng)
        x = chain.random_x(int(rng.integers(100)))
        for with_loss, call in ((True, MODES["cheapest"].gradient), (False, MODES["cheapest"].jacobian)):
            shapes = cheapest.factor_shapes(chain, with_loss)
            dp, _ = cheapest.bracketing(shapes)
            assert dp == brute_force(shapes), (chain, with_loss)
            counted = call(chain, x).ops
            assert counted.total == dp and counted.funcs == 0
            pure = [getattr(MODES[m], "gradient" if with_loss else "jacobian")(chain, x).ops.total
                    for m in ("forward", "reverse")]
            assert dp <= min(pure)


def test_hourglass_beats_both_pure_modes_by_more_than_half():
    chain = Chain.random([64, 256, 2, 256, 64], seed=5)
    x = chain.random_x()
    counts = {m: MODES[m].jacobian(chain, x).ops.total for m in ("forward", "reverse", "cheapest")}
    assert counts["cheapest"] <= 0.5 * min(counts["forward"], counts["reverse"])


def test_forward_and_reverse_are_bracketings_the_dp_prices_exactly():
    """The DP's cost of the right-to-left and left-to-right bracketings equals the engines'
    counts: the DP and the engines speak one counting convention."""
    for act in (None, "tanh"):
        chain = Chain.random([3, 5, 4, 6, 2], activation=act, seed=1)
        x = chain.random_x()
        for with_loss, fn in ((True, "gradient"), (False, "jacobian")):
            shapes = cheapest.factor_shapes(chain, with_loss)
            n = len(shapes)

            def fold(order):
                block, total = None, 0
                for i in order:
                    if block is None:
                        block = shapes[i]
                        continue
                    left, right = (shapes[i], block) if order[0] == n - 1 else (block, shapes[i])
                    c, kind = cheapest.join_cost(left, right)
                    total += c
                    block = (kind, left[1], right[2])
                return total
            assert fold(list(range(n - 1, -1, -1))) == getattr(MODES["forward"], fn)(chain, x).ops.total
            assert fold(list(range(n))) == getattr(MODES["reverse"], fn)(chain, x).ops.total


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_values_equal_autograd(backend):
    import torch
    for act, loss in itertools.product([None, "tanh", "relu", "sigmoid"], ["squared", "softmax_ce"]):
        chain = Chain.random([6, 9, 2, 9, 5], activation=act, loss=loss, backend=backend, bias=True, seed=2)
        x = chain.random_x()
        got = MODES["cheapest"].gradient(chain, x)
        want = MODES["autograd"].gradient(chain, x)
        np.testing.assert_allclose(np.asarray(got.grad), np.asarray(want.grad), rtol=1e-10, atol=1e-12)
        J = MODES["cheapest"].jacobian(chain, x).jac
        assert tuple(J.shape) == (5, 6)
        np.testing.assert_allclose(np.asarray(J), np.asarray(MODES["autograd"].jacobian(chain, x).jac),
                                   rtol=1e-10, atol=1e-12)


def test_params_gradient_is_backpropagation():
    chain = Chain.random([4, 6, 3], activation="tanh", bias=True)
    x = chain.random_x()
    got, ref = MODES["cheapest"].gradient(chain, x, wrt="params"), MODES["reverse"].gradient(chain, x, wrt="params")
    assert got.mode == "cheapest" and got.ops == ref.ops
    for g, r in zip(got.grad, ref.grad):
        for a, b in zip(g, r):
            np.testing.assert_array_equal(a, b)
