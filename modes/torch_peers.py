"""Peers from torch: what a user of the framework would call, on the chain's own arrays.

| peer          | the timed call (prepare(chain, x, target).call)                              |
|---------------|------------------------------------------------------------------------------|
| autograd      | f(params, x) and torch.autograd.grad of it (x, or the parameters, made leaves |
|               | needing grad beforehand); Jacobian: torch.autograd.functional.jacobian (one  |
|               | backward pass per output row; ŷ evaluated outside the call). On a batch the  |
|               | batched model, and the gradient of the samples' summed f (each column its    |
|               | own sample's ∇f), of the mean loss for the parameters, of Ŷ's row sums for J |
| func-rev      | torch.func.grad (a vjp) / jacrev, the transform made beforehand              |
| func-fwd      | torch.func.jacfwd for both (vmapped jvps, one per input direction)           |
|               | func-rev and func-fwd on a batch (x d × B): torch.func.vmap of the transform |
|               | over the samples; the parameters: the transform of the batch's mean loss     |
| torch-compile | func-rev's transforms (vmapped on a batch) through torch.compile (inductor,  |
|               | static shapes), compiled beforehand once per shape; the call runs the        |
|               | compiled code (and its guards)                                               |

Every call ends with the device's wait (CUDA: synchronize; nothing on the CPU) and never
converts: on a numpy chain the arrays are shared with torch (torch.from_numpy, no copy, made
in prepare) and the answer goes back to numpy in answer(); on a torch chain (CPU or CUDA)
nothing is converted at all. The torch view of a chain is made once, and again when its W, b
or y is assigned; torch-compile compiles once per (chain, target), its seconds kept apart
(`compile_seconds(chain, target)`), never inside a timed call.
"""
from __future__ import annotations

import os
import shutil
import time
import weakref

from .errors import FwdrevError
from .peers import (ChainFunction, Prepared, PreparedPeer, Primitives, flat_params,
                    group_params, latest_seconds, result, waiting, with_value)
from .plan import Held

_TWINS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
"""chain → its _Twin, made on the first call (not inside every timed one)."""


class _Twin:
    """The chain's function and arrays in torch, with the way back to the chain's backend,
    and what torch-compile compiled for it: {(target, x's shape): (compiled function,
    seconds)}."""

    def __init__(self, chain):
        import torch
        self.torch, self.backend = torch, chain.backend
        self.numpy = chain.backend.name == "numpy"
        self.conv = torch.from_numpy if self.numpy else (lambda a: a)
        xp = Primitives(torch.tanh, torch.sigmoid, torch.relu, lambda z: torch.logsumexp(z, 0))
        self.fn = ChainFunction(chain, xp, self.conv(chain.loss.y))
        self.params = [self.conv(p) for p in flat_params(chain)]
        self.held, self.compiled = Held(chain), {}

    def back(self, a):
        a = a.detach()
        return a.numpy() if self.numpy else a


def _twin(chain):
    """The chain's twin, made anew when one of its arrays was assigned since."""
    t = _TWINS.get(chain)
    if t is None or not t.held.fresh(chain):
        t = _TWINS[chain] = _Twin(chain)
    return t


class TorchPeer(PreparedPeer):
    """One torch peer: `name` and, per target, a builder (twin, x) -> (the zero-argument body
    of its timed call, returning (value or None, derivative) as torch tensors; and finish, a
    view of the derivative in the engines' layout taken in answer(), untimed, or None)."""

    def __init__(self, name, grad_input, grad_params, jac):
        self.name = name
        self._build = {"gradient": grad_input, "params": grad_params, "jacobian": jac}

    def prepare(self, chain, x, target) -> Prepared:
        """The timed call at (chain, x, target): the body on torch arrays made here, then
        the device's wait; answer() brings its output back to the chain's backend."""
        t = _twin(chain)
        xt = t.conv(chain.input(x))
        body, finish = self._build[target](t, xt)

        def answer(out, check=True):
            value, d = out
            if finish is not None:
                d = finish(d)
            if target == "jacobian":
                if value is None:  # outside the timed call: the transform gives J alone
                    with t.torch.no_grad():
                        value = t.fn.h(t.params, xt)
                return result(self.name, target, t.backend, t.back(value), jac=t.back(d),
                              check=check)
            grad = t.back(d) if target == "gradient" else group_params(chain, [t.back(g) for g in d])
            return result(self.name, target, t.backend, t.back(value), grad=grad, check=check)
        return Prepared(waiting(body, t.backend.synchronize), answer)


# -- autograd ------------------------------------------------------------------------------
def _autograd_input(t, x):
    """f at x and its gradient; on a batch every sample's f and the gradient of their sum,
    whose column b is sample b's ∇f (the samples do not meet), transposed to B × d after."""
    x = x.detach().requires_grad_(True)
    grad = t.torch.autograd.grad
    if x.ndim == 1:
        def body():
            value = t.fn.f(t.params, x)
            return value, grad(value, x)[0]
        return body, None

    def batched():
        value = t.fn.f(t.params, x)
        return value, grad(value.sum(), x)[0]
    return batched, lambda d: d.T


def _autograd_params(t, x):
    """The loss and its gradient in the parameters; on a batch, of the batch's mean loss."""
    ps = [p.detach().requires_grad_(True) for p in t.params]
    grad, f = t.torch.autograd.grad, t.fn.f
    if x.ndim == 1:
        def body():
            value = f(ps, x)
            return value, grad(value, ps)
        return body, None

    def batched():
        value = f(ps, x)
        return value, grad(value.mean(), ps)
    return batched, None


