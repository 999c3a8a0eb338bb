"""One target per sample: y of shape K × B beside x of shape d × B. Every mode's answers equal
torch.autograd's on each sample with its own target; the counts equal modes.predict's
closed forms with y_per_sample (softmax's Σy_b then costs K − 1 adds per sample); a shared
y and a per-sample y that repeats it give the same answers; bad shapes are one line."""
import importlib.util
import itertools

import numpy as np
import pytest
import torch

from modes import ENGINES, MODES, Chain, FwdrevError, predict
from conftest import as_np, params_numpy

HAS_JAX = importlib.util.find_spec("jax") is not None
PEERS = ["autograd", "func-rev", "func-fwd"] + (["jax-rev", "jax-fwd"] if HAS_JAX else [])
B = 5


def _chain(loss, act, bias, backend="numpy", seed=3):
    """A chain [4, 7, 6, 3] with one target per sample, and that chain's parts."""
    base = Chain.random([4, 7, 6, 3], activation=act, bias=bias, loss=loss, seed=seed)
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((3, B)) if loss == "squared" else np.eye(3)[:, rng.integers(3, size=B)]
    Ws, bs = zip(*params_numpy(base))
    c = Chain.from_matrices(list(Ws), Y, loss=loss, activation=act, bs=list(bs) if bias else None,
                            backend=backend)
    return c, base, Y


def _autograd_per_sample(c, X, Y):
    """Each sample's ∇_x f with its own target, and the mean loss's parameter gradient, by
    torch.autograd on float64 copies (an oracle that shares no code with the engines)."""
    ps = [(torch.tensor(W, requires_grad=True), None if b is None else torch.tensor(b, requires_grad=True))
          for W, b in params_numpy(c)]
    act = {None: lambda z: z, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[c.activation]

    def f(x, y):
        z = x
        for i, (W, b) in enumerate(ps):
            z = W @ z + (0 if b is None else b)
            if i < len(ps) - 1:
                z = act(z)
        if c.loss_name == "squared":
            return 0.5 * ((z - y) ** 2).sum()
        return -(y * torch.log_softmax(z, dim=0)).sum()
    grads, total = [], 0
    for b in range(X.shape[1]):
        x, y = torch.tensor(X[:, b], requires_grad=True), torch.tensor(Y[:, b])
        fb = f(x, y)
        grads.append(torch.autograd.grad(fb, x)[0].numpy())
        total = total + f(torch.tensor(X[:, b]), y)
    flat = [t for p in ps for t in p if t is not None]
    return np.array(grads), [g.numpy() for g in torch.autograd.grad(total / X.shape[1], flat)]


CASES = list(itertools.product(["squared", "softmax_ce"], [None, "relu", "tanh"], [False, True]))


@pytest.mark.parametrize("loss,act,bias", CASES, ids=str)
def test_every_mode_answers_each_sample_with_its_own_target(loss, act, bias):
    c, base, Y = _chain(loss, act, bias)
    X = base.random_x(2, B=B)
    want_g, want_p = _autograd_per_sample(c, X, Y)
    modes = list(ENGINES) + PEERS + (["hand"] if (act, bias, loss) == (None, False, "squared") else [])
    for mode in modes:
        g = MODES[mode].gradient(c, X)
        assert np.abs(as_np(c, g.grad) - want_g).max() <= 1e-10, mode
        got = [as_np(c, a) for t in MODES[mode].gradient(c, X, wrt="params").grad for a in t]
        assert max(np.abs(a - w).max() for a, w in zip(got, want_p)) <= 1e-10, mode
        for b in range(B):  # each sample's value is its own loss
            one = Chain.from_matrices([np.asarray(l.W) for l in c.linear_layers], Y[:, b], loss=loss,
                                      activation=act, bs=[np.asarray(l.b) for l in c.linear_layers] if bias else None)
            assert float(np.asarray(g.value)[b]) == pytest.approx(
                float(MODES["reverse"].gradient(one, X[:, b]).value), rel=1e-12), mode


@pytest.mark.parametrize("loss,act,bias", CASES, ids=str)
def test_counts_equal_the_closed_forms_with_a_target_per_sample(loss, act, bias):
    """softmax_ce forms Σy_b for each sample ((K − 1)·B adds), not once: a count that
    kept the shared Σy, or a closed form that ignored the targets, differs."""
    c, base, _ = _chain(loss, act, bias)
    X = base.random_x(2, B=B)
    for mode, target in itertools.product(ENGINES, predict.TARGETS):
        e = MODES[mode]
        res = e.jacobian(c, X) if target == "jacobian" else \
            e.gradient(c, X, wrt="params" if target == "params" else "input")
        want = predict.phase_ops(target, c.widths, activation=act, bias=bias, loss=loss, B=B, y_per_sample=True)
        assert {p: res.phases[p] for p in want} == want, (mode, target)
        shared = predict.phase_ops(target, c.widths, activation=act, bias=bias, loss=loss, B=B)
        assert (want == shared) == (loss == "squared" or target == "jacobian")
        if target == "gradient":  # the derivative's chain costs what it does with one shared y
            assert res.ops == e.gradient(base, X).ops, mode


def test_a_target_repeated_per_sample_answers_as_the_shared_one():
    for loss in ("squared", "softmax_ce"):
        base = Chain.random([4, 6, 3], activation="tanh", loss=loss, bias=True, seed=1)
        X = base.random_x(B=B)
        y = as_np(base, base.loss.y)
        rep = Chain.from_matrices([l.W for l in base.linear_layers], np.tile(y[:, None], (1, B)), loss=loss,
                                  activation="tanh", bs=[l.b for l in base.linear_layers])
        for mode in ENGINES:
            a, b = MODES[mode].gradient(base, X), MODES[mode].gradient(rep, X)
            np.testing.assert_allclose(b.grad, a.grad, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(b.value, a.value, rtol=1e-13)


def test_torch_chains_take_a_target_per_sample_too():
    c, base, Y = _chain("softmax_ce", "relu", True, backend="torch")
    X = base.random_x(2, B=B)
    want_g, _ = _autograd_per_sample(c, X, Y)
    for mode in ("reverse", "forward", "autograd", "func-rev"):
        assert np.abs(as_np(c, MODES[mode].gradient(c, X).grad) - want_g).max() <= 1e-10, mode


def test_bad_targets_are_one_line():
    c0 = Chain.random([4, 5, 3])
    Ws = [l.W for l in c0.linear_layers]
    for y, match in ((np.ones((2, B)), r"y has shape \(2, 5\), expected \(3,\) or \(3, B\)"),
                     (np.ones((3, 0)), r"y has shape \(3, 0\)"),
                     (np.ones((3, 2, 1)), r"y has shape \(3, 2, 1\)"),
                     (np.full((3, 2), np.nan), "y contains NaN")):
        with pytest.raises(FwdrevError, match=match) as e:
            Chain.from_matrices(Ws, y)
        assert "\n" not in str(e.value)
    c = Chain.from_matrices(Ws, np.ones((3, B)))
    for x in (np.ones((4, B + 1)), np.ones(4), np.ones((4, 1))):
        for mode in list(ENGINES) + ["autograd"]:
            with pytest.raises(FwdrevError, match=r"y holds 5 targets, one per sample, but x has shape"):
                MODES[mode].gradient(c, x)
    with pytest.raises(FwdrevError, match=r"Squared.y has shape \(3, 5\)"):
        c.loss.y = np.ones(3)
