"""Batches: x of shape (d, B), one column per sample. Every engine's counts on every phase
equal modes.predict's closed forms in B; the answers equal torch.autograd sample by sample,
and each other; B = 1 is the unbatched call; bad batches are one-line errors."""
import itertools

import numpy as np
import pytest
import torch

from modes import ENGINES, MODES, Chain, FwdrevError, cheapest, predict
from conftest import as_np, params_numpy, torch_f, torch_h, torch_loss

BS = (1, 2, 4, 7, 16)
WIDTHS = ([4, 6, 5, 3], [3, 7], [2, 5, 1, 6, 4])
CASES = list(itertools.product(WIDTHS, [None, "relu", "sigmoid", "tanh"], [False, True],
                               ["squared", "softmax_ce"]))


def _call(mode, target, c, x, **kw):
    e = MODES[mode]
    if target == "jacobian":
        return e.jacobian(c, x, **kw)
    return e.gradient(c, x, wrt="params" if target == "params" else "input", **kw)


def _predicted(mode, target, c, B, dense_B=False):
    act = c.activation is not None
    if mode == "cheapest" and not dense_B:
        return predict.cheapest_total(target, c.widths, activation=act, B=B, bias=c.linear_layers[0].b is not None)
    m = "reverse" if mode == "cheapest" else mode
    if target == "gradient":
        return predict.gradient_ops_widths(m, c.widths, activation=act, B=B)
    if target == "jacobian":
        return predict.jacobian_ops_widths(m, c.widths, activation=act, B=B)
    return predict.params_ops_widths(m, c.widths, dense_B=dense_B and m == "reverse",
                                     bias=c.linear_layers[0].b is not None, activation=act, B=B)


@pytest.mark.parametrize("widths,act,bias,loss", CASES, ids=str)
def test_every_phase_counts_its_closed_form_in_B(widths, act, bias, loss):
    """The chain phase against predict's *_widths (cheapest: the DP), every other phase
    against predict.phase_ops, on B = 1, 2, 4, 7, 16, for every mode and target."""
    c = Chain.random(widths, activation=act, bias=bias, loss=loss, seed=7)
    for B, mode, target in itertools.product(BS, ENGINES, predict.TARGETS):
        for dense in ((False, True) if target == "params" else (False,)):
            res = _call(mode, target, c, c.random_x(B=B), **({"dense_B": dense} if dense else {}))
            want = _predicted(mode, target, c, B, dense)
            got = res.ops.total if isinstance(want, int) else res.ops
            assert got == want, (B, mode, target, dense)
            phases = predict.phase_ops(target, widths, activation=act, bias=bias, loss=loss, B=B)
            assert {p: res.phases[p] for p in phases} == phases, (B, mode, target)


def test_uniform_closed_forms_equal_the_layer_sums_in_B():
    for (L, m, d, K), B in itertools.product(itertools.product([0, 1, 2, 4], [1, 3], [1, 5], [1, 3]), BS):
        w = [d] + [m] * L + [K]
        for mode in ("forward", "reverse"):
            assert predict.gradient_ops(mode, L, m, d, K, B=B) == predict.gradient_ops_widths(mode, w, B=B)
            assert predict.jacobian_ops(mode, L, m, d, K, B=B) == predict.jacobian_ops_widths(mode, w, B=B)
            for dense in (False, True) if mode == "reverse" else (False,):
                assert predict.params_ops(mode, L, m, d, K, dense_B=dense, B=B) == \
                    predict.params_ops_widths(mode, w, dense_B=dense, B=B), (L, m, d, K, B, mode, dense)


def _brute(shapes, copies):
    """The fewest operations over every bracketing, by enumeration: a block is paid
    B times when any factor in it is per sample."""
    def best(i, j):
        if i == j:
            return [(0, shapes[i])]
        out = []
        times = max(copies[i:j + 1])
        for k in range(i, j):
            for cl, (lk, n, m) in best(i, k):
                for cr, (rk, _, l) in best(k + 1, j):
                    c, kind = cheapest.join_cost((lk, n, m), (rk, m, l))
                    out.append((cl + cr + c * times, (kind, n, l)))
        return out
    return min(c for c, _ in best(0, len(shapes) - 1))


