"""maths §5 reproduced: the textbook's example computed by the engines, beside its numbers."""
from __future__ import annotations

from . import forward, reverse
from .chain import Chain

X = [1, 0, -1]
Y = [0, 1]
W0 = [[0, 1, -1], [2, 0, 1]]
W1 = [[-1, 0], [2, -1]]

# The textbook's values (maths §5), written out as printed there.
EXPECTED = {
    "z1": [1, 1],
    "z2": [-1, 1],
    "f": 0.5,
    "F0": [[0, 1, -1], [2, 0, 1]],
    "F1": [[0, -1, 1], [-2, 2, -3]],
    "G2": [-1, 0],
    "G1": [1, 0],
    "grad_forward": [0, 1, -1],
    "grad_reverse": [0, 1, -1],
    "dW0": [[1, 0, -1], [0, 0, 0]],
    "dW1": [[-1, -1], [0, 0]],
    "q0": [1, 0, -1, 0, 0, 0],
    "q1": [-1, -1, 0, 0],
    "ops_forward": 27,
    "ops_reverse": 15,
}


INPUTS = (("x", "x", "the input", X), ("W0", "W₀", "the first layer's weights (2 × 3)", W0),
          ("W1", "W₁", "the second layer's weights (2 × 2)", W1),
          ("y", "y", "the target of the squared loss", Y))
"""(name, symbol, words, value) of the example's inputs, in the order maths §5 gives them."""

NAMES = {
    "z1": ("z₁", "hidden layer, W₀x"),
    "z2": ("ŷ = z₂", "prediction, W₁z₁"),
    "f": ("f", "loss ½‖ŷ − y‖²"),
    "F0": ("F₀", "forward: Jacobian of z₁ in x, A₀ = W₀"),
    "F1": ("F₁", "forward: Jacobian of ŷ in x, A₁F₀"),
    "G2": ("G₂", "reverse: loss gradient in ŷ, (ŷ − y)ᵀ"),
    "G1": ("G₁", "reverse: loss gradient in z₁, G₂A₁"),
    "grad_forward": ("∇f (fwd)", "gradient in x, forward mode J_ℓF₁"),
    "grad_reverse": ("∇f (rev)", "gradient in x, reverse mode G₁A₀"),
    "dW0": ("∂f/∂W₀", "gradient in the first layer's weights"),
    "dW1": ("∂f/∂W₁", "gradient in the second layer's weights"),
    "q0": ("q₀", "∂f/∂W₀ as a vector (row by row)"),
    "q1": ("q₁", "∂f/∂W₁ as a vector (row by row)"),
    "ops_forward": ("ops fwd", "operations of forward mode (27)"),
    "ops_reverse": ("ops rev", "operations of reverse mode (15)"),
    "params_agree": ("fwd = rev", "parameter gradients of both modes agree"),
}
"""name → (symbol, what it is in words) for every printed row."""


def compute(backend="numpy", device="cpu", dtype="float64") -> dict:
    """Every §5 quantity, from the engines and the chain's own trace."""
    from .chain import evaluate
    from .kernel import Kernel

    chain = Chain.from_matrices([W0, W1], Y, backend=backend, device=device, dtype=dtype)
    backend = chain.backend  # the name, resolved to its Backend
    kernel = Kernel(backend)
    t = evaluate(chain, chain.input(X), kernel)
    lin0, lin1 = chain.layers
    F0 = lin0.A_mm(kernel, None, None)        # F_0 = A_0 = W_0
    F1 = lin1.A_mm(kernel, None, F0)          # F_1 = A_1 F_0
    G2 = t.loss_grad                          # G_2 = J_ℓ(ŷ) = (ŷ − y)ᵀ
    G1 = lin1.mm_A(kernel, None, G2)          # G_1 = G_2 A_1
    fw, rv = forward.gradient(chain, X), reverse.gradient(chain, X)
    pf, pr = forward.gradient(chain, X, wrt="params"), reverse.gradient(chain, X, wrt="params")
    dW0, dW1 = pr.grad[0][0], pr.grad[1][0]
    out = {
        "z1": t.caches[1], "z2": t.yhat, "f": fw.value, "F0": F0, "F1": F1, "G2": G2,
        "G1": G1, "grad_forward": fw.grad, "grad_reverse": rv.grad, "dW0": dW0, "dW1": dW1,
        "q0": backend.reshape(dW0, (-1,)), "q1": backend.reshape(dW1, (-1,)),
        "ops_forward": fw.ops.total, "ops_reverse": rv.ops.total,
    }
    listed = {name: (v if isinstance(v, int) else backend.to_numpy(v).tolist())
              for name, v in out.items()}
    # Forward accumulation must agree with backprop on every parameter gradient.
    listed["params_agree"] = all(
        backend.to_numpy(a).tolist() == backend.to_numpy(c).tolist()
        for ga, gc in zip(pf.grad, pr.grad) for a, c in zip(ga, gc))
    return listed


def compare(computed: dict) -> list:
    """[(name, computed, expected, equal)] for every §5 number; exact equality (the inputs
    are small integers, so float64 arithmetic is exact here)."""
    rows = [(name, computed[name], exp, _as_float(computed[name]) == _as_float(exp))
            for name, exp in EXPECTED.items()]
    rows.append(("params_agree", computed["params_agree"], True, computed["params_agree"] is True))
    return rows


def _as_float(v):
    if isinstance(v, list):
        return [_as_float(u) for u in v]
    return float(v)
