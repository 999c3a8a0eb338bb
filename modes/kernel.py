"""Counted array operations: every product and elementwise step is tallied per phase.

Layer rules and engines compute only through a `Kernel`, so what is counted is exactly what
is executed. Materialising (zeros, eye, diagonals, I ⊗ zᵀ, concatenation, copies) is free.

Batches (maths §7): a batch of B inputs is a d × B matrix, one column per sample, and so
are the z_i, ŷ, ∇ℓ and the activations' σ'(z_i) (a diagonal per sample, as an n × B
matrix). A matrix that differs between samples is a 3-D array B × r × c, sample first; a
2-D matrix (a weight W_i, or a product of weights) is the same for every sample and is
paid for once. Per-sample rows (reverse mode's G_i) are B × 1 × c, and a product of such
a batch by a shared matrix is one (B·r × c)(c × l) product.
"""
from __future__ import annotations

from contextlib import contextmanager

from .ops import PHASES, Ops, product_ops


class Kernel:
    """A backend plus a tally of operations by phase."""

    def __init__(self, backend):
        self.b = backend
        self._tally = {p: [0, 0, 0] for p in PHASES}
        self._phase = "eval"

    @contextmanager
    def phase(self, name):
        previous, self._phase = self._phase, name
        try:
            yield
        finally:
            self._phase = previous

    @property
    def current_phase(self) -> str:
        return self._phase

    def phases(self) -> dict:
        """{phase: Ops} for everything counted so far."""
        return {p: Ops(*v) for p, v in self._tally.items()}

    def _count(self, mults=0, adds=0, funcs=0):
        t = self._tally[self._phase]
        t[0] += mults
        t[1] += adds
        t[2] += funcs

    # -- counted ------------------------------------------------------------------
    def matmul(self, a, b):
        """a @ b for 2-D or 1-D operands (a vector is a 1×m row on the left, m×1 on the right),
        or where either is a batch (B × r × c): B products, a per-sample batch on the left
        of a shared matrix executed as one (B·r × c)(c × l) product."""
        if a.ndim < 3 and b.ndim < 3:
            n, m = (1, a.shape[0]) if a.ndim == 1 else a.shape
            l = 1 if b.ndim == 1 else b.shape[1]
            c = product_ops(int(n), int(m), int(l))
            self._count(c.mults, c.adds)
            return self.b.matmul(a, b)
        (n, m), l = a.shape[-2:], int(b.shape[-1])
        B = int(a.shape[0] if a.ndim == 3 else b.shape[0])
        c = product_ops(B * int(n), int(m), l)
        self._count(c.mults, c.adds)
        if b.ndim == 2:
            flat = self.b.matmul(self.b.reshape(a, (B * int(n), int(m))), b)
            return self.b.reshape(flat, (B, int(n), l))
        return self.b.matmul(a, b)

    def rowscale(self, s, M):
        """diag(s) @ M without forming diag(s): one multiplication per entry of the result.
        s n × B (one diagonal per sample) scales a shared M into a batch."""
        if s.ndim == 2:
            out = self.b.mul(self.b.reshape(self.b.transpose(s), (s.shape[1], s.shape[0], 1)), M)
        else:
            out = self.b.mul(self.b.reshape(s, (-1, 1)), M) if M.ndim == 2 else self.b.mul(s, M)
        self._count(mults=elements(out))
        return out

    def colscale(self, G, s):
        """G @ diag(s) without forming diag(s): one multiplication per entry of the result.
        s n × B (one diagonal per sample) scales a shared G into a batch."""
        if s.ndim == 2:
            s = self.b.reshape(self.b.transpose(s), (s.shape[1], 1, s.shape[0]))
        out = self.b.mul(G, s)
        self._count(mults=elements(out))
        return out

    def outer(self, u, v):
        self._count(mults=elements(u) * elements(v))
        return self.b.outer(u, v)

    def mul(self, a, b):
        out = self.b.mul(a, b)
        self._count(mults=elements(out))
        return out

    def add(self, a, b):
        out = self.b.add(a, b)
        self._count(adds=elements(out))
        return out

    def sub(self, a, b):
        out = self.b.sub(a, b)
        self._count(adds=elements(out))
        return out

    def div(self, a, b):
        """a / b, counted as multiplications (one per entry of the result)."""
        out = self.b.div(a, b)
        self._count(mults=elements(out))
        return out

    def func(self, name, a):
        self._count(funcs=elements(a))
        return self.b.func(name, a)

    def sum(self, a):
        self._count(adds=max(elements(a) - 1, 0))
        return self.b.sum(a)

    def max(self, a):
        self._count(funcs=max(elements(a) - 1, 0))  # comparisons
        return self.b.max(a)

    def dots(self, a, b):
        """a · b for vectors; for two n × B matrices one dot product per column (sample)."""
        if a.ndim == 1:
            return self.matmul(a, b)
        n, B = (int(s) for s in a.shape)
        self._count(mults=n * B, adds=(n - 1) * B)
        return self.b.coldot(a, b)

    def colsum(self, a):
        """The sum of a vector, or of each column of a matrix ((rows − 1) adds per column;
        a single row is its own sum, a view)."""
        if a.ndim == 1:
            return self.sum(a)
        if a.shape[0] == 1:
            return self.b.reshape(a, (int(a.shape[1]),))
        self._count(adds=(int(a.shape[0]) - 1) * int(a.shape[1]))
        return self.b.colsum(a)

    def colmax(self, a):
        """The max of a vector, or of each column of a matrix (comparisons, as funcs)."""
        if a.ndim == 1:
            return self.max(a)
        self._count(funcs=(int(a.shape[0]) - 1) * int(a.shape[1]))
        return self.b.colmax(a)

    # -- free ---------------------------------------------------------------------
    def zeros(self, shape): return self.b.zeros(shape)
    def eye(self, n): return self.b.eye(n)
    def diag(self, v): return self.b.diag(v) if v.ndim == 1 else self.b.diags(v)

    def per_sample(self, J, x):
        """J for every sample of x, B × K × d: a J shared by the batch (a linear chain's
        Jacobian) copied B times (a view of it for B = 1); J itself for one x, or where it
        is already per sample."""
        if x.ndim == 1 or J.ndim == 3:
            return J
        B = int(x.shape[1])
        return self.b.expand(J, B) if B > 1 else self.b.reshape(J, (1,) + tuple(int(s) for s in J.shape))

    def column(self, v, like):
        """v (n,) as an n × 1 column where `like` is a batch (n × B), so that it applies to
        every sample; else v itself (one vector, or already one column per sample)."""
        return v if like.ndim == 1 or v.ndim == 2 else self.b.reshape(v, (-1, 1))

    def rows(self, a):
        """An n × B matrix's columns as a batch of rows, B × 1 × n; a vector as it is."""
        if a.ndim == 1:
            return a
        return self.b.reshape(self.b.transpose(a), (int(a.shape[1]), 1, int(a.shape[0])))

    def unrow(self, a):
        """A batch of rows B × 1 × n as the B × n matrix; a vector as it is."""
        return a if a.ndim == 1 else self.b.reshape(a, (int(a.shape[0]), int(a.shape[2])))

    def hcat(self, blocks): return self.b.hcat(blocks)
    def reshape(self, a, shape): return self.b.reshape(a, shape)
    def slice(self, a, start, stop): return self.b.slice(a, start, stop)
    def T(self, a): return self.b.transpose(a)
    def kron_eye(self, n, z): return self.b.kron_eye(n, z)


def elements(a) -> int:
    """The number of entries of an array (1 for a scalar)."""
    n = 1
    for s in getattr(a, "shape", ()):
        n *= int(s)
    return n
