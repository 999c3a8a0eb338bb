"""Closed-form operation counts of the derivative chain (maths §2–§4), exact Python ints.

Uniform chains (n_1 = … = n_L = m) have the textbook's closed forms; `*_widths` functions
take any widths [d, n_1, …, n_L, K] and sum the products layer by layer (they are written
from the mathematics, not from the engines, so the tests can hold one against the other).
Every function returns an `Ops` (mults, adds; total = mults + adds).

Batches (maths §7): every function takes B, the number of inputs of one call (x d × B;
B = 1 is one x). A product the same for every sample — of weights alone — is counted
once; one that involves a sample's ∇ℓ, σ'(z) or z is counted B times, and where the
batch sums over its samples (∂f/∂W_i = P_{i+1}ᵀ Z_iᵀ) its B − 1 further additions too.
"""
from __future__ import annotations

from .errors import check, choose
from .ops import Ops, product_ops
from .memory import memory_peak  # noqa: F401  (modes.predict.memory_peak: the memory closed forms)
from .validate import batch_size

PURE_MODES = ("forward", "reverse")
TARGETS = ("gradient", "params", "jacobian")


def uniform_widths(L, m, d, K):
    """[d, m, …, m, K] of a uniform chain, or a one-line FwdrevError on bad L, m, d, K."""
    for name, v in (("L", L), ("m", m), ("d", d), ("K", K)):
        check(isinstance(v, int) and not isinstance(v, bool), f"{name} must be an int, got {v!r}")
    check(L >= 0, f"L must be at least 0, got {L}")
    check(min(m, d, K) >= 1, f"widths must be at least 1, got m={m}, d={d}, K={K}")
    return [d] + [m] * L + [K]


def mode_name(mode):
    """mode itself when predict has closed forms for it, else a one-line FwdrevError."""
    return choose("mode", mode, {m: m for m in PURE_MODES})


def _sum(products):
    total = Ops()
    for n, m, l in products:
        total = total + product_ops(n, m, l)
    return total


def _ops(mults, adds):
    return Ops(mults=mults, adds=adds)


def _times(o: Ops, B) -> Ops:
    return Ops(o.mults * B, o.adds * B, o.funcs * B)


# -- §2: gradient with respect to x --------------------------------------------------
def gradient_ops(mode, L, m, d, K, B=1) -> Ops:
    """∇_x f for a uniform linear chain (maths §2):
    forward (L−1)·m(2m−1)·d + K(2m−1)·d + (2K−1)·d, reverse (2K−1)·m + (L−1)(2m−1)·m + (2m−1)·d;
    both (2K−1)·d when L = 0. On a batch of B (maths §7) forward forms F_L once and pays
    B·(2K−1)·d for the rows J_ℓ(ŷ_b) F_L; reverse pays B times its count."""
    uniform_widths(L, m, d, K)
    B = batch_size(B)
    if L == 0:
        return _ops(B * K * d, B * (K - 1) * d)
    if mode_name(mode) == "forward":
        return _ops((L - 1) * m * m * d + K * m * d + B * K * d,
                    (L - 1) * m * (m - 1) * d + K * (m - 1) * d + B * (K - 1) * d)
    return _times(_ops(K * m + (L - 1) * m * m + m * d,
                       (K - 1) * m + (L - 1) * (m - 1) * m + (m - 1) * d), B)


def gradient_ops_widths(mode, widths, activation=False, B=1) -> Ops:
    """∇_x f for any widths; with activation, a diagonal after every linear layer but the
    last adds one multiplication per entry it scales. On a batch of B: reverse pays B
    times; forward too once a σ'(z) makes F_i per sample, but in a linear chain it forms
    F_L once and pays B times only for J_ℓ(ŷ_b) F_L."""
    n, L, d, B = list(widths), len(widths) - 2, widths[0], batch_size(B)
    if mode_name(mode) == "forward":  # F_0 = A_0 free, then (n_{i+1} × n_i)(n_i × d), then J_ℓ F_L
        prods = [(n[i + 1], n[i], d) for i in range(1, L + 1)]
        diag = sum(n[i + 1] * d for i in range(L))
        if not (activation and L):
            return _sum(prods) + _times(product_ops(1, n[-1], d), B)
        prods.append((1, n[-1], d))
    else:  # G_{L+1} = J_ℓ, then (1 × n_{i+1})(n_{i+1} × n_i) for i = L..0
        prods = [(1, n[i + 1], n[i]) for i in range(L + 1)]
        diag = sum(n[i + 1] for i in range(L))
    return _times(_sum(prods) + Ops(mults=diag if activation else 0), B)


