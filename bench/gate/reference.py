"""The gate's yardstick: the products an engine call executes, written directly with the
arrays' own operators (numpy or torch alike), with no counting, no checks, no trace object.

    call = REFERENCES[(target, mode)](Ws, y)        # Ws: the chain's weight matrices
    value, grad = call(x)

Timed in the same process, interleaved with the engine on the same arrays, the reference
runs at whatever rate this machine's BLAS gives those products; t_engine / t_reference is
then what the engine adds, and it does not move when the CPU or BLAS kernel changes.

The products are the `hand` mode's (modes.hand.PRODUCTS, which the sweep times as its
floor): each entry mirrors its engine product by product (modes/forward.py,
modes/reverse.py) for the gate's chains: linear layers, no bias, the squared loss
ℓ = ½‖ŷ − y‖². The gate checks that every reference's answer equals its engine's before
it times anything.
"""
from __future__ import annotations

from modes.hand import PRODUCTS, forward_gradient, register, reverse_gradient, reverse_params

REFERENCES: dict = PRODUCTS
"""(target, mode) → builder(Ws, y) → call(x) returning (f or ŷ, derivative)."""

__all__ = ["REFERENCES", "register", "forward_gradient", "reverse_gradient", "reverse_params"]
