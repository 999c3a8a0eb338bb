"""The hand-written floor: the products an engine call executes, written directly with the
arrays' own operators (numpy or torch alike), with no counting, no checks, no trace object.

    call = PRODUCTS[(target, mode)](Ws, y)      # Ws: the chain's weight matrices
    value, derivative = call(x)                 # f (ŷ for a Jacobian), and ∇f, [∂f/∂W_i] or J
    call = PRODUCTS[(target, mode)](Ws, y, batch=True)
    value, derivative = call(X)                 # X d × B: every sample's f (B) and ∇f (B × d),
                                                # the mean loss's [∂f/∂W_i], or the one J

Each entry mirrors its engine product by product (modes/forward.py, modes/reverse.py) for
chains of linear layers without bias under the squared loss ℓ = ½‖ŷ − y‖² (the sweep's and
the gate's chains). The gate's reference (bench.gate.reference) is this table.

The `hand` mode runs the cheapest of them per target — reverse mode's products for the
gradients, and for the Jacobian whichever end of W_L ⋯ W_0 is cheaper to start from — on
the chain's own arrays: it is the floor a Python call of this arithmetic can reach, timed
beside every mode. Its timed call (`prepare`) is the builder's call and the device wait.

On a batch (batch=True, X d × B, one column per sample) the entries are the engines' batched
products (docs/maths.md §7): the samples' rows stacked, R = Ŷ − y (K × B), so reverse mode's
row chain is Rᵀ W_L ⋯ W_0, one (B × n)(n × m) product a step; forward mode's F = W_L ⋯ W_0
is one product chain for the whole batch, then Rᵀ F; the mean loss's ∂f/∂W_i = P_{i+1}ᵀ Z_iᵀ
with P = Rᵀ/B. A linear chain's Jacobian is the same for every sample: `hand` copies it
into B × K × d, as the engines do.
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


def _layers(Ws, x):
    """[z_0 = x, …, z_{L+1}]: z_{i+1} = W_i z_i (on every column of a batch)."""
    zs = [x]
    for W in Ws:
        zs.append(W @ zs[-1])
    return zs


def _evaluate(Ws, x, y):
    """z_{i+1} = W_i z_i; r = ŷ − y; f = ½ rᵀr. Returns ([z_0, …, z_{L+1}], r, f)."""
    zs = _layers(Ws, x)
    r = zs[-1] - y
    return zs, r, 0.5 * (r @ r)


def _evaluate_batch(Ws, X, Y):
    """Z_{i+1} = W_i Z_i on every column; R = Ŷ − Y (Y: _columns(y)); every sample's
    f = ½ Σ_j R_jb². Returns ([Z_0, …, Z_{L+1}], R, f)."""
    zs = _layers(Ws, X)
    r = zs[-1] - Y
    return zs, r, 0.5 * (r * r).sum(0)


def _columns(y):
    """The target as the batch's columns: y itself when one per sample (K × B), else the
    shared y as a K × 1 column."""
    return y if y.ndim == 2 else y.reshape(-1, 1)


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
def forward_gradient(Ws, y, batch=False):
    """F = W_L ⋯ W_1 W_0 (F_0 = W_0, free), then ∇f = rᵀF (a batch: Rᵀ F, B × d)."""
    def call(x):
        _, r, f = _evaluate(Ws, x, y)
        return f, r @ _from_input(Ws)

    def batched(X):
        _, r, f = _evaluate_batch(Ws, X, Y)
        return f, r.T @ _from_input(Ws)
    Y = _columns(y)
    return batched if batch else call


@register("gradient", "reverse")
def reverse_gradient(Ws, y, batch=False):
    """G = rᵀ, then G ← G W_i for i = L..0 (a batch: G = Rᵀ, B × K, to B × d)."""
    def call(x):
        _, r, f = _evaluate(Ws, x, y)
        return f, _from_output(r, Ws)

    def batched(X):
        _, r, f = _evaluate_batch(Ws, X, Y)
        return f, _from_output(r.T, Ws)
    Y = _columns(y)
    return batched if batch else call


@register("params", "reverse")
def reverse_params(Ws, y, batch=False):
    """Backpropagation: ∂f/∂W_i = p_{i+1} z_iᵀ, p_i = W_iᵀ p_{i+1} (p_0 never formed); a
    batch's mean loss: P = Rᵀ/B (B × K), ∂f/∂W_i = P_{i+1}ᵀ Z_iᵀ, P_i = P_{i+1} W_i."""
    def call(x):
        zs, p, f = _evaluate(Ws, x, y)
        grads = []
        for i in reversed(range(len(Ws))):
            grads.append(p.reshape(-1, 1) * zs[i].reshape(1, -1))
            if i:
                p = p @ Ws[i]
        return f, grads[::-1]

    def batched(X):
        zs, r, f = _evaluate_batch(Ws, X, Y)
        P, grads = (r * (1.0 / X.shape[1])).T, []
        for i in reversed(range(len(Ws))):
            grads.append(P.T @ zs[i].T)
            if i:
                P = P @ Ws[i]
        return f, grads[::-1]
    Y = _columns(y)
    return batched if batch else call


def _with_output(Ws, J_of):
    """call(x) -> (ŷ = W_L ⋯ W_0 x, J_of(Ws)); on a batch Ŷ is K × B and J the K × d
    Jacobian every sample shares (`hand` makes the batch's copies)."""
    def call(x):
        z = x
        for W in Ws:
            z = W @ z
        return z, J_of(Ws)
    return call


@register("jacobian", "forward")
def forward_jacobian(Ws, y, batch=False):
    """ŷ = W_L ⋯ W_0 x; J = W_L (⋯ (W_1 W_0)), from the input end."""
    return _with_output(Ws, _from_input)


@register("jacobian", "reverse")
def reverse_jacobian(Ws, y, batch=False):
    """ŷ = W_L ⋯ W_0 x; J = ((W_L W_{L−1}) ⋯) W_0, from the output end."""
    return _with_output(Ws, lambda Ws: _from_output(Ws[-1], Ws[:-1]))


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
        device wait; answer() wraps them as a Result. On a batch a Jacobian, the same for
        every sample, is copied B times inside the call (the engines' per-sample J)."""
        Ws, backend, xb = weights(chain), chain.backend, chain.input(x)
        mode = cheapest_end(chain.widths) if target == "jacobian" else "reverse"
        batch = xb.ndim == 2
        body = PRODUCTS[(target, mode)](Ws, chain.loss.y, batch=batch)
        if batch and target == "jacobian":
            shared, B = body, int(xb.shape[1])

            def body(X):
                value, J = shared(X)
                return value, backend.expand(J, B)

        def answer(out, check=True):
            value, d = out
            if target == "jacobian":
                return result(self.name, target, backend, value, jac=d, check=check)
            grad = d if target == "gradient" else [(g,) for g in d]
            return result(self.name, target, backend, value, grad=grad, check=check)
        return Prepared(waiting(lambda: body(xb), backend.synchronize), answer)


hand = Hand()
