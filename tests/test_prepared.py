"""Peers timed as their users run them: prepare() makes the framework's arrays (and compiles)
once; the timed call converts nothing; bench.points.prepare hands out exactly that call; the
`hand` mode (the hand-written floor) agrees with the engines; torch-compile and JAX keep
their compile time apart; the who-wins table shows hand as the floor."""
import importlib.util

import numpy as np
import pytest

from bench.points import Point, agreement, prepare
from bench.report import analysis, modeplots
from bench.sweep import guards
from modes import MODES, Chain, FwdrevError, get_backend, hand, torch_peers
from sweep_helpers import fake_run

HAS_JAX = importlib.util.find_spec("jax") is not None
EAGER_PEERS = ["hand", "autograd", "func-rev", "func-fwd"] + (["jax-rev", "jax-fwd"] if HAS_JAX else [])
TARGETS = ("gradient", "params", "jacobian")


def _forbid_conversions(monkeypatch, chain):
    """Every way an array reaches or leaves a framework raises from here on."""
    import torch

    def refuse(*a, **k):
        raise AssertionError("a conversion inside the timed call")
    for name in ("asarray", "to_numpy"):
        monkeypatch.setattr(chain.backend, name, refuse)
    monkeypatch.setattr(chain, "input", refuse)
    for name in ("from_numpy", "as_tensor", "tensor"):
        monkeypatch.setattr(torch, name, refuse)
    if HAS_JAX:
        import jax
        monkeypatch.setattr(jax.numpy, "asarray", refuse)
        monkeypatch.setattr(jax.numpy, "array", refuse)
        monkeypatch.setattr(jax, "device_put", refuse)


@pytest.mark.parametrize("B", [None, 1, 5])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("peer", EAGER_PEERS)
def test_the_timed_call_converts_nothing_and_answers_like_reverse(peer, backend, B, monkeypatch):
    """The bug caught: a peer converting x in, or its answer out, inside the timed call
    (two thirds of jax-rev's time at m = 16 was that). On a batch (B given: x d × B) the
    peer's answer has the engines' layout — f per sample (B), ∇f B × d, J B × K × d and Ŷ
    K × B — and each sample's derivative equals reverse mode's."""
    chain = Chain.random([6, 8, 8, 3], backend=backend, seed=4)
    x = chain.random_x(2, B=B)
    prepared = {t: MODES[peer].prepare(chain, x, t) for t in TARGETS}
    with monkeypatch.context() as m:
        _forbid_conversions(m, chain)
        outs = {t: p.call() for t, p in prepared.items()}
    b = chain.backend
    for t, p in prepared.items():
        got = p.answer(outs[t])
        want = {"gradient": lambda: MODES["reverse"].gradient(chain, x),
                "params": lambda: MODES["reverse"].gradient(chain, x, wrt="params"),
                "jacobian": lambda: MODES["reverse"].jacobian(chain, x)}[t]()
        assert got.mode == peer and got.ops is None
        assert agreement({peer: got, "reverse": want}, b) <= 1e-12, (peer, t)
        assert _shapes(got) == _shapes(want), (peer, t)
        np.testing.assert_allclose(np.asarray(b.to_numpy(got.value)), np.asarray(b.to_numpy(want.value)),
                                   rtol=1e-12)


def _shapes(res):
    """The shapes of a Result's value and derivative arrays."""
    d = res.jac if res.jac is not None else res.grad
    arrays = [a for g in d for a in g] if isinstance(d, list) else [d]
    return tuple(np.shape(res.value)), [tuple(a.shape) for a in arrays]


@pytest.mark.parametrize("peer", ["autograd", "func-rev", "hand"] + (["jax-rev"] if HAS_JAX else []))
def test_points_prepare_hands_out_the_framework_call_itself(peer):
    """What the sweep times is the framework's call: its output is the framework's own arrays
    (not converted back), and the checked Result beside it agrees with reverse mode."""
    import torch
    calls, results = prepare(Point(L=2, m=8, d=8), modes=("reverse", peer))
    out = calls[peer]()
    kinds = {"autograd": torch.Tensor, "func-rev": torch.Tensor, "hand": np.ndarray}
    if peer.startswith("jax"):
        import jax
        kinds[peer] = jax.Array
    arrays = [a for a in _flat(out) if getattr(a, "ndim", 0) >= 1]  # the derivative's arrays
    assert arrays and all(isinstance(a, kinds[peer]) for a in arrays), [type(a) for a in arrays]
    assert agreement(results, get_backend("numpy")) <= 1e-12


def _flat(out):
    if not isinstance(out, (tuple, list)):
        yield out
        return
    for a in out:
        yield from _flat(a)


def test_prepare_refuses_an_unknown_target_for_a_peer_too():
    """Refused before any peer is prepared: the point itself (bench.axes) checks the target."""
    with pytest.raises(ValueError, match="unknown target"):
        prepare(Point(target="hessian"), modes=("autograd",))


@pytest.mark.parametrize("widths,end", [([1, 50, 50, 40], "forward"), ([40, 50, 50, 1], "reverse"),
                                        ([30, 60, 2, 60, 30], "reverse")])
def test_hand_jacobian_starts_from_the_cheaper_end(widths, end):
    """Brute force: the multiplications of both orders, counted product by product."""
    c = Chain.random(widths)
    Ws = [np.asarray(l.W) for l in c.linear_layers]
    fwd = sum(W.shape[0] * W.shape[1] * widths[0] for W in Ws[1:])
    rev = sum(widths[-1] * W.shape[0] * W.shape[1] for W in Ws[:-1])
    assert hand.cheapest_end(widths) == ("forward" if fwd < rev else "reverse") == end


