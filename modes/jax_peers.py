"""Peers from JAX (optional: `pip install -e '.[jax]'`): jitted transformations.

| peer    | the timed call (prepare(chain, x, target).call)                                  |
|---------|----------------------------------------------------------------------------------|
| jax-rev | the compiled jax.grad (a vjp) / jax.jacrev on JAX arrays, then block_until_ready |
| jax-fwd | the compiled jax.jacfwd (vmapped jvps) on JAX arrays, then block_until_ready     |

On a batch (x d × B) each is jax.vmap of the per-sample transform over the columns, and for
the parameters the transform of the batch's mean loss; each batch size compiles apart.

The timed call returns the derivative alone, as `jax.grad` does for its users (returning f
beside it, value_and_grad, cost 1.4x at m = 16–256 here); the value is evaluated after,
untimed.

The chain's arrays are copied to JAX once per chain, and again (compiled again too) when its
W, b or y is assigned; changed in place, they are not seen. x is copied to JAX in prepare,
and the answer back to the chain's backend in answer(): no conversion is timed. Each (chain,
target) is compiled once per peer, ahead of time (jax.jit(...).lower(...).compile()), on
its first prepare; the compile time is kept apart — `compile_seconds(chain, target, peer)`
— and never inside a timed call. float64 chains turn on jax_enable_x64 for the process. Without JAX
installed, every call raises FwdrevError "jax not installed", which the sweep records as a
skipped row.
"""
from __future__ import annotations

import importlib.util
import time
import weakref

from .errors import FwdrevError
from .peers import (ChainFunction, Prepared, PreparedPeer, Primitives, flat_params,
                    group_params, latest_seconds, result)
from .plan import Held

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
"""chain → {"fn": ChainFunction, "params": [...], "compiled": {(peer, target, x's shape):
(callable, seconds)},
"values": {"f" or "h": jitted}, "held": Held}"""


def _jax():
    try:
        import jax
    except ImportError:
        raise FwdrevError("jax not installed (pip install -e '.[jax]')") from None
    return jax


def unavailable():
    """Why JAX cannot run here (one line), or None."""
    return "jax not installed" if importlib.util.find_spec("jax") is None else None


def _entry(chain):
    """The chain in JAX (arrays copied once) and its compiled functions so far."""
    e = _CACHE.get(chain)
    if e is None or not e["held"].fresh(chain):
        jax = _jax()
        if chain.backend.dtype == "float64":
            jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy
        conv = lambda a: jnp.asarray(chain.backend.to_numpy(a))  # noqa: E731
        xp = Primitives(jnp.tanh, jax.nn.sigmoid, jax.nn.relu,
                        lambda z: jax.nn.logsumexp(z, axis=0))
        e = {"fn": ChainFunction(chain, xp, conv(chain.loss.y)),
             "params": [conv(p) for p in flat_params(chain)], "compiled": {}, "values": {},
             "conv": conv, "held": Held(chain)}
        _CACHE[chain] = e
    return e


def compile_seconds(chain, target, peer="jax-rev"):
    """Seconds `peer` spent compiling `target` ("gradient", "params", "jacobian") for this
    chain at the shape it compiled last, or None before its first call."""
    e = _CACHE.get(chain)
    return latest_seconds(e["compiled"], (peer, target)) if e else None


class JaxPeer(PreparedPeer):
    """One JAX peer: `name` and the transformation it uses per target."""

    unavailable = staticmethod(unavailable)

    def __init__(self, name, grad, jac):
        self.name, self._grad, self._jac = name, grad, jac

    def compile_seconds(self, chain, target):
        """Seconds this peer spent compiling `target` for the chain, or None."""
        return compile_seconds(chain, target, self.name)

    def prepare(self, chain, x, target) -> Prepared:
        """The compiled derivative on JAX arrays made here (compiled here on the first
        prepare of this chain and target), then block_until_ready; answer() evaluates the
        value (f, or ŷ for the Jacobian) by the jitted function, untimed, and copies both
        back to the chain's backend."""
        jax, e = _jax(), _entry(chain)
        xj = e["conv"](chain.input(x))
        argnums, what, tr = {"gradient": (1, "f", self._grad), "params": (0, "f", self._grad),
                             "jacobian": (1, "h", self._jac)}[target]
        key = (self.name, target, tuple(xj.shape))  # jax-rev and jax-fwd compile apart
        if key not in e["compiled"]:
            fn = _transformed(jax, e["fn"], tr, argnums, what, xj.ndim == 2)
            t0 = time.perf_counter()
            compiled = jax.jit(fn).lower(e["params"], xj).compile()
            e["compiled"][key] = (compiled, time.perf_counter() - t0)
        compiled, params, ready = e["compiled"][key][0], e["params"], jax.block_until_ready
        if what not in e["values"]:
            e["values"][what] = jax.jit(getattr(e["fn"], what))
        value_of = e["values"][what]
        backend = chain.backend
        back = lambda a: backend.asarray(a.__array__().copy())  # noqa: E731

        def answer(d, check=True):
            value = back(value_of(params, xj))
            if target == "jacobian":
                return result(self.name, target, backend, value, jac=back(d), check=check)
            grad = back(d) if target == "gradient" else group_params(chain, [back(g) for g in d])
            return result(self.name, target, backend, value, grad=grad, check=check)
        return Prepared(lambda: ready(compiled(params, xj)), answer)


def _transformed(jax, fn, transform, argnums, what, batched):
    """jax.`transform` of fn.`what` w.r.t. argnums (0: params, 1: x); on a batch what JAX's
    users write: jax.vmap of the per-sample transform over the columns (gradients B × d,
    Jacobians B × K × d), and for the parameters the transform of the batch's mean loss."""
    tr = getattr(jax, transform)
    if not batched:
        return tr(getattr(fn, what), argnums=argnums)
    if argnums == 0:
        return tr(fn.mean_f, argnums=0)
    if what == "f" and fn.per_sample:  # each sample's own target, mapped with its x
        mapped, Y = jax.vmap(tr(fn.f, argnums=1), in_axes=(None, 1, 1)), fn.y
        return lambda params, X: mapped(params, X, Y)
    return jax.vmap(tr(getattr(fn, what), argnums=1), in_axes=(None, 1))


jax_rev = JaxPeer("jax-rev", "grad", "jacrev")
jax_fwd = JaxPeer("jax-fwd", "jacfwd", "jacfwd")


def extras(chain, target, call) -> dict:
    """A JAX peer's extra column: the seconds its (chain, target) took to compile."""
    return {"compile_s": compile_seconds(chain, target)}
