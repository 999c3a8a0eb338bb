"""Forward mode: accumulate Jacobians right to left, matrix by matrix.

    input:   F_0 = A_0 (free);  F_i = A_i F_{i−1};  ∇f(x)ᵀ = J_ℓ(ŷ) F_L
    params:  J_{O_0} = B_0;  J_{O_i} = (A_i J_{O_{i−1}} | B_i);  ∇f(w) = J_{O_L}ᵀ ∇ℓ(ŷ)
    jacobian: F_L itself (K × d)

On a batch (x d × B, maths §7) F_i is one matrix for all samples until the first
activation's σ'(z) makes it one per sample (B × n_i × d): in a linear chain F_L = W_L ⋯ W_0
is formed once and the batch costs one (B × K)(K × d) product more. J_{O_i} depends on
every z_i, so it is per sample from B_0 on.
"""
from __future__ import annotations

from .chain import evaluate
from .engine import EXECS, check_wrt, run, split_params

name = "forward"
execs = EXECS  # eager, and replayed from a CUDA graph (exec="graph")


def _accumulate(chain, kernel, t):
    """F_L = A_L ⋯ A_0, starting from the identity (F_0 = A_0 costs nothing)."""
    F = None
    with kernel.phase("chain"):
        for layer, jc in zip(chain.layers, t.jacs):
            F = layer.A_mm(kernel, jc, F)
    return F


def gradient(chain, x, wrt="input", dense_B=False, check=True, exec="eager"):
    """∇f at x with respect to the input (wrt="input") or to every layer's parameters
    (wrt="params"). On a batch x (d × B): each sample's ∇_x f (B × d), or the gradient of
    the batch's mean loss in the parameters; the value is every sample's f (B). dense_B is accepted for symmetry with reverse mode: forward
    accumulation places B_i as a block and never multiplies by it, so it changes nothing."""
    check_wrt(wrt)
    if wrt == "input":
        return run(name, "gradient", chain, x, (), _input_gradient, check, exec)
    return run(name, "params", chain, x, (), _params_gradient, check, exec)


def _input_gradient(chain, kernel, x):
    t = evaluate(chain, x, kernel)
    F = _accumulate(chain, kernel, t)
    with kernel.phase("chain"):  # per sample J_ℓ(ŷ_b) F_L: the rows of the batch, B × d
        return t.value, kernel.unrow(kernel.matmul(kernel.rows(t.loss_grad), F)), None


def _params_gradient(chain, kernel, x):
    t = evaluate(chain, x, kernel, mean=True)
    batch = () if x.ndim == 1 else (int(x.shape[1]),)
    with kernel.phase("chain"):
        J = kernel.zeros(batch + (chain.d, 0))  # J_O before any layer: no parameter columns yet
        for layer, c, jc in zip(chain.layers, t.caches, t.jacs):
            J = layer.A_mm(kernel, jc, J)
            if layer.n_params:
                J = kernel.hcat([J, layer.B_dense(kernel, c)])
        if batch:  # Σ_b J_{O_L,b}ᵀ ∇ℓ_b: the samples' K rows stacked, one product
            n = batch[0] * chain.K
            row = kernel.reshape(kernel.T(t.loss_grad), (n,))
            vec = kernel.matmul(row, kernel.reshape(J, (n, int(J.shape[2]))))
        else:
            vec = kernel.matmul(kernel.T(J), t.loss_grad)
    return t.value, split_params(chain, kernel, vec), None


def jacobian(chain, x, check=True, exec="eager"):
    """The K × d Jacobian of h at x, by accumulating F_L; B × K × d on a batch."""
    return run(name, "jacobian", chain, x, (), _jacobian, check, exec)


def _jacobian(chain, kernel, x):
    t = evaluate(chain, x, kernel, with_loss=False)
    F = _accumulate(chain, kernel, t)
    with kernel.phase("chain"):
        return t.yhat, None, kernel.per_sample(F, x)