def _autograd_jac(t, x):
    """torch.autograd.functional.jacobian of h; on a batch of Ŷ's row sums over the samples
    (K × d × B: sample b's J in the last index), permuted to B × K × d after."""
    jacobian, h, params = t.torch.autograd.functional.jacobian, t.fn.h, t.params
    if x.ndim == 1:
        return (lambda: (None, jacobian(lambda v: h(params, v), x))), None
    return (lambda: (None, jacobian(lambda V: h(params, V).sum(1), x))), lambda d: d.permute(2, 0, 1)


autograd = TorchPeer("autograd", _autograd_input, _autograd_params, _autograd_jac)


# -- torch.func ------------------------------------------------------------------------------
def _transform_of(t, transform, argnums, what, batched):
    """torch.func's `transform` of fn.`what` w.r.t. argnums (0: params, 1: x) as
    fn(params, x) -> (derivative, value), from one evaluation. On a batch, what its users
    write: torch.func.vmap of the per-sample transform over the columns (gradients B × d,
    Jacobians B × K × d, Ŷ K × B), and for the parameters the transform of the mean loss."""
    func = t.torch.func
    tr = getattr(func, transform)
    if not batched:
        return tr(with_value(getattr(t.fn, what)), argnums=argnums, has_aux=True)
    if argnums == 0:
        def mean_and_values(params, X):
            values = t.fn.f(params, X)
            return values.mean(), values
        return tr(mean_and_values, argnums=0, has_aux=True)
    if what == "f" and t.fn.per_sample:  # each sample's own target, mapped with its x
        per = tr(with_value(t.fn.f), argnums=1, has_aux=True)
        mapped, Y = func.vmap(per, in_dims=(None, 1, 1)), t.fn.y
        return lambda params, X: mapped(params, X, Y)
    per = tr(with_value(getattr(t.fn, what)), argnums=1, has_aux=True)
    return func.vmap(per, in_dims=(None, 1), out_dims=(0, 1 if what == "h" else 0))


def _func(transform, argnums, what="f"):
    """The builder of a torch.func peer's body."""
    def build(t, x):
        fn, params = _transform_of(t, transform, argnums, what, x.ndim == 2), t.params

        def body():
            d, value = fn(params, x)
            return value, d
        return body, None
    return build


func_rev = TorchPeer("func-rev", _func("grad", 1), _func("grad", 0), _func("jacrev", 1, "h"))
func_fwd = TorchPeer("func-fwd", _func("jacfwd", 1), _func("jacfwd", 0), _func("jacfwd", 1, "h"))


# -- torch.compile ---------------------------------------------------------------------------
RECOMPILE_LIMIT = 4096
"""Compilations allowed per function: a sweep compiles the same chain function at every
shape it visits (torch's default of 8 would fall back to eager, silently, after 8 points)."""


def compile_unavailable():
    """Why torch.compile cannot run here (a one-line reason), or None: its CPU code is C++
    built by the compiler named in $CXX (g++ when unset)."""
    cxx = os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None:
        return f"torch.compile needs a C++ compiler ({cxx} not found)"
    return None


def _compiled(target, transform, argnums, what="f"):
    """func-rev's transform (vmapped on a batch) compiled once per (target, x's shape), on
    its first prepare."""
    def build(t, x):
        key = (target, tuple(x.shape))
        if key not in t.compiled:
            fn = _transform_of(t, transform, argnums, what, x.ndim == 2)
            t.compiled[key] = _compile(t, fn, x)
        fn, params = t.compiled[key][0], t.params

        def body():
            d, value = fn(params, x)
            return value, d
        return body, None
    return build


def _compile(t, fn, x):
    """(fn compiled for these shapes, seconds): the first call compiles, and is timed."""
    why = compile_unavailable()
    if why:
        raise FwdrevError(why)
    torch = t.torch
    for name in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit",
                 "accumulated_cache_size_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, max(getattr(torch._dynamo.config, name), RECOMPILE_LIMIT))
    compiled = torch.compile(fn, dynamic=False, fullgraph=True)
    t0 = time.perf_counter()
    try:
        compiled(t.params, x)
        t.backend.synchronize()
    except Exception as e:  # the compiler's failure, as one line
        raise FwdrevError(f"torch.compile failed: {type(e).__name__}: "
                          f"{(str(e).strip().splitlines() or [''])[0]}") from None
    return compiled, time.perf_counter() - t0


def compile_seconds(chain, target):
    """Seconds torch-compile spent compiling `target` ("gradient", "params", "jacobian")
    for this chain at the shape it compiled last (each batch size compiles apart), or None
    before it did."""
    t = _TWINS.get(chain)
    return latest_seconds(t.compiled, (target,)) if t else None


torch_compile = TorchPeer("torch-compile", _compiled("gradient", "grad", 1),
                          _compiled("params", "grad", 0), _compiled("jacobian", "jacrev", 1, "h"))


def compile_extras(chain, target, call) -> dict:
    """torch-compile's extra column: the seconds its (chain, target) took to compile (no
    flop count: inductor's kernels run past FlopCounterMode). One compilation takes 5-10 s
    on a 2-core CPU, the process's first 35-75 s."""
    return {"compile_s": compile_seconds(chain, target)}


def extras(chain, target, call) -> dict:
    """A torch peer's extra column: torch's FlopCounterMode count of one call, in its own
    convention (2·n·m·l per product), with matrix-vector and dot products counted too
    (2·n·m, 2·n): torch's table leaves them out, and they are all a gradient in x is made of."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    aten = torch.ops.aten
    counter = FlopCounterMode(display=False, custom_mapping={
        aten.mv: lambda a, b, *r, out_shape=None, **k: 2 * a[0] * a[1],
        aten.dot: lambda a, b, *r, out_shape=None, **k: 2 * a[0]})
    with counter:
        call()
    return {"flops_torch": counter.get_total_flops()}
