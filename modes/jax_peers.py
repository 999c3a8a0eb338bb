"""Peers from JAX (optional: `pip install -e '.[jax]'`): jitted transformations.

    jax-rev:  jax.grad for gradients (a vjp), jax.jacrev for the Jacobian
    jax-fwd:  jax.jacfwd for both (vmapped jvps, one per input direction)

Each (chain, target) is compiled once, ahead of time (jax.jit(...).lower(...).compile()), on
the first call; the compile time is kept apart — `compile_seconds(chain, target)` — and
never inside a timed call. The chain's arrays are copied to JAX once per chain, and again
(compiled again too) when its W, b or y is assigned; changed in place, they are not seen. float64 chains turn
on jax_enable_x64 for the process. Without JAX installed, every call raises FwdrevError
"jax not installed", which the sweep records as a skipped row.
"""
from __future__ import annotations

import time
import weakref

from .engine import check_wrt
from .errors import FwdrevError
from .peers import ChainFunction, Primitives, flat_params, group_params, result, with_value
from .plan import Held

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
"""chain → {"fn": ChainFunction, "params": [...], "compiled": {target: (callable, seconds)},
"held": Held}"""


def _jax():
    try:
        import jax
    except ImportError:
        raise FwdrevError("jax not installed (pip install -e '.[jax]')") from None
    return jax


def _entry(chain):
    """The chain in JAX (arrays copied once) and its compiled functions so far."""
    e = _CACHE.get(chain)
    if e is None or not e["held"].fresh(chain):
        jax = _jax()
        if chain.backend.dtype == "float64":
            jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy
        conv = lambda a: jnp.asarray(chain.backend.to_numpy(a))  # noqa: E731
        xp = Primitives(jnp.tanh, jax.nn.sigmoid, jax.nn.relu, jax.nn.logsumexp)
        e = {"fn": ChainFunction(chain, xp, conv(chain.loss.y)),
             "params": [conv(p) for p in flat_params(chain)], "compiled": {}, "conv": conv,
             "held": Held(chain)}
        _CACHE[chain] = e
    return e


def compile_seconds(chain, target):
    """Seconds spent compiling `target` ("gradient", "params", "jacobian") for this chain,
    or None before the first call."""
    e = _CACHE.get(chain)
    got = e and e["compiled"].get(target)
    return got[1] if got else None


class JaxPeer:
    """One JAX peer: `name` and the transformation it uses per target."""

    def __init__(self, name, grad, jac):
        self.name, self._grad, self._jac = name, grad, jac

    def _call(self, chain, x, target, check=True):
        e = _entry(chain)
        xj = e["conv"](chain.input(x, check))
        if target not in e["compiled"]:
            jax = _jax()
            argnums, what, tr = {"gradient": (1, "f", self._grad), "params": (0, "f", self._grad),
                                 "jacobian": (1, "h", self._jac)}[target]
            fn = getattr(jax, tr)(with_value(getattr(e["fn"], what)), argnums=argnums, has_aux=True)
            t0 = time.perf_counter()
            compiled = jax.jit(fn).lower(e["params"], xj).compile()
            e["compiled"][target] = (compiled, time.perf_counter() - t0)
        d, value = e["compiled"][target][0](e["params"], xj)
        b = chain.backend
        back = lambda a: b.asarray(a.__array__().copy())  # noqa: E731  waits for the device
        return back(value), d, back

    def gradient(self, chain, x, wrt="input", dense_B=False, check=True):
        """∇f at x with respect to the input or to every layer's parameters."""
        check_wrt(wrt)
        target = "gradient" if wrt == "input" else "params"
        value, d, back = self._call(chain, x, target, check)
        grad = back(d) if wrt == "input" else group_params(chain, [back(g) for g in d])
        return result(self.name, target, chain.backend, value, grad=grad, check=check)

    def jacobian(self, chain, x, check=True):
        """The K × d Jacobian of h at x."""
        value, d, back = self._call(chain, x, "jacobian", check)
        return result(self.name, "jacobian", chain.backend, value, jac=back(d), check=check)


jax_rev = JaxPeer("jax-rev", "grad", "jacrev")
jax_fwd = JaxPeer("jax-fwd", "jacfwd", "jacfwd")


def extras(chain, target, call) -> dict:
    """A JAX peer's extra column: the seconds its (chain, target) took to compile."""
    return {"compile_s": compile_seconds(chain, target)}