def test_dp_over_batches_equals_brute_force_and_the_linear_chain_shares_its_weights():
    rng = np.random.default_rng(0)
    for _ in range(40):
        act = rng.choice([None, "tanh"])
        w = [int(v) for v in rng.integers(1, 9, size=int(rng.integers(2, 6 if act is None else 5)))]
        c = Chain.random(w, activation=act, seed=1)
        for B, with_loss in itertools.product((1, 3, 16), (True, False)):
            shapes, cp = cheapest.factor_shapes(c, with_loss), cheapest.factor_copies(c, with_loss, B)
            assert cheapest.bracketing(shapes, cp)[0] == _brute(shapes, cp)
    # a linear chain [d, m, m, K] with B ≫ d: the cheapest multiplies the weights first
    c = Chain.random([4, 32, 32, 8], seed=2)
    x = c.random_x(B=64)
    counts = {m: MODES[m].gradient(c, x).ops.total for m in ENGINES}
    assert counts["cheapest"] == counts["forward"] < counts["reverse"]
    assert counts["forward"] == predict.gradient_ops("forward", 2, 32, 4, 8, B=64).total


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("act,loss,bias", [(None, "squared", True), ("relu", "softmax_ce", False),
                                           ("tanh", "squared", True), ("sigmoid", "softmax_ce", True)])
def test_values_equal_autograd_sample_by_sample(backend, act, loss, bias):
    c = Chain.random([5, 8, 6, 4], activation=act, loss=loss, bias=bias, backend=backend, seed=3)
    B = 7
    X = c.random_x(5, B=B)
    Xn = as_np(c, X)
    f, h = torch_f(c), torch_h(c)
    want_g, want_J = [], []
    for b in range(B):
        x = torch.tensor(Xn[:, b], requires_grad=True)
        want_g.append(torch.autograd.grad(f(x), x)[0].numpy())
        want_J.append(torch.autograd.functional.jacobian(h, torch.tensor(Xn[:, b])).numpy())
    ps = [(torch.tensor(W, requires_grad=True), None if bb is None else torch.tensor(bb, requires_grad=True))
          for W, bb in params_numpy(c)]
    hp, loss_fn = torch_h(c), torch_loss(c)
    mean = sum(loss_fn(hp(torch.tensor(Xn[:, b]), ps)) for b in range(B)) / B
    flat = [t for p in ps for t in p if t is not None]
    want_p = [g.numpy() for g in torch.autograd.grad(mean, flat)]
    for mode in ENGINES:
        g = _call(mode, "gradient", c, X)
        assert g.grad.shape == (B, 5) and tuple(g.value.shape) == (B,)
        assert np.abs(as_np(c, g.grad) - np.array(want_g)).max() <= 1e-10
        J = _call(mode, "jacobian", c, X).jac
        assert J.shape == (B, 4, 5) and np.abs(as_np(c, J) - np.array(want_J)).max() <= 1e-10
        for dense in (False, True):
            got = [as_np(c, a) for t in _call(mode, "params", c, X, dense_B=dense).grad for a in t]
            assert max(np.abs(a - w).max() for a, w in zip(got, want_p)) <= 1e-10


@pytest.mark.parametrize("target", predict.TARGETS)
@pytest.mark.parametrize("mode", ENGINES)
def test_one_column_is_the_unbatched_call(mode, target):
    """B = 1: today's counts on every phase, today's memory, and the same derivatives, bit
    for bit on numpy (f itself to an ulp: a column's dot product is summed by einsum)."""
    for act, bias in itertools.product([None, "tanh"], [False, True]):
        c = Chain.random([4, 6, 5, 3], activation=act, bias=bias, seed=5)
        x = c.random_x(2)
        one, col = _call(mode, target, c, x), _call(mode, target, c, c.backend.reshape(x, (4, 1)))
        assert one.phases == col.phases and one.mem == col.mem
        a, b = one.grad if target != "jacobian" else one.jac, col.grad if target != "jacobian" else col.jac
        if target == "params":
            for ta, tb in zip(a, b):
                for u, v in zip(ta, tb):
                    np.testing.assert_array_equal(u, v)
        else:
            np.testing.assert_array_equal(np.reshape(b, np.shape(a)), a)
        assert np.shape(col.value) == ((3, 1) if target == "jacobian" else (1,))  # ŷ K × B, or f per sample
        np.testing.assert_allclose(np.ravel(col.value), np.ravel(one.value), rtol=1e-15)