# -- §3: gradient with respect to the parameters ---------------------------------------
def params_ops(mode, L, m, d, K, dense_B=False, B=1) -> Ops:
    """∇_w f for a uniform linear chain without biases (maths §3).

    forward (fundamental recursion): with R_i = r_0 + … + r_i parameter columns
    (r_0 = md, r_i = m², r_L = Km), Σ_{i=1..L} n_{i+1}(2n_i − 1)·R_{i−1} + (2K−1)·R_L, i.e.
    m(2m−1)[(L−1)md + m²(L−1)(L−2)/2] + K(2m−1)[md + (L−1)m²] + (2K−1)[md + (L−1)m² + Km];
    L = 0: (2K−1)·Kd.
    reverse, structured B (q_i = p_{i+1} z_iᵀ): md + (L−1)m² + Km outer-product multiplications
    plus p_i = W_iᵀp_{i+1} for i = L..1: (2K−1)m + (L−1)(2m−1)m; L = 0: Kd.
    reverse, dense B (q_i = B_iᵀ p_{i+1} with B_i = I ⊗ z_iᵀ materialised):
    md(2m−1) + (L−1)m²(2m−1) + Km(2K−1) plus the same p_i terms; L = 0: Kd(2K−1).

    On a batch of B, of the mean loss: forward carries J_{O_i} per sample (B times the
    products) and sums J_{O_L,b}ᵀ∇ℓ_b over the batch in one (1 × BK)(BK × R_L) product;
    reverse's p_i cost B times and each ∂f/∂W_i = P_{i+1}ᵀZ_iᵀ is one (n_{i+1} × B)(B × n_i)
    product (dense: one (r_i × B·n_{i+1}) by B·n_{i+1} product): r_i(B − 1) adds more.
    """
    uniform_widths(L, m, d, K)
    B = batch_size(B)
    r = m * d + (L - 1) * m * m + K * m if L else K * d  # Σ r_i, the parameters
    if mode_name(mode) == "forward":
        if L == 0:
            return _ops(B * K * d * K, (B * K - 1) * K * d)
        S = (L - 1) * m * d + m * m * (L - 1) * (L - 2) // 2   # Σ_{i=1..L−1} R_{i−1}
        R = m * d + (L - 1) * m * m                              # R_{L−1}
        return _ops(B * (m * m * S + K * m * R) + B * K * r,
                    B * (m * (m - 1) * S + K * (m - 1) * R) + (B * K - 1) * r)
    p = _times(_ops(K * m + (L - 1) * m * m, (K - 1) * m + (L - 1) * (m - 1) * m), B)
    if not dense_B:
        return (p if L else Ops()) + _ops(B * r, (B - 1) * r)
    if L == 0:
        return _ops(B * K * d * K, K * d * (B * K - 1))
    return p + _ops(B * (m * d * m + (L - 1) * m * m * m + K * m * K),
                    m * d * (B * m - 1) + (L - 1) * m * m * (B * m - 1) + K * m * (B * K - 1))


