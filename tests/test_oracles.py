"""Gradients and Jacobians against independent oracles: torch.autograd and torch.func in
float64, central finite differences in random directions, and the other mode."""
import numpy as np
import pytest
import torch

from modes import MODES, Chain

from conftest import as_np, params_numpy, relerr, torch_f, torch_h

BACKENDS = ["numpy", "torch"]
# (widths, activation, loss, bias): uniform and non-uniform, every activation and loss.
CHAINS = [
    ([3, 2, 2], None, "squared", False),
    ([5, 7, 7, 7, 3], None, "squared", False),
    ([6, 9, 4, 11, 2], "tanh", "squared", False),
    ([8, 3, 12, 5], "sigmoid", "softmax_ce", False),
    ([4, 10, 6, 6, 7], "relu", "softmax_ce", True),
    ([1, 5, 1], "tanh", "squared", True),          # d = 1, K = 1
    ([7, 4], None, "softmax_ce", False),            # L = 0
    ([9, 16, 2, 16, 1], "relu", "squared", False),  # an hourglass
]
IDS = [f"{'-'.join(map(str, w))}-{a}-{l}{'-bias' if b else ''}" for w, a, l, b in CHAINS]
TOL = 1e-10  # float64 relative error against autograd


@pytest.fixture(params=[(c, be) for c in CHAINS for be in BACKENDS],
                ids=[f"{i}-{be}" for i in IDS for be in BACKENDS])
def chain_x(request):
    (widths, act, loss, bias), backend = request.param
    seed = sum(widths)
    chain = Chain.random(widths, activation=act, loss=loss, bias=bias, backend=backend, seed=seed)
    return chain, chain.random_x(seed + 1)


def _x64(chain, x):
    return torch.tensor(as_np(chain, x))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_input_gradient_matches_autograd(chain_x, mode):
    chain, x = chain_x
    xt = _x64(chain, x).requires_grad_(True)
    f = torch_f(chain)(xt)
    (g,) = torch.autograd.grad(f, xt)
    res = MODES[mode].gradient(chain, x)
    assert relerr(as_np(chain, res.grad), g.numpy()) <= TOL
    assert abs(float(res.value) - f.item()) <= TOL * max(1.0, abs(f.item()))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_param_gradient_matches_autograd(chain_x, mode):
    chain, x = chain_x
    ps = [(torch.tensor(W, requires_grad=True), None if b is None else torch.tensor(b, requires_grad=True))
          for W, b in params_numpy(chain)]
    flat = [t for p in ps for t in p if t is not None]
    f = torch_f(chain)(_x64(chain, x), ps)
    grads = torch.autograd.grad(f, flat)
    res = MODES[mode].gradient(chain, x, wrt="params")
    ours = [as_np(chain, a) for layer in res.grad for a in layer]
    assert [a.shape for a in ours] == [tuple(g.shape) for g in grads]
    for a, g in zip(ours, grads):
        assert relerr(a, g.numpy()) <= TOL


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_matches_torch_func(chain_x, mode):
    chain, x = chain_x
    oracle = torch.func.jacrev if mode == "forward" else torch.func.jacfwd  # the other one, for variety
    J = oracle(torch_h(chain))(_x64(chain, x))
    res = MODES[mode].jacobian(chain, x)
    assert as_np(chain, res.jac).shape == (chain.K, chain.d)
    assert relerr(as_np(chain, res.jac), J.numpy()) <= TOL
    assert relerr(as_np(chain, res.value), torch_h(chain)(_x64(chain, x)).numpy()) <= TOL