@pytest.mark.parametrize("kw", [{"bias": True}, {"activation": "tanh"}, {"loss": "softmax_ce"}])
def test_hand_refuses_chains_it_is_not_written_for(kw):
    c = Chain.random([3, 4, 2], **kw)
    with pytest.raises(FwdrevError, match="hand: written for linear layers"):
        MODES["hand"].gradient(c, c.random_x())


def test_a_missing_compiler_skips_torch_compile_with_the_reason(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    why = guards.mode_skip_reason("torch-compile")
    assert why and "C++ compiler" in why and "/nonexistent/c++" in why
    c = Chain.random([3, 4, 2])
    with pytest.raises(FwdrevError, match="needs a C.. compiler"):
        MODES["torch-compile"].gradient(c, c.random_x())


@pytest.mark.slow
@pytest.mark.skipif(torch_peers.compile_unavailable() is not None,
                    reason=str(torch_peers.compile_unavailable()))
def test_torch_compile_agrees_and_keeps_its_compile_time_apart():
    """Compiled once per (chain, target) outside the timed call; the call runs the compiled
    code on a new x (no recompile, no memoised answer) and agrees with reverse mode."""
    c = Chain.random([5, 6, 6, 3], activation="tanh", bias=True, seed=3)
    x1, x2 = c.random_x(1), c.random_x(2)
    for t in TARGETS:
        assert torch_peers.compile_seconds(c, t) is None
        first = MODES["torch-compile"].prepare(c, x1, t)
        seconds = torch_peers.compile_seconds(c, t)
        assert seconds > 0
        p = MODES["torch-compile"].prepare(c, x2, t)
        assert torch_peers.compile_seconds(c, t) == seconds  # the same compiled function
        want = {"gradient": lambda x: MODES["reverse"].gradient(c, x),
                "params": lambda x: MODES["reverse"].gradient(c, x, wrt="params"),
                "jacobian": lambda x: MODES["reverse"].jacobian(c, x)}[t]
        for prep, x in ((first, x1), (p, x2)):
            got = prep.answer(prep.call())
            assert agreement({"torch-compile": got, "reverse": want(x)}, c.backend) <= 1e-12, t
    # Another chain of the same shapes (torch may reuse the compiled graph): its own weights
    # and target, not the first chain's baked in as constants.
    c2 = Chain.random([5, 6, 6, 3], activation="tanh", bias=True, seed=9)
    p2 = MODES["torch-compile"].prepare(c2, x1, "gradient")
    assert agreement({"torch-compile": p2.answer(p2.call()),
                      "reverse": MODES["reverse"].gradient(c2, x1)}, c2.backend) <= 1e-12


@pytest.mark.slow
@pytest.mark.skipif(torch_peers.compile_unavailable() is not None,
                    reason=str(torch_peers.compile_unavailable()))
def test_torch_compile_compiles_each_batch_size_apart_and_agrees_per_sample():
    """A batch's shape compiles on its own prepare, never inside the timed call: the
    compiled vmap of grad at B = 4 is not B = 2's (its seconds are its own), and each
    sample's gradient equals reverse mode's (a compiled function reused at another B would
    recompile in the timed call, or answer with the other batch's shape)."""
    c = Chain.random([5, 6, 3], activation="relu", loss="softmax_ce", seed=5)
    seconds = []
    for B in (2, 4):
        X = c.random_x(B, B=B)
        p = MODES["torch-compile"].prepare(c, X, "gradient")
        seconds.append(torch_peers.compile_seconds(c, "gradient"))
        got, want = p.answer(p.call()), MODES["reverse"].gradient(c, X)
        assert got.grad.shape == (B, 5) and agreement({"torch-compile": got, "reverse": want}, c.backend) <= 1e-12
    assert seconds[0] > 0 and seconds[1] > 0 and seconds[0] != seconds[1]




@pytest.fixture()
def floor_df(tmp_path):
    """The quick preset's made-up run, with times set per mode on the modes line."""
    df = analysis.load(fake_run(tmp_path / "results", preset="quick"))
    times = {"forward": 4e-3, "reverse": 1e-3, "hand": 5e-4}
    for mode in set(df["mode"]):
        df.loc[df["mode"] == mode, "time_median_s"] = times.get(mode, 2e-3)
    return df


def test_who_wins_shows_hand_as_the_floor_never_the_winner(floor_df):
    lines = modeplots.fastest_table(floor_df)
    assert lines and lines[0].rstrip(" |").endswith("hand (floor)")
    body = lines[2:]
    assert all("| **reverse** |" in ln for ln in body)
    with_floor = [ln for ln in body if not ln.rstrip(" |").endswith("–")]
    assert with_floor and all(ln.rstrip(" |").endswith("0.50") for ln in with_floor)
    floor = {ln.split("|")[1].strip(): ln.split("|")[3].strip() for ln in modeplots.floor_lines(floor_df)
             if ln.startswith("| ") and "× floor" not in ln}
    assert floor["reverse"] == "2.00" and floor["forward"] == "8.00" and floor["autograd"] == "4.00"
    assert "hand" not in floor


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_jax_rev_and_jax_fwd_compile_their_own_functions():
    """The bug caught: both peers keyed their compiled function by (chain, target) alone,
    so whichever ran second timed the other's transformation."""
    from modes import jax_peers
    c = Chain.random([5, 4, 2], seed=5)
    MODES["jax-rev"].prepare(c, c.random_x(), "gradient")
    assert jax_peers.compile_seconds(c, "gradient", "jax-rev") > 0
    assert MODES["jax-fwd"].compile_seconds(c, "gradient") is None
    MODES["jax-fwd"].prepare(c, c.random_x(), "gradient")
    assert MODES["jax-fwd"].compile_seconds(c, "gradient") > 0