def params_ops_widths(mode, widths, dense_B=False, bias=False, activation=False, B=1) -> Ops:
    """∇_w f for any widths, with optional biases (r_i = n_{i+1}n_i + n_{i+1}) and
    activations; on a batch of B, of the mean loss (see `params_ops`; a bias's gradient
    sums the B rows of P_{i+1}: (B − 1)·n_{i+1} adds)."""
    n, L, B = list(widths), len(widths) - 2, batch_size(B)
    r = [n[i + 1] * n[i] + (n[i + 1] if bias else 0) for i in range(L + 1)]
    R = [sum(r[: i + 1]) for i in range(L + 1)]
    if mode_name(mode) == "forward":
        prods = [(n[i + 1], n[i], R[i - 1]) for i in range(1, L + 1)]
        diag = sum(n[i + 1] * R[i] for i in range(L))  # diag(σ') · J_{O_i}
        return _times(_sum(prods) + Ops(mults=diag if activation else 0), B) + \
            product_ops(1, B * n[-1], R[L])              # Σ_b J_{O_L,b}ᵀ ∇ℓ_b
    p = _sum([(1, n[i + 1], n[i]) for i in range(1, L + 1)])        # p_i, i = L..1
    if dense_B:  # B_iᵀ p_{i+1}, all samples' blocks stacked
        q = _sum([(r[i], B * n[i + 1], 1) for i in range(L + 1)])
    else:        # P_{i+1}ᵀ Z_iᵀ, and the bias's column sums
        q = _sum([(n[i + 1], B, n[i]) for i in range(L + 1)]) + \
            Ops(adds=(B - 1) * sum(n[1:]) if bias else 0)
    diag = sum(n[i + 1] for i in range(L))
    return _times(p + Ops(mults=diag if activation else 0), B) + q


# -- §4: the full Jacobian of h ------------------------------------------------------
def jacobian_ops(mode, L, m, d, K, B=1) -> Ops:
    """The K × d Jacobian of h for a uniform linear chain (maths §4): forward
    (L−1)m(2m−1)d + K(2m−1)d, reverse (L−1)K(2m−1)m + K(2m−1)d; 0 when L = 0 (it is W_0).
    The same on a batch: a linear chain's Jacobian W_L ⋯ W_0 is every sample's."""
    uniform_widths(L, m, d, K)
    batch_size(B)
    if L == 0:
        return Ops()
    if mode_name(mode) == "forward":
        return _ops((L - 1) * m * m * d + K * m * d, (L - 1) * m * (m - 1) * d + K * (m - 1) * d)
    return _ops((L - 1) * K * m * m + K * m * d, (L - 1) * K * (m - 1) * m + K * (m - 1) * d)


def jacobian_ops_widths(mode, widths, activation=False, B=1) -> Ops:
    """The Jacobian of h for any widths (the first product of each direction is free). On
    a batch: B times with activations (each direction is per sample from its first σ'(z)
    on), once without."""
    n, L, d, K, B = list(widths), len(widths) - 2, widths[0], widths[-1], batch_size(B)
    if mode_name(mode) == "forward":
        prods = [(n[i + 1], n[i], d) for i in range(1, L + 1)]
        diag = sum(n[i + 1] * d for i in range(L))
    else:
        prods = [(K, n[i + 1], n[i]) for i in range(L)]
        diag = sum(K * n[i + 1] for i in range(L))
    return _times(_sum(prods) + Ops(mults=diag if activation else 0), B if activation else 1)


def cheapest_total(target, widths, activation=False, B=1, bias=False) -> int:
    """The cheapest mode's count on a batch of B (one x: B = 1), an exact int: the DP's
    minimum over bracketings (maths §4, §7) of J_ℓ A_L ⋯ A_0 ("gradient") or A_L ⋯ A_0
    ("jacobian"), the W_i priced once and the loss rows and σ'(z) B times. For "params"
    the cheapest mode is backpropagation: params_ops_widths("reverse", …)."""
    from . import cheapest
    from .shapes import shape_chain
    B = batch_size(B)
    if choose("target", target, {t: t for t in TARGETS}) == "params":
        return params_ops_widths("reverse", widths, bias=bias, activation=activation, B=B).total
    chain, with_loss = shape_chain(widths, "relu" if activation else None), target == "gradient"
    return cheapest.bracketing(cheapest.factor_shapes(chain, with_loss),
                         cheapest.factor_copies(chain, with_loss, B))[0]


# -- the loss: its share of the eval and loss_grad phases ------------------------------
_LOSS_OPS = {
    "squared": lambda K, B, S: {"eval": Ops((K + 1) * B, (K - 1) * B), "loss_grad": Ops(adds=K * B)},
    "softmax_ce": lambda K, B, S: {"eval": Ops((K + 1) * B, (3 * K - 1) * B + (K - 1) * S, 2 * K * B),
                                   "loss_grad": Ops(2 * K * B, K * B)},
}
"""loss → (K, B, S) → its ops; S the number of distinct targets y: 1, or B (one per sample)."""


