"""The gate's yardstick: the products an engine call executes, written directly with the
arrays' own operators (numpy or torch alike), with no counting, no checks, no trace object.

    call = REFERENCES[(target, mode)](Ws, y)        # Ws: the chain's weight matrices
    value, grad = call(x)

Timed in the same process, interleaved with the engine on the same arrays, the reference
runs at whatever rate this machine's BLAS gives those products; t_engine / t_reference is
then what the engine adds, and it does not move when the CPU or BLAS kernel changes.

Each entry mirrors its engine product by product (modes/forward.py, modes/reverse.py) for
the gate's chains: linear layers, no bias, the squared loss ℓ = ½‖ŷ − y‖². The gate checks
that every reference's answer equals its engine's before it times anything.
"""
from __future__ import annotations

REFERENCES: dict = {}
"""(target, mode) → builder(Ws, y) → call(x) returning (f, gradient)."""


def register(target, mode):
    def deco(fn):
        REFERENCES[(target, mode)] = fn
        return fn
    return deco


def _evaluate(Ws, x, y):
    """z_{i+1} = W_i z_i; r = ŷ − y; f = ½ rᵀr. Returns ([z_0, …, z_{L+1}], r, f)."""
    zs = [x]
    for W in Ws:
        zs.append(W @ zs[-1])
    r = zs[-1] - y
    return zs, r, 0.5 * (r @ r)


@register("gradient", "forward")
def forward_gradient(Ws, y):
    """F = W_L ⋯ W_1 W_0 (F_0 = W_0, free), then ∇f = rᵀF."""
    def call(x):
        _, r, f = _evaluate(Ws, x, y)
        F = Ws[0]
        for W in Ws[1:]:
            F = W @ F
        return f, r @ F
    return call


@register("gradient", "reverse")
def reverse_gradient(Ws, y):
    """G = rᵀ, then G ← G W_i for i = L..0."""
    def call(x):
        _, r, f = _evaluate(Ws, x, y)
        G = r
        for W in reversed(Ws):
            G = G @ W
        return f, G
    return call


@register("params", "reverse")
def reverse_params(Ws, y):
    """Backpropagation: ∂f/∂W_i = p_{i+1} z_iᵀ, p_i = W_iᵀ p_{i+1} (p_0 never formed)."""
    def call(x):
        zs, p, f = _evaluate(Ws, x, y)
        grads = []
        for i in reversed(range(len(Ws))):
            grads.append(p.reshape(-1, 1) * zs[i].reshape(1, -1))
            if i:
                p = p @ Ws[i]
        return f, grads[::-1]
    return call
