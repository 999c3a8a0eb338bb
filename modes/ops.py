"""Exact operation counts: multiplications, additions and elementwise functions, per phase.

Counting convention (maths §2): a product of an n×m by an m×l matrix costs n·m·l
multiplications and n·(m−1)·l additions. Divisions count as multiplications and
subtractions as additions; evaluations of exp, log, tanh, sigmoid, relu, a comparison or a
max step count as `funcs`. Materialising a matrix (F_0 = A_0, a diagonal, I ⊗ zᵀ) is free.
"""
from __future__ import annotations

from dataclasses import dataclass

PHASES = ("eval", "loss_grad", "jac", "chain")
"""eval: the z_i and f; loss_grad: forming ∇ℓ(ŷ); jac: forming layer Jacobian entries
(σ'(z) of an activation); chain: the derivative chain the textbook counts."""


@dataclass(frozen=True)
class Ops:
    """An exact count of elementary operations (Python ints, never floats)."""

    mults: int = 0
    adds: int = 0
    funcs: int = 0

    @property
    def total(self) -> int:
        return self.mults + self.adds + self.funcs

    def __add__(self, other: "Ops") -> "Ops":
        return Ops(self.mults + other.mults, self.adds + other.adds, self.funcs + other.funcs)

    def as_dict(self) -> dict:
        return {"mults": self.mults, "adds": self.adds, "funcs": self.funcs, "total": self.total}


def product_ops(n: int, m: int, l: int) -> Ops:
    """Cost of an (n×m)·(m×l) product under the textbook's convention."""
    return Ops(mults=n * m * l, adds=n * (m - 1) * l if m else 0)