def loss_ops(loss, K, B=1, y_per_sample=False) -> dict:
    """{"eval": Ops, "loss_grad": Ops} of the loss alone on K outputs (the chain's own
    W z (+ b) and σ(z) add to "eval"); funcs count exp, log and comparisons.

    squared, ℓ = ½ r·r with r = ŷ − y: loss_grad forms r (K adds); eval r·r (K mults,
    K − 1 adds) and ½·(r·r) (1 mult): K + 1 mults, K − 1 adds.
    softmax_ce, ℓ = log S·Σy − y·s with s = ŷ − max ŷ, e = exp s, S = Σe: eval max ŷ
    (K − 1 comparisons), s (K adds), e (K funcs), S (K − 1 adds), log S (1 func), Σy
    (K − 1 adds), log S·Σy (1 mult), y·s (K mults, K − 1 adds), their difference (1 add):
    K + 1 mults, 4K − 2 adds, 2K funcs. loss_grad (e / S)·Σy − y: K divisions (counted as
    mults) and K mults, then K adds: 2K mults, K adds.
    On a batch of B every term is B times, but Σy, the same for every sample: K − 1 adds
    once, so softmax_ce's eval adds are (3K − 1)·B + K − 1. With one target per sample
    (y_per_sample, y K × B) Σy_b is formed for each: (3K − 1)·B + (K − 1)·B.
    """
    check(isinstance(K, int) and not isinstance(K, bool) and K >= 1,
          f"K must be an int of at least 1, got {K!r}")
    B = batch_size(B)
    return choose("loss", loss, _LOSS_OPS)(K, B, B if y_per_sample else 1)


_JAC_OPS = {"relu": lambda n: Ops(funcs=n), "sigmoid": lambda n: Ops(n, n), "tanh": lambda n: Ops(n, n)}
"""An activation's σ'(z) on n entries: [z > 0]; σ(1 − σ); 1 − tanh²."""


def phase_ops(target, widths, activation=None, bias=False, loss="squared", B=1,
              y_per_sample=False) -> dict:
    """{"eval", "loss_grad", "jac": Ops} of one engine call on a chain of these widths (an
    activation after every linear layer but the last): the same for every mode. eval is
    B·(W_i z_i, + b_i, σ(z)) and the loss's value (not for target "jacobian"); loss_grad
    the loss's ∇ℓ, and for "params" on a batch (B > 1) its division by B (K·B mults: the
    gradient is the mean loss's); jac σ'(z) of every activation, B times. y_per_sample:
    the target is one column per sample (loss_ops)."""
    n, L, K, B = list(widths), len(widths) - 2, widths[-1], batch_size(B)
    ev = _sum([(n[i + 1], n[i], 1) for i in range(L + 1)]) + Ops(adds=sum(n[1:]) if bias else 0)
    jac = Ops()
    if activation is not None:
        ev = ev + Ops(funcs=sum(n[1:-1]))
        jac = _sum_ops(choose("activation", activation, _JAC_OPS)(w) for w in n[1:-1])
    out = {"eval": _times(ev, B), "loss_grad": Ops(), "jac": _times(jac, B)}
    if choose("target", target, {t: t for t in TARGETS}) != "jacobian":
        lo = loss_ops(loss, K, B, y_per_sample)
        out["eval"] = out["eval"] + lo["eval"]
        out["loss_grad"] = lo["loss_grad"] + Ops(mults=K * B if target == "params" and B > 1 else 0)
    return out


def _sum_ops(items):
    total = Ops()
    for o in items:
        total = total + o
    return total


def ops_for(target, mode, L, m, d, K, dense_B=False, B=1) -> Ops:
    """Dispatch on target: "gradient", "params" or "jacobian"."""
    fn = choose("target", target, {"gradient": gradient_ops, "params": params_ops,
                                   "jacobian": jacobian_ops})
    if target == "params":
        return fn(mode, L, m, d, K, dense_B=dense_B, B=B)
    return fn(mode, L, m, d, K, B=B)