def test_modes_agree_on_a_batch_and_each_column_is_its_own_call():
    c = Chain.random([6, 9, 2, 9, 5], activation="relu", bias=True, seed=9)
    X = c.random_x(B=5)
    grads = {m: _call(m, "gradient", c, X).grad for m in ENGINES}
    for m in ENGINES:
        np.testing.assert_allclose(grads[m], grads["reverse"], rtol=1e-12, atol=1e-14)
        for b in range(5):
            np.testing.assert_allclose(grads[m][b], _call(m, "gradient", c, X[:, b]).grad, rtol=1e-12, atol=1e-14)


def test_replays_and_the_shape_backend_count_what_the_first_call_counted():
    from modes.shapes import shape_plan
    from modes import plan
    for mode, target in itertools.product(ENGINES, predict.TARGETS):
        c = Chain.random([3, 5, 5, 2], seed=1)
        first = _call(mode, target, c, c.random_x(1, B=6))
        again = _call(mode, target, c, c.random_x(2, B=6))
        assert (first.ops, first.mem) == (again.ops, again.mem)
        prof, ops, mem = shape_plan([3, 5, 5, 2], mode, target, B=6)
        assert (prof, ops, mem) == (plan.profile(c, mode, target), first.ops, first.mem)
        unb = _call(mode, target, c, c.random_x(3))  # a plan of its own, beside the batch's
        assert unb.ops == _call(mode, target, Chain.random([3, 5, 5, 2]), c.random_x()).ops


def test_bad_batches_are_one_line_errors():
    c = Chain.random([3, 4, 2])
    for x, match in ((np.ones((3, 0)), r"x has shape \(3, 0\): a batch needs at least one column"),
                     (np.ones((4, 2)), r"x has shape \(4, 2\), expected \(3,\) or \(3, B\)"),
                     (np.ones((3, 2, 1)), r"x has shape \(3, 2, 1\)")):
        for mode in ENGINES:
            with pytest.raises(FwdrevError, match=match) as e:
                MODES[mode].gradient(c, x)
            assert "\n" not in str(e.value)
    for B, match in ((0, "B must be at least 1"), (-3, "B must be at least 1"),
                     (2.5, "B must be a whole number"), (True, "B must be a whole number"),
                     ("4", "B must be a whole number")):
        with pytest.raises(FwdrevError, match=match):
            c.random_x(B=B)
        with pytest.raises(FwdrevError, match=match):
            predict.gradient_ops("reverse", 1, 4, 3, 2, B=B)
    with pytest.raises(FwdrevError, match="contains NaN"):
        MODES["reverse"].gradient(c, np.array([[1.0, np.nan]] * 3))


@pytest.mark.parametrize("target", predict.TARGETS)
def test_counted_peak_memory_equals_the_closed_form_in_B(target):
    """Both pure modes, L = 0…4, B = 1, 2, 3, 16: what the batch shares (forward's F_i, the
    Jacobian accumulators, the gradients) is held once, what it does not B times."""
    for (L, m, d, K), B in itertools.product(itertools.product([0, 1, 2, 3, 4], [1, 3, 8], [1, 5], [1, 3]),
                                             [1, 2, 3, 16]):
        c = Chain.random([d] + [m] * L + [K], seed=L + m + d + K)
        for mode in ("forward", "reverse"):
            res = _call(mode, target, c, c.random_x(B=B))
            assert res.mem["peak"] == predict.memory_peak(target, mode, L, m, d, K, B=B), (L, m, d, K, B, mode)
            assert max(res.mem["phases"].values()) == res.mem["peak"]


