"""Forward mode: accumulate Jacobians right to left, matrix by matrix.

    input:   F_0 = A_0 (free);  F_i = A_i F_{i−1};  ∇f(x)ᵀ = J_ℓ(ŷ) F_L
    params:  J_{O_0} = B_0;  J_{O_i} = (A_i J_{O_{i−1}} | B_i);  ∇f(w) = J_{O_L}ᵀ ∇ℓ(ŷ)
    jacobian: F_L itself (K × d)
"""
from __future__ import annotations

from .chain import evaluate
from .engine import EXECS, check_wrt, run, split_params

name = "forward"
execs = EXECS  # eager, and replayed from a CUDA graph (exec="graph")


def _accumulate(chain, k, t):
    """F_L = A_L ⋯ A_0, starting from the identity (F_0 = A_0 costs nothing)."""
    F = None
    with k.phase("chain"):
        for layer, jc in zip(chain.layers, t.jacs):
            F = layer.A_mm(k, jc, F)
    return F


def gradient(chain, x, wrt="input", dense_B=False, check=True, exec="eager"):
    """∇f at x with respect to the input (wrt="input") or to every layer's parameters
    (wrt="params"). dense_B is accepted for symmetry with reverse mode: forward
    accumulation places B_i as a block and never multiplies by it, so it changes nothing."""
    check_wrt(wrt)
    if wrt == "input":
        return run(name, "gradient", chain, x, (), _input_gradient, check, exec)
    return run(name, "params", chain, x, (), _params_gradient, check, exec)


def _input_gradient(chain, k, x):
    t = evaluate(chain, x, k)
    F = _accumulate(chain, k, t)
    with k.phase("chain"):
        return t.value, k.matmul(t.loss_grad, F), None


def _params_gradient(chain, k, x):
    t = evaluate(chain, x, k)
    with k.phase("chain"):
        J = k.zeros((chain.d, 0))  # J_O before any layer: no parameter columns yet
        for layer, c, jc in zip(chain.layers, t.caches, t.jacs):
            J = layer.A_mm(k, jc, J)
            if layer.n_params:
                J = k.hcat([J, layer.B_dense(k, c)])
        vec = k.matmul(k.T(J), t.loss_grad)
    return t.value, split_params(chain, k, vec), None


def jacobian(chain, x, check=True, exec="eager"):
    """The K × d Jacobian of h at x, by accumulating F_L."""
    return run(name, "jacobian", chain, x, (), _jacobian, check, exec)


def _jacobian(chain, k, x):
    t = evaluate(chain, x, k, with_loss=False)
    return t.yhat, None, _accumulate(chain, k, t)