def _numpy_f(chain):
    """f in plain numpy float64: a third, independent evaluation for finite differences."""
    ps = params_numpy(chain)
    y = chain.backend.to_numpy(chain.loss.y).astype(np.float64)
    act = {None: None, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[chain.activation]

    def f(x):
        z = x
        for i, (W, b) in enumerate(ps):
            z = W @ z + (0 if b is None else b)
            if act is not None and i < len(ps) - 1:
                z = act(z)
        if chain.loss_name == "squared":
            return 0.5 * np.sum((y - z) ** 2)
        s = z - z.max()
        return -np.sum(y * (s - np.log(np.exp(s).sum())))
    return f


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_gradient_matches_central_differences(chain_x, mode):
    chain, x = chain_x
    f, x0 = _numpy_f(chain), as_np(chain, x)
    g = as_np(chain, MODES[mode].gradient(chain, x).grad)
    rng, h = np.random.default_rng(7), 1e-5
    for _ in range(3):  # random directions, as autograd's check_grads does
        v = rng.standard_normal(x0.shape)
        fd = (f(x0 + h * v) - f(x0 - h * v)) / (2 * h)
        assert abs(fd - g @ v) <= 1e-6 * max(1.0, abs(fd))


def test_jacobian_matches_central_differences(chain_x):
    chain, x = chain_x
    hfun, x0 = torch_h(chain), as_np(chain, x)
    J = as_np(chain, MODES["reverse"].jacobian(chain, x).jac)
    h = 1e-6
    for j in range(chain.d):
        e = np.zeros(chain.d)
        e[j] = h
        col = (hfun(torch.tensor(x0 + e)) - hfun(torch.tensor(x0 - e))).numpy() / (2 * h)
        assert np.allclose(J[:, j], col, rtol=1e-6, atol=1e-7)


def test_forward_agrees_with_reverse(chain_x):
    chain, x = chain_x
    fw, rv = MODES["forward"], MODES["reverse"]
    assert relerr(as_np(chain, fw.gradient(chain, x).grad), as_np(chain, rv.gradient(chain, x).grad)) <= TOL
    assert relerr(as_np(chain, fw.jacobian(chain, x).jac), as_np(chain, rv.jacobian(chain, x).jac)) <= TOL
    pf, pr = fw.gradient(chain, x, wrt="params").grad, rv.gradient(chain, x, wrt="params").grad
    for lf, lr in zip(pf, pr):
        for a, b in zip(lf, lr):
            assert relerr(as_np(chain, a), as_np(chain, b)) <= TOL


def test_dense_B_gives_the_same_numbers(chain_x):
    chain, x = chain_x
    rv = MODES["reverse"]
    s, d = rv.gradient(chain, x, wrt="params"), rv.gradient(chain, x, wrt="params", dense_B=True)
    for ls, ld in zip(s.grad, d.grad):
        for a, b in zip(ls, ld):
            assert relerr(as_np(chain, b), as_np(chain, a)) <= TOL
    if chain.K > 1 or chain.L > 0:  # dense B costs more wherever an output has width > 1
        assert d.ops.total > s.ops.total


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_is_close(backend):
    c64 = Chain.random([20, 30, 30, 5], activation="tanh", backend=backend, dtype="float64", seed=3)
    c32 = Chain.random([20, 30, 30, 5], activation="tanh", backend=backend, dtype="float32", seed=3)
    for mode in ("forward", "reverse"):
        g64 = as_np(c64, MODES[mode].gradient(c64, c64.random_x()).grad)
        r32 = MODES[mode].gradient(c32, c32.random_x())
        assert str(r32.grad.dtype).endswith("float32")
        g32 = as_np(c32, r32.grad)  # not relerr(): that one reports the float64 worst case
        assert np.linalg.norm(g32 - g64) <= 1e-5 * np.linalg.norm(g64)


def test_same_seed_same_chain_on_every_backend():
    a = Chain.random([5, 6, 3], backend="numpy", seed=11)
    b = Chain.random([5, 6, 3], backend="torch", seed=11)
    for (Wa, _), (Wb, _) in zip(params_numpy(a), params_numpy(b)):
        assert np.array_equal(Wa, Wb)


# -- cases the random chains above never reach ----------------------------------------
def _autograd(chain, x):
    """f, ∇_x f and every ∂f/∂W_i, ∂f/∂b_i by torch.autograd in float64."""
    xt = _x64(chain, x).requires_grad_(True)
    ps = [(torch.tensor(W, requires_grad=True), None if b is None else torch.tensor(b, requires_grad=True))
          for W, b in params_numpy(chain)]
    flat = [t for p in ps for t in p if t is not None]
    f = torch_f(chain)(xt, ps)
    gx, *gp = torch.autograd.grad(f, [xt] + flat)
    return f.item(), gx.numpy(), [g.numpy() for g in gp]


def _assert_both_modes_match_autograd(chain, x):
    f, gx, gp = _autograd(chain, x)
    assert np.isfinite(f) and np.isfinite(gx).all()
    for mode in ("forward", "reverse"):
        res = MODES[mode].gradient(chain, x)
        assert abs(float(res.value) - f) <= TOL * max(1.0, abs(f)), mode
        assert relerr(as_np(chain, res.grad), gx) <= TOL, mode
        ours = [as_np(chain, a) for layer in MODES[mode].gradient(chain, x, wrt="params").grad
                for a in layer]
        assert len(ours) == len(gp)
        for a, g in zip(ours, gp):
            assert relerr(a, g) <= TOL, mode


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_ce_with_unnormalised_target(backend):
    """∇ℓ = softmax(ŷ)·Σy − y: the random chains all have a one-hot y (Σy = 1); here Σy = 3.5."""
    rng = np.random.default_rng(5)
    Ws = [rng.standard_normal((5, 3)), rng.standard_normal((4, 5))]
    chain = Chain.from_matrices(Ws, [0.5, 2.0, 0.0, 1.0], loss="softmax_ce", activation="tanh",
                                backend=backend, bs=[None, rng.standard_normal(4)])
    _assert_both_modes_match_autograd(chain, chain.random_x())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("y", [[0.0, 1.0, 0.0, 0.0], [0.5, 2.0, 0.0, 1.0]], ids=["one-hot", "unnormalised"])
def test_softmax_ce_is_stable_for_large_logits(backend, y):
    """ŷ ≈ 1000 through a large bias: exp(ŷ) overflows float64, exp(ŷ − max ŷ) does not;
    the oracle is torch's log_softmax."""
    rng = np.random.default_rng(6)
    Ws = [rng.standard_normal((5, 3)), rng.standard_normal((4, 5))]
    chain = Chain.from_matrices(Ws, y, loss="softmax_ce", activation="tanh", backend=backend,
                                bs=[None, [1000.0, 1001.0, 999.0, 1000.5]])
    x = chain.random_x()
    assert as_np(chain, MODES["reverse"].jacobian(chain, x).value).min() > 990
    _assert_both_modes_match_autograd(chain, x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_relu_derivative_at_zero_is_zero(backend):
    """relu'(0) = 0, torch's convention: integer weights and x give z_1 = (0, 0, 3) exactly,
    and the chain back through the two zeros would change ∇_x f and ∂f/∂W_0 otherwise."""
    W0 = [[1.0, -1.0, 0.0], [2.0, 1.0, -3.0], [1.0, 1.0, 1.0]]
    W1 = [[1.0, 2.0, -1.0], [3.0, -1.0, 2.0]]
    chain = Chain.from_matrices([W0, W1], [1.0, 0.0], activation="relu", backend=backend)
    x = chain.backend.asarray([1.0, 1.0, 1.0])
    assert (np.array(W0) @ np.ones(3)).tolist() == [0.0, 0.0, 3.0]
    _assert_both_modes_match_autograd(chain, x)
