"""What every engine call shares: the Result, `run` (x checked, the chain's plan run or
replayed, the answer checked) and `check_answer`, which peers use too."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import FwdrevError
from .plan import planned
from .ops import Ops

WRT = ("input", "params")
"""What a gradient is taken with respect to (the wrt keyword); bench.axes.TARGETS names
what a point computes (gradient, params, jacobian)."""
EXECS = ("eager", "graph")
"""How an engine's plan runs: call by call from Python, or replayed from a CUDA graph."""


@dataclass
class Result:
    """The answer of one engine call.

    value: f(x) (or h(x) = ŷ for a Jacobian); grad: ∇_x f, or for wrt="params" a list with
    one tuple (∂f/∂W_i[, ∂f/∂b_i]) per linear layer; jac: the K × d Jacobian of h;
    ops: the derivative-chain count (maths §2); phases: {phase: Ops} for every phase;
    mem: {"peak": elements, "phases": {phase: elements}}, the most array elements held live
    beyond the weights and x (modes.plan.memory), None for peers.
    On a batch (x d × B, maths §7): value holds every sample's f (B), or ŷ (K × B); grad
    is B × d, or the mean loss's parameter gradient; jac is B × K × d.
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


def out_of_memory(e: Exception) -> bool:
    """Whether e is an allocation failing: MemoryError (numpy), a framework's
    OutOfMemoryError (CUDA), or a CPU allocator's "can't allocate memory" (torch)."""
    return isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError" or \
        (isinstance(e, RuntimeError) and "can't allocate memory" in str(e))


def run(mode, target, chain, x, key, body, check=True, execution="eager") -> Result:
    """One engine call: x checked (chain.input), then the chain's plan for (mode, target,
    *key) run on it — recorded on the first call by body(chain, kernel, x, *key) -> (value,
    grad, jac), which computes through the counting kernel (modes.plan). check=False
    skips the finiteness tests of x and of the answer, for timing loops that check once
    outside. Where the backend allows (Backend.test_x_first is False: torch), x is tested
    together with the answer, after the plan: one host sync on CUDA for all of it.

    execution="graph" replays the plan from a CUDA graph, captured on the plan's first such
    call (Backend.capture; torch on CUDA only): the same Result, its arrays copied out of
    the graph's memory. A plan recorded anew (weights assigned) is captured anew."""
    if execution not in EXECS:
        raise FwdrevError(f"unknown exec {execution!r} (known: {', '.join(EXECS)})")
    backend = chain.backend
    first = check and backend.test_x_first
    x = chain.input(x, first)
    try:
        p, out = planned(chain, (mode, target), key, x, body)
        if execution == "graph":
            if p.graph is None:
                p.graph = backend.capture(p.run, x)
            value, grad, jac = p.graph(x)
        else:
            value, grad, jac = out if out is not None else p.run(x)
    except Exception as e:
        if not out_of_memory(e):
            raise
        raise FwdrevError(f"{mode} {target}: x of shape {tuple(int(s) for s in x.shape)} does not "
                          "fit in memory on this chain (modes.predict.memory_peak gives a call's "
                          "peak; a smaller batch B needs less)") from None
    if check:
        check_answer(mode, target, backend, value, grad, jac, x=None if first else x)
    return Result(mode, target, value, p.ops, dict(p.phases), grad=grad, jac=jac, mem=p.mem)


def check_wrt(wrt):
    if wrt not in WRT:  # (no message built on every call: this runs per engine call)
        raise FwdrevError(f"unknown wrt {wrt!r} (known: {', '.join(WRT)})")


def check_answer(mode, target, backend, value, grad=None, jac=None, x=None):
    """Refuse a non-finite answer rather than return it: the value (f(x), or ŷ for a
    Jacobian) and every array of the derivative (each layer's ∂f/∂W_i and ∂f/∂b_i for
    wrt="params"); and x, when given (it was not tested before the call). Engines and peers
    alike. One test of everything together (one device sync on CUDA); only a failure looks
    at the parts, to say which: x first, as bad input."""
    d = jac if jac is not None else grad
    arrays = list(_flat(d)) if isinstance(d, (list, tuple)) else [d]
    if x is not None:
        arrays.append(x)
    if backend.all_finite(value, *arrays):
        return
    if x is not None and not backend.all_finite(x):
        raise FwdrevError("x contains NaN or inf")
    what = "the Jacobian" if jac is not None else "the gradient"
    if not backend.all_finite(*arrays):
        raise FwdrevError(f"{mode} {target}: {what} is not finite (overflow in the chain?)")
    name = "ŷ = h(x)" if jac is not None else "the value f(x)"
    raise FwdrevError(f"{mode} {target}: {name} is not finite (overflow in the chain?)")


def split_params(chain, kernel, vec):
    """Cut a flat parameter gradient into one tuple of arrays per linear layer, shaped as
    the parameters (w = vec(Wᵀ): rows of W concatenated, then the bias)."""
    out, at = [], 0
    for layer in chain.linear_layers:
        n = layer.n_out * layer.n_in
        grads = [kernel.reshape(kernel.slice(vec, at, at + n), (layer.n_out, layer.n_in))]
        at += n
        if layer.b is not None:
            grads.append(kernel.slice(vec, at, at + layer.n_out))
            at += layer.n_out
        out.append(tuple(grads))
    return out


def _flat(items):
    for a in items:
        if isinstance(a, (list, tuple)):
            yield from _flat(a)
        else:
            yield a
