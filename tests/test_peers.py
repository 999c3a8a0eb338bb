"""Peer modes (torch.autograd, torch.func, JAX): the same answers as the engines, from the
same chain, in the chain's own array type; no counts; non-finite answers refused."""
import importlib.util
import itertools

import numpy as np
import pytest

from modes import ENGINES, MODES, Chain, FwdrevError, jax_peers

HAS_JAX = importlib.util.find_spec("jax") is not None
TORCH_PEERS = ("autograd", "func-rev", "func-fwd")
JAX_PEERS = ("jax-rev", "jax-fwd")
ALL_CASES = [(b, a, l) for b in ("numpy", "torch")
             for a, l in itertools.product([None, "tanh", "relu", "sigmoid"], ["squared", "softmax_ce"])]
# JAX compiles each (chain, target): every activation and loss once, on both backends
JAX_CASES = [("numpy", None, "squared"), ("numpy", "tanh", "softmax_ce"), ("torch", "relu", "squared"),
             ("numpy", "sigmoid", "softmax_ce"), ("torch", "tanh", "squared")]
NEEDS_JAX = pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
CASES = [(p, *c) for p in TORCH_PEERS for c in ALL_CASES] + \
        [pytest.param(p, *c, marks=NEEDS_JAX) for p in JAX_PEERS for c in JAX_CASES]


def flat(res):
    if res.jac is not None:
        return [np.asarray(res.jac)]
    if isinstance(res.grad, list):
        return [np.asarray(a) for group in res.grad for a in group]
    return [np.asarray(res.grad)]


def relerr(a, b):
    return max(np.linalg.norm(u - v) / max(np.linalg.norm(v), 1e-300) for u, v in zip(a, b))


CALLS = {"gradient": lambda m, c, x: m.gradient(c, x),
         "params": lambda m, c, x: m.gradient(c, x, wrt="params"),
         "jacobian": lambda m, c, x: m.jacobian(c, x)}


@pytest.mark.parametrize("peer,backend,act,loss", CASES)
def test_peer_agrees_with_both_engines(peer, backend, act, loss):
    chain = Chain.random([6, 8, 3, 8, 4], activation=act, loss=loss, backend=backend, bias=True, seed=7)
    x = chain.random_x(3)
    for target, call in CALLS.items():
        got = call(MODES[peer], chain, x)
        assert got.mode == peer and got.ops is None
        assert type(got.value) is type(chain.backend.asarray(0.0)) or np.isscalar(got.value)
        for engine in ("forward", "reverse"):
            want = call(MODES[engine], chain, x)
            assert len(flat(got)) == len(flat(want))
            assert relerr(flat(got), flat(want)) <= 1e-10, (peer, engine, target)
            assert float(np.asarray(got.value).sum()) == pytest.approx(
                float(np.asarray(want.value).sum()), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("peer", TORCH_PEERS)
def test_torch_peer_answers_live_in_the_chains_array_type(peer):
    import torch
    c = Chain.random([4, 5, 3], backend="torch")
    res = MODES[peer].gradient(c, c.random_x())
    assert isinstance(res.grad, torch.Tensor) and not res.grad.requires_grad
    c = Chain.random([4, 5, 3], backend="numpy")
    assert isinstance(MODES[peer].jacobian(c, c.random_x()).jac, np.ndarray)


@pytest.mark.parametrize("peer", TORCH_PEERS)
@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_peer_refuses_a_non_finite_answer(peer):
    big = np.full((4, 4), 1e30)
    c = Chain.from_matrices([big, big, np.ones((1, 4))], [0.0], dtype="float32")
    with pytest.raises(FwdrevError, match="not finite"):
        MODES[peer].gradient(c, np.ones(4))


def test_engines_are_the_counting_modes():
    assert set(ENGINES) <= set(MODES)
    assert all(MODES[m].gradient(Chain.random([3, 2]), np.ones(3)).ops is not None for m in ENGINES)


@pytest.mark.skipif(HAS_JAX, reason="jax is installed here")
def test_without_jax_the_jax_peers_say_so():
    c = Chain.random([3, 2])
    for p in JAX_PEERS:
        with pytest.raises(FwdrevError, match="jax not installed"):
            MODES[p].gradient(c, np.ones(3))


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_jax_compiles_once_per_chain_and_target_and_keeps_the_time_apart():
    c = Chain.random([5, 4, 2], activation="tanh")
    assert jax_peers.compile_seconds(c, "gradient") is None
    first = MODES["jax-rev"].gradient(c, c.random_x(1))
    seconds = jax_peers.compile_seconds(c, "gradient")
    assert seconds > 0
    second = MODES["jax-rev"].gradient(c, c.random_x(2))  # a new x: computed, not memoised
    assert jax_peers.compile_seconds(c, "gradient") == seconds
    assert not np.allclose(first.grad, second.grad)


def test_peers_see_weights_assigned_after_the_chain_was_made():
    """Assigning a layer's W (or b) reaches the peers as it reaches the engines' plans: the
    peers read the chain's parameters as they are now, not as they were at construction."""
    c = Chain.random([5, 4, 3], activation="tanh", bias=True, backend="torch", seed=2)
    x = c.random_x()
    for mode in ("autograd", "func-rev") + (("jax-rev",) if HAS_JAX else ()):
        MODES[mode].gradient(c, x)  # before: whatever a peer keeps, it has it now
    layer = c.linear_layers[0]
    layer.W, layer.b = layer.W * 2, layer.b - 1
    want = flat(MODES["reverse"].gradient(c, x))
    for mode in ("autograd", "func-rev", "func-fwd") + (("jax-rev", "jax-fwd") if HAS_JAX else ()):
        assert relerr(flat(MODES[mode].gradient(c, x)), want) <= 1e-12, mode
