"""The hand-written floor: the products an engine call executes, written directly with the
arrays' own operators (numpy or torch alike), with no counting, no checks, no trace object.

    call = PRODUCTS[(target, mode)](Ws, y)      # Ws: the chain's weight matrices
    value, derivative = call(x)                 # f (ŷ for a Jacobian), and ∇f, [∂f/∂W_i] or J

Each entry mirrors its engine product by product (modes/forward.py, modes/reverse.py) for
chains of linear layers without bias under the squared loss ℓ = ½‖ŷ − y‖² (the sweep's and
the gate's chains). The gate's reference (bench.gate.reference) is this table.

The `hand` mode runs the cheapest of them per target — reverse mode's products for the
gradients, and for the Jacobian whichever end of W_L ⋯ W_0 is cheaper to start from — on
the chain's own arrays: it is the floor a Python call of this arithmetic can reach, timed
beside every mode. Its timed call (`prepare`) is the builder's call and the device wait.
"""
from __future__ import annotations

from .errors import FwdrevError
from .peers import Prepared, PreparedPeer, result, waiting

PRODUCTS: dict = {}
"""(target, mode) → builder(Ws, y) → call(x) returning (value, derivative)."""


def register(target, mode):
    """Add a builder to PRODUCTS under (target, mode)."""
    def deco(fn):
        PRODUCTS[(target, mode)] = fn
        return fn
    return deco


def _evaluate(Ws, x, y):
    """z_{i+1} = W_i z_i; r = ŷ − y; f = ½ rᵀr. Returns ([z_0, …, z_{L+1}], r, f)."""
    zs = [x]
    for W in Ws:
        zs.append(W @ zs[-1])
    r = zs[-1] - y
    return zs, r, 0.5 * (r @ r)


def _from_input(Ws):
    """F = W_L ⋯ W_1 W_0, accumulated from the input end (F_0 = W_0, free)."""
    F = Ws[0]
    for W in Ws[1:]:
        F = W @ F
    return F


def _from_output(G, Ws):
    """G W_L ⋯ W_0, accumulated from the output end: G ← G W_i for i = L..0."""
    for W in reversed(Ws):
        G = G @ W
    return G


@register("gradient", "forward")
def forward_gradient(Ws, y):
    """F = W_L ⋯ W_1 W_0 (F_0 = W_0, free), then ∇f = rᵀF."""
    def call(x):
        _, r, f = _evaluate(Ws, x, y)
        return f, r @ _from_input(Ws)
    return call


@register("gradient", "reverse")
def reverse_gradient(Ws, y):
    """G = rᵀ, then G ← G W_i for i = L..0."""
    def call(x):
        _, r, f = _evaluate(Ws, x, y)
        return f, _from_output(r, Ws)
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


@register("jacobian", "forward")
def forward_jacobian(Ws, y):
    """ŷ = W_L ⋯ W_0 x; J = W_L (⋯ (W_1 W_0)), from the input end."""
    def call(x):
        zs, _, _ = _evaluate(Ws, x, y)
        return zs[-1], _from_input(Ws)
    return call


@register("jacobian", "reverse")
def reverse_jacobian(Ws, y):
    """ŷ = W_L ⋯ W_0 x; J = ((W_L W_{L−1}) ⋯) W_0, from the output end."""
    def call(x):
        zs, _, _ = _evaluate(Ws, x, y)
        return zs[-1], _from_output(Ws[-1], Ws[:-1])
    return call


def cheapest_end(widths) -> str:
    """"forward" or "reverse": the end of the Jacobian product W_L ⋯ W_0 with fewer
    multiplications (widths [d, n_1, …, K]; a tie goes to reverse)."""
    d, K = widths[0], widths[-1]
    fwd = sum(o * i * d for i, o in zip(widths[1:-1], widths[2:]))
    rev = sum(K * o * i for i, o in zip(widths[:-2], widths[1:-1]))
    return "forward" if fwd < rev else "reverse"


def weights(chain) -> list:
    """The chain's weight matrices, refused (one line) where the hand-written products do
    not apply: a bias, an activation or a loss other than the squared one."""
    if chain.loss_name != "squared" or any(l.kind != "linear" or l.b is not None
                                           for l in chain.layers):
        raise FwdrevError("hand: written for linear layers without bias and the squared loss "
                          f"(this chain: {chain!r})")
    return [l.W for l in chain.linear_layers]


class Hand(PreparedPeer):
    """The `hand` mode: PRODUCTS' cheapest entry per target on the chain's own arrays."""

    name = "hand"

    def prepare(self, chain, x, target) -> Prepared:
        """The timed call: the products on x (already on the chain's backend), then the
        device wait; answer() wraps them as a Result."""
        Ws, backend = weights(chain), chain.backend
        mode = cheapest_end(chain.widths) if target == "jacobian" else "reverse"
        body, xb = PRODUCTS[(target, mode)](Ws, chain.loss.y), chain.input(x)

        def answer(out, check=True):
            value, d = out
            if target == "jacobian":
                return result(self.name, target, backend, value, jac=d, check=check)
            grad = d if target == "gradient" else [(g,) for g in d]
            return result(self.name, target, backend, value, grad=grad, check=check)
        return Prepared(waiting(lambda: body(xb), backend.synchronize), answer)


hand = Hand()
