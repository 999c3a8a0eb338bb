"""Plan once, execute many: a replayed call equals a recorded one bit for bit, with the
same counts; nothing is memoised on x; changed weights never run a stale plan."""
import itertools

import numpy as np
import pytest

from modes import MODES, Chain, plan

ENGINES = ("forward", "reverse", "cheapest")
TARGETS = {"gradient": lambda m, c, x: m.gradient(c, x),
           "params": lambda m, c, x: m.gradient(c, x, wrt="params"),
           "params-dense": lambda m, c, x: m.gradient(c, x, wrt="params", dense_B=True),
           "jacobian": lambda m, c, x: m.jacobian(c, x)}


def flat(res):
    if res.jac is not None:
        parts = [res.jac]
    elif isinstance(res.grad, list):
        parts = [a for g in res.grad for a in g]
    else:
        parts = [res.grad]
    return [np.asarray(a) for a in parts + [res.value]]


def make(backend, act, loss, seed=4):
    return Chain.random([5, 6, 3, 4], activation=act, loss=loss, backend=backend, bias=True, seed=seed)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("act,loss", list(itertools.product([None, "tanh", "relu", "sigmoid"],
                                                             ["squared", "softmax_ce"])))
def test_replay_equals_a_fresh_recording(backend, act, loss):
    chain = make(backend, act, loss)
    x1, x2 = chain.random_x(1), chain.random_x(2)
    for mode, (target, call) in itertools.product(ENGINES, TARGETS.items()):
        call(MODES[mode], chain, x1)                      # records
        plans = dict(plan._PLANS[chain])
        replayed = call(MODES[mode], chain, x2)           # replays
        assert plan._PLANS[chain] == plans                # no new recording
        fresh = make(backend, act, loss)
        recorded = call(MODES[mode], fresh, x2)           # records on another chain
        for a, b in zip(flat(replayed), flat(recorded)):
            np.testing.assert_array_equal(a, b)
        assert replayed.ops == recorded.ops and replayed.phases == recorded.phases
        assert not np.array_equal(flat(call(MODES[mode], chain, x1))[-1], flat(replayed)[-1])  # the value


def test_plans_are_per_chain_target_and_option():
    chain = make("numpy", "tanh", "squared")
    x = chain.random_x()
    for call in TARGETS.values():
        call(MODES["reverse"], chain, x)
    assert set(plan._PLANS[chain]) == {("reverse", "gradient"), ("reverse", "params", False),
                                       ("reverse", "params", True), ("reverse", "jacobian")}


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_weights_changed_in_place_are_seen(backend):
    chain = make(backend, "sigmoid", "squared")
    x = chain.random_x()
    before = MODES["forward"].gradient(chain, x).grad
    W = chain.linear_layers[1].W
    W *= 2.0  # the same array, new values: the plan holds it by reference
    after = MODES["forward"].gradient(chain, x).grad
    fresh = make(backend, "sigmoid", "squared")
    fresh.linear_layers[1].W *= 2.0
    np.testing.assert_array_equal(np.asarray(after), np.asarray(MODES["forward"].gradient(fresh, x).grad))
    assert not np.array_equal(np.asarray(before), np.asarray(after))


@pytest.mark.parametrize("what", ["W", "b", "y"])
def test_replaced_arrays_make_the_plan_stale(what):
    chain = make("numpy", "tanh", "softmax_ce")
    x = chain.random_x()
    MODES["reverse"].gradient(chain, x, wrt="params")
    old = plan._PLANS[chain][("reverse", "params", False)]
    owner = chain.loss if what == "y" else chain.linear_layers[0]
    setattr(owner, what, getattr(owner, what) * 3.0)  # a new array
    got = MODES["reverse"].gradient(chain, x, wrt="params")
    assert plan._PLANS[chain][("reverse", "params", False)] is not old
    want = MODES["reverse"].gradient(chain, x, wrt="params")  # the new plan, replayed
    ref = make("numpy", "tanh", "softmax_ce")
    owner = ref.loss if what == "y" else ref.linear_layers[0]
    setattr(owner, what, getattr(owner, what) * 3.0)
    exp = MODES["forward"].gradient(ref, x, wrt="params")
    for g, w, e in zip(flat(got), flat(want), flat(exp)):
        np.testing.assert_array_equal(g, w)
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def test_an_unrelated_assignment_does_not_replan_other_chains():
    a, b = make("numpy", None, "squared"), make("numpy", None, "squared", seed=9)
    x = a.random_x()
    MODES["reverse"].gradient(a, x)
    p = plan._PLANS[a][("reverse", "gradient")]
    b.linear_layers[0].W = b.linear_layers[0].W.copy()  # bumps the epoch
    MODES["reverse"].gradient(a, x)
    assert plan._PLANS[a][("reverse", "gradient")] is p  # identity test: still fresh


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("mode", ENGINES)
def test_check_false_skips_finiteness_and_the_default_refuses(mode):
    big = np.full((4, 4), 1e30)
    chain = Chain.from_matrices([big, big, np.ones((1, 4))], [0.0], dtype="float32")
    x = chain.backend.asarray(np.ones(4))
    res = MODES[mode].gradient(chain, x, check=False)
    assert not np.isfinite(np.asarray(res.grad)).all()
    with pytest.raises(ValueError, match="not finite"):
        MODES[mode].gradient(chain, x)
    bad = chain.backend.asarray(np.array([np.nan, 1, 1, 1]))
    with pytest.raises(ValueError, match="x contains NaN"):
        MODES[mode].gradient(chain, bad)


def test_the_plan_is_the_engines_backend_calls_and_nothing_else():
    chain = Chain.random([3, 4, 2])
    MODES["reverse"].gradient(chain, chain.random_x())
    src = plan._PLANS[chain][("reverse", "gradient")].source
    # eval: 2 matmuls; loss: sub, matmul, mul; chain: 2 matmuls (G = r, G W_1, G W_0)
    # each line is one backend call: name(args), or its operator where the backend says
    # the call is the arrays' own operator (a @ b)
    by_op = {op: name for name, op in chain.backend.operators.items()}

    def call(rhs):
        parts = rhs.split(" ")
        return by_op[parts[1]] if len(parts) == 3 else rhs.split("(")[0]
    calls = [call(line.split(" = ")[1]) for line in src.splitlines()[1:-1] if " = " in line]
    assert calls == \
        ["matmul", "matmul", "sub", "matmul", "mul", "matmul", "matmul"]
