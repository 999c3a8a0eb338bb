"""Counted operations: equal to the closed forms of modes.predict, and to an independent
counter (torch's FlopCounterMode) over the products actually executed."""
import itertools

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from modes import MODES, Chain, predict
from modes.chain import evaluate
from modes.kernel import Kernel

# L = 0 and 1, K = 1, d = 1 included.
GRID = list(itertools.product([0, 1, 2, 4], [1, 3, 8], [1, 2, 5], [1, 3]))  # (L, m, d, K)


def _uniform(L, m, d, K, backend="numpy", **kw):
    return Chain.random([d] + [m] * L + [K], backend=backend, seed=L + m + d + K, **kw)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_gradient_counts_equal_closed_form(mode):
    for L, m, d, K in GRID:
        c = _uniform(L, m, d, K)
        ops = MODES[mode].gradient(c, c.random_x()).ops
        assert ops == predict.gradient_ops(mode, L, m, d, K), (L, m, d, K)
        assert isinstance(ops.total, int) and ops.funcs == 0


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("dense_B", [False, True])
def test_param_counts_equal_closed_form(mode, dense_B):
    for L, m, d, K in GRID:
        c = _uniform(L, m, d, K)
        ops = MODES[mode].gradient(c, c.random_x(), wrt="params", dense_B=dense_B).ops
        want = predict.params_ops(mode, L, m, d, K, dense_B=dense_B and mode == "reverse")
        assert ops == want, (L, m, d, K)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_counts_equal_closed_form(mode):
    for L, m, d, K in GRID:
        c = _uniform(L, m, d, K)
        assert MODES[mode].jacobian(c, c.random_x()).ops == predict.jacobian_ops(mode, L, m, d, K)


def test_textbook_approximations_hold_at_scale():
    """The leading terms of docs/maths.md §2: forward ≈ 2Lm²d, reverse ≈ 2Lm² + 2md."""
    L, m, d, K = 8, 1000, 1000, 1
    fw, rv = predict.gradient_ops("forward", L, m, d, K), predict.gradient_ops("reverse", L, m, d, K)
    assert abs(fw.total / (2 * L * m * m * d) - 1) < 0.15
    assert abs(rv.total / (2 * L * m * m + 2 * m * d) - 1) < 0.15


def test_uniform_closed_forms_equal_the_layer_sums():
    """predict's closed forms against its own width-general sums (two derivations)."""
    for L, m, d, K in GRID:
        w = [d] + [m] * L + [K]
        for mode in ("forward", "reverse"):
            assert predict.gradient_ops(mode, L, m, d, K) == predict.gradient_ops_widths(mode, w)
            assert predict.jacobian_ops(mode, L, m, d, K) == predict.jacobian_ops_widths(mode, w)
            for dense in (False, True):
                if mode == "forward" and dense:
                    continue
                assert predict.params_ops(mode, L, m, d, K, dense_B=dense) == \
                    predict.params_ops_widths(mode, w, dense_B=dense)


NONUNIFORM = [[6, 9, 4, 11, 2], [3, 1, 7], [10, 2, 30, 2, 10, 4], [5, 8]]


@pytest.mark.parametrize("widths", NONUNIFORM, ids=str)
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
@pytest.mark.parametrize("bias", [False, True])
def test_nonuniform_counts_equal_layer_sums(widths, activation, bias):
    """Diagonal A of an activation costs one multiplication per entry it scales; a bias adds
    n_{i+1} parameter columns; both are counted as structured, never as dense products."""
    c = Chain.random(widths, activation=activation, bias=bias, seed=4)
    x, act = c.random_x(), activation is not None
    for mode in ("forward", "reverse"):
        eng = MODES[mode]
        if not bias:
            assert eng.gradient(c, x).ops == predict.gradient_ops_widths(mode, widths, activation=act)
            assert eng.jacobian(c, x).ops == predict.jacobian_ops_widths(mode, widths, activation=act)
        for dense in (False, True) if mode == "reverse" else (False,):
            got = eng.gradient(c, x, wrt="params", dense_B=dense).ops
            assert got == predict.params_ops_widths(mode, widths, dense_B=dense, bias=bias,
                                                    activation=act)


def test_phases_cover_evaluation_and_loss():
    """The per-phase breakdown counts the evaluation (W z, the loss) and ∇ℓ, apart from the chain."""
    L, m, d, K = 2, 4, 3, 2
    c = _uniform(L, m, d, K)
    res = MODES["reverse"].gradient(c, c.random_x())
    ev, lg = res.phases["eval"], res.phases["loss_grad"]
    matvecs = d * m * (2 * 1) + m * m * 2 + m * K * 2 - (m + m + K)  # Σ n_{i+1}(2n_i − 1)
    assert ev.mults + ev.adds == matvecs + (K + K - 1 + 1)           # + ½ r·r
    assert lg == predict.Ops(adds=K)                                  # ŷ − y
    assert res.phases["chain"] == res.ops
    assert res.ops_all.total == sum(o.total for o in res.phases.values())


def _network_eval(widths, activation=False, bias=False):
    """The eval phase without the loss: n_{i+1}(2n_i − 1) per W_i z, n_{i+1} adds per bias,
    one func per entry of every hidden σ(z)."""
    n, total = widths, predict.Ops()
    for i in range(len(n) - 1):
        total = total + predict.product_ops(n[i + 1], n[i], 1) + predict.Ops(adds=n[i + 1] * bias)
    return total + predict.Ops(funcs=sum(n[1:-1]) if activation else 0)


