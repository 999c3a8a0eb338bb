"""Cheapest mode: the bracketing of the Jacobian product with the fewest operations.

    input:    ∇f(x)ᵀ = J_ℓ A_L ⋯ A_0, bracketed by dynamic programming (matrix-chain order)
    jacobian: J_h = A_L ⋯ A_0, likewise (no loss row)
    params:   backpropagation (each ∂f/∂W_i needs the row J_ℓ A_L ⋯ A_{i+1}, and reverse
              mode forms every one of those rows once, as vector-matrix products)

Forward mode is one bracketing (right to left), reverse mode another (left to right); the
DP looks at all of them, with each factor's true cost under the counting convention: a
dense (n×m)(m×l) product costs n·m·l mults and n·(m−1)·l adds; a diagonal factor (an
activation's σ'(z)) costs one multiplication per entry it scales and is never formed;
a single factor costs nothing. On an hourglass [d, M, s, M, K] the best bracketing
multiplies through the narrow waist first and beats both pure modes.

    cost[i][j] = min over i ≤ k < j of cost[i][k] + cost[k+1][j] + join(i..k, k+1..j)

`bracketing(shapes, copies)` returns the minimum and the split table; `gradient` and
`jacobian` execute that bracketing through the counting kernel, so the counted total
equals the DP's value.

On a batch of B inputs (maths §7) the W_i are the same for every sample and the σ'(z) and
the loss row J_ℓ(ŷ) are not: `factor_copies(chain, with_loss, B)` says which, and the DP prices a
block of factors that holds any per-sample factor at B times its one-sample cost and one
of weights alone once. In a linear chain it may so multiply weights first (forward mode's
F_L, once for the batch) and the loss rows last.
"""
from __future__ import annotations

from . import reverse
from .chain import evaluate
from .engine import EXECS, check_wrt, run
from .ops import product_ops

name = "cheapest"
execs = EXECS  # eager, and replayed from a CUDA graph (exec="graph")

DENSE, DIAG = "dense", "diag"


def factor_shapes(chain, with_loss=True):
    """[(kind, rows, cols)] of J_ℓ (a 1 × K row, when with_loss) and A_L … A_0, left to right."""
    out = [(DENSE, 1, chain.K)] if with_loss else []
    for layer in reversed(chain.layers):
        kind = DENSE if layer.kind == "linear" else DIAG
        out.append((kind, layer.n_out, layer.n_in))
    return out


def join_cost(left, right) -> int:
    """Operations of multiplying two (kind, rows, cols) blocks, and the kind of the result."""
    (lk, n, m), (rk, _, l) = left, right
    if lk == DIAG and rk == DIAG:
        return n, DIAG            # a diagonal times a diagonal: one mult per entry
    if lk == DIAG:
        return m * l, DENSE       # scale the rows of the right block
    if rk == DIAG:
        return n * m, DENSE       # scale the columns of the left block
    return product_ops(n, m, l).total, DENSE


def factor_copies(chain, with_loss=True, B=1):
    """How many times each factor of `factor_shapes` is paid for on a batch of B: B for
    the loss row and an activation's σ'(z) (they depend on the sample), 1 for a W_i."""
    out = [B] if with_loss else []
    return out + [1 if layer.kind == "linear" else B for layer in reversed(chain.layers)]


def bracketing(shapes, copies=None):
    """(minimum total operations, split table) over every bracketing of the factors; with
    `copies` (one per factor), a product of factors i..j costs max(copies[i..j]) times
    its one-sample cost (see `factor_copies`)."""
    n = len(shapes)
    times = [[1] * n for _ in range(n)]
    if copies is not None:
        for i in range(n):
            for j in range(i, n):
                times[i][j] = max(copies[i:j + 1])
    cost = [[0] * n for _ in range(n)]
    block = [[None] * n for _ in range(n)]
    split = [[None] * n for _ in range(n)]
    for i, s in enumerate(shapes):
        block[i][i] = s
    for span in range(1, n):
        for i in range(n - span):
            j = i + span
            best = None
            for k in range(i, j):
                c, kind = join_cost(block[i][k], block[k + 1][j])
                total = cost[i][k] + cost[k + 1][j] + c * times[i][j]
                if best is None or total < best[0]:
                    best = (total, k, kind)
            cost[i][j], split[i][j] = best[0], best[1]
            block[i][j] = (best[2], shapes[i][1], shapes[j][2])
    return cost[0][n - 1], split


def _factors(chain, t, with_loss, kernel):
    """The factors as (kind, array): a diagonal is its vector σ'(z), a linear layer its W;
    on a batch the loss rows are B × 1 × K and each σ'(z) n × B (modes.kernel)."""
    out = [(DENSE, kernel.rows(t.loss_grad))] if with_loss else []
    for layer, jc in zip(reversed(chain.layers), reversed(t.jacs)):
        out.append((DENSE, layer.W) if layer.kind == "linear" else (DIAG, jc))
    return out


def _execute(kernel, factors, split, i, j):
    """The product of factors i..j in the planned bracketing, through the kernel."""
    if i == j:
        return factors[i]
    s = split[i][j]
    lk, a = _execute(kernel, factors, split, i, s)
    rk, b = _execute(kernel, factors, split, s + 1, j)
    if lk == DIAG and rk == DIAG:
        return DIAG, kernel.mul(a, b)
    if lk == DIAG:
        return DENSE, kernel.rowscale(a, b)
    if rk == DIAG:
        return DENSE, kernel.colscale(a, b)
    return DENSE, kernel.matmul(a, b)


def _product(chain, kernel, x, with_loss):
    """(value, grad, jac) by the planned bracketing (the DP runs once, while recording)."""
    t = evaluate(chain, x, kernel, with_loss=with_loss)
    shapes = factor_shapes(chain, with_loss)
    B = 1 if x.ndim == 1 else int(x.shape[1])
    _, split = bracketing(shapes, factor_copies(chain, with_loss, B) if B > 1 else None)
    with kernel.phase("chain"):
        factors = _factors(chain, t, with_loss, kernel)
        kind, out = _execute(kernel, factors, split, 0, len(shapes) - 1)
        out = kernel.diag(out) if kind == DIAG else out
        if with_loss:
            return t.value, kernel.unrow(out), None
        return t.yhat, None, kernel.per_sample(out, x)


def gradient(chain, x, wrt="input", dense_B=False, check=True, exec="eager"):
    """∇f at x: for the input by the cheapest bracketing of J_ℓ A_L ⋯ A_0; for the
    parameters by backpropagation (see the module's docstring)."""
    check_wrt(wrt)
    if wrt == "params":
        return run(name, "params", chain, x, (dense_B,), reverse.backprop, check, exec)
    return run(name, "gradient", chain, x, (True,), _product, check, exec)


def jacobian(chain, x, check=True, exec="eager"):
    """The K × d Jacobian of h at x by the cheapest bracketing of A_L ⋯ A_0."""
    return run(name, "jacobian", chain, x, (False,), _product, check, exec)
