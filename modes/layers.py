"""Layer and loss rules: one small table each, every rule registered under its definition.

A layer rule knows its value and its two Jacobian blocks, A = ∂g/∂z (input) and
B = ∂g/∂w (parameters), and multiplies by them using their structure: the A of an
activation is diagonal, the B of a linear layer is I ⊗ zᵀ. All arithmetic goes through the
`Kernel` `kernel`, which counts it.
"""
from __future__ import annotations

from .errors import FwdrevError
from .plan import bump_epoch

LAYERS: dict = {}
"""kind → layer class."""
ACTIVATIONS: dict = {}
"""activation name → layer class (a subset of LAYERS)."""
LOSSES: dict = {}
"""loss name → loss class."""


class _Watched:
    """Assigning one of `watched` (a layer's W or b, a loss's y) bumps the plan epoch, so no
    engine replays a plan recorded with the array it replaced (modes.plan). Once set, an
    array is replaced only by one of the same shape (b: also by None, or from None by a
    vector as long as W's rows): a FwdrevError names the wrong one at once, not a failed
    product later."""

    watched = ()

    def __setattr__(self, name, value):
        if name in self.watched:
            _check_shape(self, name, value)
            bump_epoch()
        object.__setattr__(self, name, value)


def _check_shape(obj, name, value):
    """A FwdrevError unless value may replace obj.name (see _Watched)."""
    old = obj.__dict__.get(name)
    if name == "b" and value is None:
        return
    want = (obj.n_out,) if name == "b" and old is None and "n_out" in obj.__dict__ else \
        None if old is None else tuple(old.shape)
    got = getattr(value, "shape", None)
    if want is not None and (got is None or tuple(got) != want):
        raise FwdrevError(f"{type(obj).__name__}.{name} has shape {want}; the new value's is "
                          f"{None if got is None else tuple(got)}")


def register(table, name):
    def deco(cls):
        cls.kind = name
        table[name] = cls
        return cls
    return deco


class Linear(_Watched):
    """g(z, W) = W z (+ b). A = W; B = I ⊗ zᵀ (| I with a bias); w = vec(Wᵀ) (rows of W)."""

    watched = ("W", "b")

    def __init__(self, W, b=None):
        self.W, self.b = W, b
        self.n_out, self.n_in = (int(s) for s in W.shape)

    @property
    def params(self):
        """(W,) or (W, b): the arrays as they are now (W and b may be assigned)."""
        return (self.W,) if self.b is None else (self.W, self.b)

    @property
    def n_params(self):
        return self.n_out * self.n_in + (0 if self.b is None else self.n_out)

    def eval(self, kernel, z):
        out = kernel.matmul(self.W, z)
        if self.b is not None:
            out = kernel.add(out, kernel.column(self.b, out))
        return out, z  # the cache is the input z: B depends on it

    def jac(self, kernel, cache):
        return None  # A = W is already at hand

    def A_mm(self, kernel, jc, M):
        """A @ M; M None stands for the identity, so A itself (free)."""
        return self.W if M is None else kernel.matmul(self.W, M)

    def mm_A(self, kernel, jc, G):
        """G @ A for a row vector or matrix G; None stands for the identity."""
        return self.W if G is None else kernel.matmul(G, self.W)

    def B_dense(self, kernel, cache):
        """B materialised, n_out × n_params (forming it is free; it costs memory)."""
        B = kernel.kron_eye(self.n_out, cache)
        return B if self.b is None else kernel.hcat([B, kernel.eye(self.n_out)])

    def BT(self, kernel, cache, p, dense=False):
        """Bᵀp, one array per parameter: ∂f/∂W = p zᵀ (an outer product), ∂f/∂b = p.
        On a batch (p rows B × 1 × n_out, z n_in × B) summed over the samples:
        ∂f/∂W = Pᵀ Zᵀ, one (n_out × B)(B × n_in) product, and ∂f/∂b the column sums of P.

        With dense=True, B is materialised and multiplied as a plain matrix (same numbers,
        n_out·n_in·(2·n_out − 1) operations instead of n_out·n_in), all samples' blocks
        stacked into one (B·n_out × r) matrix.
        """
        if dense:
            Bd = self.B_dense(kernel, cache)
            if Bd.ndim == 3:
                Bd, p = kernel.reshape(Bd, (-1, int(Bd.shape[2]))), kernel.reshape(p, (-1,))
            q = kernel.matmul(kernel.T(Bd), p)
            n = self.n_out * self.n_in
            gW = kernel.reshape(kernel.slice(q, 0, n), (self.n_out, self.n_in))
            return (gW,) if self.b is None else (gW, kernel.slice(q, n, n + self.n_out))
        if cache.ndim == 2:
            P = kernel.unrow(p)
            gW = kernel.matmul(kernel.T(P), kernel.T(cache))
            return (gW,) if self.b is None else (gW, kernel.colsum(P))
        gW = kernel.outer(p, cache)
        return (gW,) if self.b is None else (gW, p)