@pytest.mark.parametrize("mode", ENGINES)
def test_a_batch_replayed_from_a_graph_equals_eager_and_torch_counts_as_numpy(monkeypatch, mode):
    """exec="graph" on a batch, against the CPU stand-in with a CUDA graph's static memory
    (tests/test_exec.py): one capture per (target, B), each replay from its own X; torch
    counts and memory equal numpy's."""
    from test_exec import capture_on_stand_in
    kw = dict(activation="tanh", loss="softmax_ce", bias=True, seed=2)
    c, ref = Chain.random([5, 7, 7, 3], backend="torch", **kw), Chain.random([5, 7, 7, 3], **kw)
    graphs = capture_on_stand_in(c, monkeypatch)
    for target, B in itertools.product(predict.TARGETS, (1, 4)):
        xs = [c.random_x(i, B=B) for i in range(3)]
        graphed = [_call(mode, target, c, x, exec="graph") for x in xs]
        for i, (x, g) in enumerate(zip(xs, graphed)):
            want, numpy_one = _call(mode, target, c, x), _call(mode, target, ref, ref.random_x(i, B=B))
            assert (g.ops, g.mem, g.phases) == (want.ops, want.mem, want.phases) == \
                (numpy_one.ops, numpy_one.mem, numpy_one.phases)
            a, b = (g.jac, want.jac) if target == "jacobian" else (g.grad, want.grad)
            for u, v in zip(*(([t for p in z for t in p] if target == "params" else [z]) for z in (a, b))):
                assert torch.allclose(u, v, rtol=1e-13, atol=0)
    assert len(graphs) == 6 and all(g.replays == 3 for g in graphs)


def test_a_chain_that_opens_with_an_activation_forms_one_diagonal_per_sample():
    """Forward mode's F_0 is then diag(σ'(x_b)), B × d × d (diags, not numpy's diag of a
    matrix, which would return its diagonal)."""
    from modes.backends import get_backend
    from modes.layers import ACTIVATIONS, LOSSES, Linear
    for backend in ("numpy", "torch"):
        be = get_backend(backend)
        W = be.asarray(np.random.default_rng(0).standard_normal((2, 3)))
        c = Chain([ACTIVATIONS["tanh"](3), Linear(W)], LOSSES["squared"](be.asarray(np.ones(2))), be)
        X = c.random_x(B=4)
        for mode in ENGINES:
            J = as_np(c, MODES[mode].jacobian(c, X).jac)
            for b in range(4):
                np.testing.assert_allclose(J[b], as_np(c, MODES[mode].jacobian(c, X[:, b]).jac), rtol=1e-14)


@pytest.mark.parametrize("backend,error", [("numpy", MemoryError("Unable to allocate 191. GiB")),
                                           ("torch", RuntimeError("[enforce fail at alloc_cpu.cpp:127] "
                                                                  "DefaultCPUAllocator: can't allocate memory"))])
def test_a_batch_too_big_for_memory_is_one_line_and_other_errors_stay_themselves(backend, error, monkeypatch):
    """An allocation failing inside a call (numpy's MemoryError, torch's CPU allocator's
    RuntimeError) is one line naming x's shape, for every engine and target; any other
    error of the backend is not dressed up as one. random_x of a batch too big is one line
    too."""
    for mode, target in itertools.product(ENGINES, predict.TARGETS):
        c = Chain.random([3, 4, 2], activation="relu", backend=backend)  # fresh: the call records
        monkeypatch.setattr(c.backend, "matmul", lambda a, b: (_ for _ in ()).throw(error))
        with pytest.raises(FwdrevError, match=r"x of shape \(3, 5\) does not fit in memory") as e:
            _call(mode, target, c, np.ones((3, 5)))
        assert "\n" not in str(e.value) and mode in str(e.value)
        monkeypatch.undo()
    c = Chain.random([3, 4, 2], backend=backend)
    monkeypatch.setattr(c.backend, "matmul", lambda a, b: (_ for _ in ()).throw(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        MODES["reverse"].gradient(c, np.ones((3, 5)))
    monkeypatch.undo()

    class Huge:
        def standard_normal(self, shape):
            raise MemoryError(f"Unable to allocate an array with shape {shape}")
    monkeypatch.setattr(np.random, "default_rng", lambda seed=None: Huge())
    with pytest.raises(FwdrevError, match="a batch of 10000000000 inputs of width 3 does not fit in memory"):
        c.random_x(B=10 ** 10)
