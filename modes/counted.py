"""The predictions the engines register with their traits (modes.registry): the count
each engine's Result must equal, from the mathematics rather than from the engine.

forward and reverse: the closed forms of modes.predict (uniform linear chains) and their
layer-by-layer sums for any widths, activations and biases. cheapest: the bracketing
search's minimum over the factors (backprop's count for the parameters). The loss does
not enter: a Result's ops is the derivative chain, which starts from the 1 × K row J_ℓ
whatever the loss.
"""
from __future__ import annotations

from . import cheapest, predict
from .ops import Ops
from .shapes import shape_chain

WIDTHS = {"gradient": predict.gradient_ops_widths, "params": predict.params_ops_widths,
          "jacobian": predict.jacobian_ops_widths}


def closed_form(mode):
    """predict(target, widths, activation, bias, loss, B) → Ops of engine `mode` (forward,
    reverse); the loss does not enter (the module's docstring)."""
    def prediction(target, widths, activation=None, bias=False, loss="squared", B=1):
        kw = {"bias": bias} if target == "params" else {}
        return WIDTHS[target](mode, list(widths), activation=bool(activation), B=B, **kw)
    return prediction


def closed_memory(mode):
    """memory(target, widths, activation, bias, loss, B) → modes.predict.memory_peak of engine
    `mode` on a uniform linear chain with the squared loss; None on any other chain."""
    def memory(target, widths, activation=None, bias=False, loss="squared", B=1):
        n = list(widths)
        if activation or bias or loss != "squared" or len(set(n[1:-1])) > 1:
            return None
        m = n[1] if len(n) > 2 else 1
        return predict.memory_peak(target, mode, len(n) - 2, m, n[0], n[-1], B=B)
    return memory


def bracketing(target, widths, activation=None, bias=False, loss="squared", B=1) -> Ops:
    """The cheapest bracketing's count on a batch of B: the search's minimum over the
    factors and their copies (modes.cheapest.factor_copies: a W_i once, the loss rows and
    σ'(z) B times), split into mults and adds as the kernel counts them; for the
    parameters, backpropagation's (reverse mode's)."""
    if target == "params":
        return closed_form("reverse")(target, widths, activation, bias, B=B)
    chain = shape_chain(tuple(widths), activation=activation, bias=bias)
    with_loss = target == "gradient"
    shapes = cheapest.factor_shapes(chain, with_loss=with_loss)
    copies = cheapest.factor_copies(chain, with_loss, B)
    total, split = cheapest.bracketing(shapes, copies)
    mults = _mults(shapes, split, copies, 0, len(shapes) - 1)[0]
    return Ops(mults=mults, adds=total - mults)


def _mults(shapes, split, copies, i, j):
    """(multiplications, kind, rows, cols) of the planned product of factors i..j: a dense
    product n·m·l mults; a diagonal scaling one per entry (modes.cheapest.join_cost); each
    max(copies[i..j]) times."""
    if i == j:
        return 0, shapes[i][0], shapes[i][1], shapes[i][2]
    k = split[i][j]
    a, lk, n, m = _mults(shapes, split, copies, i, k)
    b, rk, _, l = _mults(shapes, split, copies, k + 1, j)
    cost, kind = cheapest.join_cost((lk, n, m), (rk, m, l))
    join = cost if cheapest.DIAG in (lk, rk) else n * m * l
    return a + b + join * max(copies[i:j + 1]), kind, n, l