def test_loss_closed_forms_by_hand():
    """K = 3 (see predict.loss_ops for the derivation). softmax_ce eval: max 2 cmp, ŷ − max 3,
    exp 3, Σe 2, log 1, Σy 2, logS·Σy 1×, y·s 3× 2+, the difference 1+; loss_grad e/S 3×,
    ·Σy 3×, − y 3+. squared eval: r·r 3× 2+, ½· 1×; loss_grad ŷ − y 3+."""
    assert predict.loss_ops("softmax_ce", 3) == {"eval": predict.Ops(4, 10, 6),
                                                 "loss_grad": predict.Ops(6, 3, 0)}
    assert predict.loss_ops("squared", 3) == {"eval": predict.Ops(4, 2), "loss_grad": predict.Ops(adds=3)}
    assert predict.loss_ops("softmax_ce", 1)["eval"] == predict.Ops(2, 2, 2)  # max, Σ: no ops


@pytest.mark.parametrize("loss", ["softmax_ce", "squared"])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_loss_phases_equal_closed_form(loss, backend):
    """Per-phase eval and loss_grad counts = the network's own evaluation + predict.loss_ops,
    exactly, for several K; a Jacobian evaluates no loss."""
    for widths in ([4, 1], [4, 2], [3, 5, 7], [6, 4, 4, 3], [2, 9, 10]):
        for activation, bias in ((None, False), ("tanh", True)):
            c = Chain.random(widths, activation=activation, loss=loss, bias=bias, backend=backend, seed=5)
            x, net = c.random_x(), _network_eval(widths, activation is not None, bias)
            want = predict.loss_ops(loss, widths[-1])
            for mode in ("forward", "reverse"):
                for wrt in ("input", "params"):
                    ph = MODES[mode].gradient(c, x, wrt=wrt).phases
                    assert ph["eval"] == net + want["eval"], (widths, mode, wrt)
                    assert ph["loss_grad"] == want["loss_grad"], (widths, mode, wrt)
                ph = MODES[mode].jacobian(c, x).phases
                assert (ph["eval"], ph["loss_grad"]) == (net, predict.Ops())


# -- an independent counter ------------------------------------------------------------
def _mm(a, b, *args, out_shape=None, **kw):
    n, m = a
    return n * m * b[1] + n * (m - 1) * b[1]


def _mv(a, b, *args, out_shape=None, **kw):
    n, m = a
    return n * m + n * (m - 1)


def _dot(a, b, *args, out_shape=None, **kw):
    return a[0] + a[0] - 1


TEXTBOOK_COUNT = {torch.ops.aten.mm: _mm, torch.ops.aten.mv: _mv, torch.ops.aten.dot: _dot}


def _flops(fn, mapping=None):
    counter = FlopCounterMode(display=False, custom_mapping=mapping or {})
    with counter:
        fn()
    return counter.get_total_flops()


def _chain_phase_flops(engine_call, c, x, with_loss, mapping=None):
    """FLOPs of an engine call minus those of the shared evaluation trace alone: the chain."""
    # check=False: the finiteness tests (a dot with zeros on torch) are not the engine's
    # arithmetic; both the recording call and a replayed one are counted
    whole = _flops(lambda: engine_call(c, x), mapping)
    assert whole == _flops(lambda: engine_call(c, x), mapping)
    trace = _flops(lambda: evaluate(c, c.input(x, False), Kernel(c.backend), with_loss=with_loss), mapping)
    return whole - trace


CALLS = {
    "gradient": (lambda eng: lambda c, x: eng.gradient(c, x, check=False), True),
    "jacobian": (lambda eng: lambda c, x: eng.jacobian(c, x, check=False), False),
    "params-dense": (lambda eng: lambda c, x: eng.gradient(c, x, wrt="params", dense_B=True,
                                                           check=False), True),
}


@pytest.mark.parametrize("mode,target", [(m, t) for m in ("forward", "reverse") for t in CALLS
                                         if (m, t) != ("forward", "params-dense")])
def test_counts_agree_with_flop_counter(mode, target):
    """With textbook formulas (2nml − nl per product) registered for mm, mv and dot,
    FlopCounterMode over the executed products equals our total; with its own formulas
    (2nml for mm) it equals twice our multiplications, once mv is counted too."""
    make, with_loss = CALLS[target]
    call = make(MODES[mode])
    for L, m, d, K in [(1, 2, 3, 2), (3, 5, 4, 3), (2, 7, 1, 1), (4, 6, 9, 4)]:
        c = _uniform(L, m, d, K, backend="torch")
        x = c.random_x()
        res = call(c, x)
        assert _chain_phase_flops(call, c, x, with_loss, TEXTBOOK_COUNT) == res.ops.total
        own = {torch.ops.aten.mv: lambda a, b, *r, out_shape=None, **k: 2 * a[0] * a[1],
               torch.ops.aten.dot: lambda a, b, *r, out_shape=None, **k: 2 * a[0]}
        assert _chain_phase_flops(call, c, x, with_loss, own) == 2 * res.ops.mults


def test_flop_counter_sees_the_textbook_products():
    """Without custom formulas FlopCounterMode counts 2nml per mm and ignores mv: the
    forward chain's only mv-free products are the F_i, whose count we know in closed form."""
    L, m, d, K = 3, 4, 5, 2
    c = _uniform(L, m, d, K, backend="torch")
    x = c.random_x()
    res = MODES["forward"].jacobian(c, x)
    flops = _chain_phase_flops(MODES["forward"].jacobian, c, x, False)
    assert flops == 2 * res.ops.mults
    assert res.ops.adds == res.ops.mults - ((L - 1) * m * d + K * d)  # minus n·l per product