register(LAYERS, "linear")(Linear)


class Activation:
    """Elementwise σ: no parameters, A = diag(σ'(z)) used as a diagonal, never formed."""

    n_params = 0
    params = ()

    def __init__(self, n):
        self.n_in = self.n_out = int(n)

    def eval(self, kernel, z):
        out = kernel.func(self.fn, z)
        return out, (z, out)

    def A_mm(self, kernel, s, M):
        return kernel.diag(s) if M is None else kernel.rowscale(s, M)

    def mm_A(self, kernel, s, G):
        return kernel.diag(s) if G is None else kernel.colscale(G, s)


@register(ACTIVATIONS, "relu")
class ReLU(Activation):
    fn = "relu"

    def jac(self, kernel, cache):
        z, _ = cache
        return kernel.func("step", z)  # σ'(z) = [z > 0]


@register(ACTIVATIONS, "sigmoid")
class Sigmoid(Activation):
    fn = "sigmoid"

    def jac(self, kernel, cache):
        _, s = cache
        return kernel.mul(s, kernel.sub(1.0, s))  # σ' = σ(1 − σ), from the stored output


@register(ACTIVATIONS, "tanh")
class Tanh(Activation):
    fn = "tanh"

    def jac(self, kernel, cache):
        _, t = cache
        return kernel.sub(1.0, kernel.mul(t, t))  # tanh' = 1 − tanh²


LAYERS.update(ACTIVATIONS)


@register(LOSSES, "squared")
class Squared(_Watched):
    """ℓ(ŷ) = ½‖y − ŷ‖²,  ∇ℓ = ŷ − y. y is one target (K,) for every sample, or one per
    sample (K × B, the batch's columns)."""

    watched = ("y",)

    def __init__(self, y):
        self.y = y

    def value_and_grad(self, kernel, yhat):
        with kernel.phase("loss_grad"):
            r = kernel.sub(yhat, kernel.column(self.y, yhat))
        with kernel.phase("eval"):
            f = kernel.mul(0.5, kernel.dots(r, r))
        return f, r


@register(LOSSES, "softmax_ce")
class SoftmaxCE(_Watched):
    """ℓ(ŷ) = −Σ_j y_j log softmax(ŷ)_j,  ∇ℓ = softmax(ŷ)·Σy − y (= softmax(ŷ) − y for a distribution y)."""

    watched = ("y",)

    def __init__(self, y):
        self.y = y

    def value_and_grad(self, kernel, yhat):
        with kernel.phase("eval"):
            s = kernel.sub(yhat, kernel.colmax(yhat))  # shift by the max: exp never overflows
            e = kernel.func("exp", s)
            S = kernel.colsum(e)
            logS = kernel.func("log", S)
            if self.y.ndim == 1:  # one target for every sample: Σy once, y·s_b by one product
                ysum, ys = kernel.sum(self.y), kernel.matmul(self.y, s)
            else:  # one target per sample: Σy_b and y_b·s_b per column
                ysum, ys = kernel.colsum(self.y), kernel.dots(self.y, s)
            f = kernel.sub(kernel.mul(logS, ysum), ys)
        with kernel.phase("loss_grad"):
            g = kernel.sub(kernel.mul(kernel.div(e, S), ysum), kernel.column(self.y, yhat))
        return f, g
