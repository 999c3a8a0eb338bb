"""Forward mode: accumulate Jacobians right to left, matrix by matrix.

    input:   F_0 = A_0 (free);  F_i = A_i F_{i−1};  ∇f(x)ᵀ = J_ℓ(ŷ) F_L
    params:  J_{O_0} = B_0;  J_{O_i} = (A_i J_{O_{i−1}} | B_i);  ∇f(w) = J_{O_L}ᵀ ∇ℓ(ŷ)
    jacobian: F_L itself (K × d)
"""
from __future__ import annotations

from .engine import check_wrt, finish, split_params, start

name = "forward"


def _accumulate(chain, k, t):
    """F_L = A_L ⋯ A_0, starting from the identity (F_0 = A_0 costs nothing)."""
    F = None
    with k.phase("chain"):
        for layer, jc in zip(chain.layers, t.jacs):
            F = layer.A_mm(k, jc, F)
    return F


def gradient(chain, x, wrt="input", dense_B=False):
    """∇f at x with respect to the input (wrt="input") or to every layer's parameters
    (wrt="params"). dense_B is accepted for symmetry with reverse mode: forward
    accumulation places B_i as a block and never multiplies by it, so it changes nothing."""
    check_wrt(wrt)
    k, t = start(chain, x)
    if wrt == "input":
        F = _accumulate(chain, k, t)
        with k.phase("chain"):
            grad = k.matmul(t.loss_grad, F)
        return finish(name, "gradient", k, t.value, grad=grad)
    with k.phase("chain"):
        J = k.zeros((chain.d, 0))  # J_O before any layer: no parameter columns yet
        for layer, c, jc in zip(chain.layers, t.caches, t.jacs):
            J = layer.A_mm(k, jc, J)
            if layer.n_params:
                J = k.hcat([J, layer.B_dense(k, c)])
        vec = k.matmul(k.T(J), t.loss_grad)
    return finish(name, "params", k, t.value, grad=split_params(chain, k, vec))


def jacobian(chain, x):
    """The K × d Jacobian of h at x, by accumulating F_L."""
    k, t = start(chain, x, with_loss=False)
    return finish(name, "jacobian", k, t.yhat, jac=_accumulate(chain, k, t))
