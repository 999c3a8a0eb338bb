"""Closed forms of the peak memory of one engine call (modes.plan.memory): the most array
elements held live at once beyond the weights and x, on a uniform linear chain [d, m×L, K]
with the squared loss, for one x or a batch of B. `modes.predict.memory_peak` is this
module's `memory_peak`."""
from __future__ import annotations

from .errors import choose
from .validate import batch_size


def memory_peak(target, mode, L, m, d, K, B=1) -> int:
    """Peak live elements of one engine call on a uniform linear chain [d, m×L, K] with the
    squared loss, beyond the weights and x (docs/engines.md, "Memory"). Every term is one step of the
    engine's plan: what it reads and writes, plus what later steps still need.

    Evaluation: z_{i+1} = W_i z_i frees z_i once read, so two vectors of width m are live
    at a time (m + K at the last layer); the loss holds ŷ and r (2K), then r, rᵀr and f.
    gradient, reverse: r, f and the row G (m), then two rows G_{i+1}, G_i (2m + f), then
    G_1 and ∇f (m + d + 1).  forward: r and f stay to the end while F_i (m × d) replaces
    F_{i−1}: 2md + K + 1 at a hidden layer, md + Kd + K + 1 at the last, Kd + d + K + 1 for
    ∇f = rᵀF_L. jacobian: ŷ (K) is kept instead of r and f; reverse's rows are K × m.
    params, reverse: every z_i is kept for ∂f/∂W_i = p z_iᵀ, and the gradients accumulate.

    On a batch of B (maths §7) every vector above is B of them (z_i m × B, f B entries):
    reverse's ∇_x f is B times the one-x peak. What the batch shares is held once: forward
    mode's F_i (m × d) and both modes' Jacobian accumulators, B-fold only in the answer
    (B copies of W_L ⋯ W_0, B·K·d, where B > 1), and the parameter gradients."""
    from .predict import mode_name, uniform_widths
    uniform_widths(L, m, d, K)
    B = batch_size(B)
    choose("target", target, {t: t for t in ("gradient", "jacobian", "params")})
    mode_name(mode)
    hid = L >= 2  # a hidden-to-hidden layer exists
    if target == "params":
        return _params_memory(mode, L, m, d, K, B)
    r = (K + 1) * B  # r and f, alive to the end of a gradient
    if target == "gradient":
        ev = B * (max(2 * K, K + 2) if L == 0 else max(m + K, 2 * K, K + 2, 2 * m if hid else 0))
        if L == 0:
            return max(ev, r + B * d)
        if mode == "reverse":
            return max(ev, B * max(K + 1 + m, 2 * m + 1 if hid else 0, m + d + 1))
        if L == 1:
            return max(ev, r + K * d + B * d)
        return max(ev, r + m * d, r + 2 * m * d if L >= 3 else 0, r + m * d + K * d, r + K * d + B * d)
    ev = B * (K if L == 0 else max(m + K, 2 * m if hid else 0))
    copies = K * B + K * d + B * K * d if B > 1 else 0  # ŷ, W_L ⋯ W_0 and its B copies
    if L == 0:
        return max(ev, copies - K * d)  # W_0 is a weight: only its copies are new
    if L == 1:
        return max(ev, K * B + K * d, copies)
    w = m * d if mode == "forward" else K * m  # the accumulator's size at a hidden layer
    return max(ev, K * B + w, K * B + 2 * w if L >= 3 else 0, K * B + w + K * d, copies)


def _params_memory(mode, L, m, d, K, B) -> int:
    """memory_peak for wrt="params". Both modes keep every layer input z_1 … z_L from the
    evaluation (B_i needs z_i), r and f, and the loss step holds ŷ and r: L·m + 2K.
    reverse: ∂f/∂W_L = r z_Lᵀ (K × m) beside everything still kept, then at layer 0 the
    row p_1, f and all the gradients, K·m + (L−1)·m² + m·d.
    forward: with P_i parameter columns after layer i, layer i (n_in → n_out) holds J_O
    (n_in × P_{i−1}) and A_i J_O, then A_i J_O and B_i = I ⊗ z_iᵀ (n_out × n_out·n_in), then
    both with their concatenation (n_out × P_i, the largest: 2·n_out·P_i); last, J_Oᵀ r.

    On a batch of B every z_i, r, f and (forward) J_{O_i} and B_i is B of them; the mean's
    ∇ℓ/B is formed beside r (B > 1); the gradients are one set. Reverse's layer i then
    holds z_1 … z_i, the rows p and the gradients of the layers above, (i + 1)·m·B +
    (L − i)·m², largest at i = 1 or i = L − 1 (with one x, never above the last step)."""
    mean = L * m * B + 2 * K * B + B if B > 1 else 0  # z_1 … z_L, r, ∇ℓ/B and f
    if mode == "reverse":
        if L == 0:
            return max(2 * K * B, (K + 2) * B, mean, (K + 1) * B + K * d)
        top = L * m * B + (K + 1) * B + K * m  # z_1 … z_L, p_{L+1}, f, ∂f/∂W_L
        mid = max(2 * m * B + (L - 1) * m * m, L * m * B + m * m) + B + K * m if L >= 2 else 0
        return max(top, mid, mean, m * B + B + K * m + (L - 1) * m * m + m * d)
    peak = max(B * (L * m + 2 * K), B * (L * m + K + 2), mean)
    P = 0
    for i in range(L + 1):
        n_in, n_out = (d if i == 0 else m), (K if i == L else m)
        after = (L - i) * m                       # z_{i+1} … z_L, still to be read
        with_zi = after + (m if i else 0)         # and z_i, read by this layer's B_i
        prev, P = P, P + n_out * n_in
        peak = max(peak, B * (K + 1 + with_zi + (n_in + n_out) * prev),
                   B * (K + 1 + with_zi + n_out * prev + n_out * n_out * n_in),
                   B * (K + 1 + after + 2 * n_out * P))
    return max(peak, (K + 1) * B + B * K * P + P)
