"""Counted array operations: every product and elementwise step is tallied per phase.

Layer rules and engines compute only through a `Kernel`, so what is counted is exactly what
is executed. Materialising (zeros, eye, diagonals, I ⊗ zᵀ, concatenation) is free.
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
        """a @ b for 2-D or 1-D operands (a vector is a 1×m row on the left, m×1 on the right)."""
        n, m = (1, a.shape[0]) if a.ndim == 1 else a.shape
        l = 1 if b.ndim == 1 else b.shape[1]
        c = product_ops(int(n), int(m), int(l))
        self._count(c.mults, c.adds)
        return self.b.matmul(a, b)

    def rowscale(self, s, M):
        """diag(s) @ M without forming diag(s): one multiplication per entry of M."""
        self._count(mults=elements(M))
        return self.b.mul(self.b.reshape(s, (-1, 1)), M) if M.ndim == 2 else self.b.mul(s, M)

    def colscale(self, G, s):
        """G @ diag(s) without forming diag(s): one multiplication per entry of G."""
        self._count(mults=elements(G))
        return self.b.mul(G, s)

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

    # -- free ---------------------------------------------------------------------
    def zeros(self, shape): return self.b.zeros(shape)
    def eye(self, n): return self.b.eye(n)
    def diag(self, v): return self.b.diag(v)
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
