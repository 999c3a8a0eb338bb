"""Reverse mode: chain row vectors left to right.

    input:    G_{L+1} = J_ℓ(ŷ);  G_i = G_{i+1} A_i;  ∇f(x)ᵀ = G_1 A_0
    params:   p_{L+1} = ∇ℓ(ŷ);  q_i = B_iᵀ p_{i+1};  p_i = A_iᵀ p_{i+1}  (p_0 never formed)
    jacobian: G = I_K (free), G ← G A_i for i = L..0: K × d

On a batch (x d × B, maths §7) the rows of all samples stack: G_i is B × n_i and each
G_{i+1} W_i one (B × n_{i+1})(n_{i+1} × n_i) product; ∂f/∂W_i of the mean loss is
P_{i+1}ᵀ Z_iᵀ, one (n_{i+1} × B)(B × n_i) product. The Jacobian's G starts from I_K, the
same for every sample, and stays shared until the first activation's σ'(z).
"""
from __future__ import annotations

from .chain import evaluate
from .engine import EXECS, check_wrt, run

name = "reverse"
execs = EXECS  # eager, and replayed from a CUDA graph (exec="graph")


def _chain_back(chain, kernel, t, G):
    """G A_L ⋯ A_0; G None stands for the identity (G A_L = A_L costs nothing)."""
    with kernel.phase("chain"):
        for layer, jc in zip(reversed(chain.layers), reversed(t.jacs)):
            G = layer.mm_A(kernel, jc, G)
    return G


def gradient(chain, x, wrt="input", dense_B=False, check=True, exec="eager"):
    """∇f at x with respect to the input (wrt="input") or to every layer's parameters
    (wrt="params", by backpropagation). dense_B=True materialises each B_i and multiplies
    by it as a dense matrix: the same numbers at a far larger count. On a batch x (d × B):
    each sample's ∇_x f (B × d), or the gradient of the batch's mean loss in the
    parameters; the value is every sample's f (B)."""
    check_wrt(wrt)
    if wrt == "input":
        return run(name, "gradient", chain, x, (), _input_gradient, check, exec)
    return run(name, "params", chain, x, (dense_B,), backprop, check, exec)


def _input_gradient(chain, kernel, x):
    t = evaluate(chain, x, kernel)
    with kernel.phase("chain"):  # the batch's rows J_ℓ(ŷ_b), B × 1 × K, then B × d
        return t.value, kernel.unrow(_chain_back(chain, kernel, t, kernel.rows(t.loss_grad))), None


def backprop(chain, kernel, x, dense_B):
    """(value, [∂f/∂W_i, …], None) by backpropagation, through the kernel (a plan's body;
    the cheapest mode runs it too)."""
    t = evaluate(chain, x, kernel, mean=True)
    layers = chain.layers
    # p is needed below layer i only while some layer below still has parameters.
    needs_p = [any(l.n_params for l in layers[:i]) for i in range(len(layers))]
    grads = []
    with kernel.phase("chain"):
        p = kernel.rows(t.loss_grad)
        for i in reversed(range(len(layers))):
            layer = layers[i]
            if layer.n_params:
                grads.append(layer.BT(kernel, t.caches[i], p, dense=dense_B))
            if needs_p[i]:
                # p_i = A_iᵀ p_{i+1}, as the row p_{i+1}ᵀ A_i
                p = layer.mm_A(kernel, t.jacs[i], p)
    return t.value, grads[::-1], None


def jacobian(chain, x, check=True, exec="eager"):
    """The K × d Jacobian of h at x, one row-vector chain for all K rows at once;
    B × K × d on a batch."""
    return run(name, "jacobian", chain, x, (), _jacobian, check, exec)


def _jacobian(chain, kernel, x):
    t = evaluate(chain, x, kernel, with_loss=False)
    G = _chain_back(chain, kernel, t, None)
    with kernel.phase("chain"):
        return t.yhat, None, kernel.per_sample(G, x)
