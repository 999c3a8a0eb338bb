"""What every mode shares: the result object, the prologue (checks and the evaluation
trace) and the epilogue (finiteness check, per-phase counts)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import FwdrevError, check
from .plan import planned
from .ops import Ops

TARGETS = ("input", "params")


@dataclass
class Result:
    """The answer of one engine call.

    value: f(x) (or h(x) = ŷ for a Jacobian); grad: ∇_x f, or for wrt="params" a list with
    one tuple (∂f/∂W_i[, ∂f/∂b_i]) per linear layer; jac: the K × d Jacobian of h;
    ops: the derivative-chain count (maths §2); phases: {phase: Ops} for every phase;
    mem: {"peak": elements, "phases": {phase: elements}}, the most array elements held live
    beyond the weights and x (modes.plan.memory), None for peers.
    """

    mode: str
    target: str
    value: object
    ops: Ops
    phases: dict = field(default_factory=dict)
    grad: object = None
    jac: object = None
    mem: dict = None

    @property
    def ops_all(self) -> Ops:
        """Every phase together: evaluation, loss gradient, Jacobian entries and chain."""
        total = Ops()
        for o in self.phases.values():
            total = total + o
        return total


def run(mode, target, chain, x, key, body, check=True) -> Result:
    """One engine call: x checked (chain.input), then the chain's plan for (mode, target,
    *key) run on it — recorded on the first call by body(chain, k, x, *key) -> (value,
    grad, jac), which computes through the counting kernel k (modes.plan). check=False
    skips the finiteness check of the answer, for timing loops that check once outside."""
    x = chain.input(x, check)
    p, out = planned(chain, (mode, target), key, x, body)
    value, grad, jac = out if out is not None else p.run(x)
    if check:
        check_answer(mode, target, chain.backend, value, grad, jac)
    return Result(mode, target, value, p.ops, dict(p.phases), grad=grad, jac=jac, mem=p.mem)


def check_wrt(wrt):
    check(wrt in TARGETS, f"unknown wrt {wrt!r} (known: {', '.join(TARGETS)})")


def check_answer(mode, target, b, value, grad=None, jac=None):
    """Refuse a non-finite answer rather than return it: the value (f(x), or ŷ for a
    Jacobian) and every array of the derivative (each layer's ∂f/∂W_i and ∂f/∂b_i for
    wrt="params"). Engines and peers alike."""
    what = "the Jacobian" if jac is not None else "the gradient"
    for a in _flat([jac if jac is not None else grad]):
        if not b.all_finite(a):
            raise FwdrevError(f"{mode} {target}: {what} is not finite (overflow in the chain?)")
    if not b.all_finite(value):
        name = "ŷ = h(x)" if jac is not None else "the value f(x)"
        raise FwdrevError(f"{mode} {target}: {name} is not finite (overflow in the chain?)")


def split_params(chain, k, vec):
    """Cut a flat parameter gradient into one tuple of arrays per linear layer, shaped as
    the parameters (w = vec(Wᵀ): rows of W concatenated, then the bias)."""
    out, at = [], 0
    for layer in chain.linear_layers:
        n = layer.n_out * layer.n_in
        grads = [k.reshape(k.slice(vec, at, at + n), (layer.n_out, layer.n_in))]
        at += n
        if layer.b is not None:
            grads.append(k.slice(vec, at, at + layer.n_out))
            at += layer.n_out
        out.append(tuple(grads))
    return out


def _flat(items):
    for a in items:
        if isinstance(a, (list, tuple)):
            yield from _flat(a)
        else:
            yield a
