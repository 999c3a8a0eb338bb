"""fwdrev engines: forward and reverse mode over layered functions, with exact counts.

    from modes import Chain, MODES
    chain = Chain.random([d, m, m, K])
    res = MODES["reverse"].gradient(chain, chain.random_x())
    res.grad, res.value, res.ops.total, res.phases

Every entry of `MODES` has the same two functions, `gradient(chain, x, wrt="input",
dense_B=False)` and `jacobian(chain, x)`, returning a `Result`. Both take check=False (no
finiteness tests, for timing loops); an engine's also take exec="graph" (the call replayed
from a CUDA graph; its module's `execs` lists what it runs).
"""
from . import cheapest, forward, hand, jax_peers, predict, reverse, torch_peers
from .backends import BACKENDS, DTYPES, cuda_available, get_backend
from .chain import Chain
from .engine import Result
from .errors import FwdrevError
from .layers import ACTIVATIONS, LAYERS, LOSSES
from .ops import PHASES, Ops

MODES: dict = {}
"""name → mode: any object with gradient(chain, x, wrt=..., dense_B=...) and jacobian(chain, x)."""


def register_mode(name, mode):
    """Add a mode (an engine, or a peer such as torch.autograd) under `name`."""
    for fn in ("gradient", "jacobian"):
        if not callable(getattr(mode, fn, None)):
            raise TypeError(f"mode {name!r} has no {fn}() function")
    MODES[name] = mode
    return mode


register_mode("forward", forward)
register_mode("reverse", reverse)
register_mode("cheapest", cheapest)
register_mode("hand", hand.hand)
register_mode("autograd", torch_peers.autograd)
register_mode("func-rev", torch_peers.func_rev)
register_mode("func-fwd", torch_peers.func_fwd)
register_mode("torch-compile", torch_peers.torch_compile)
register_mode("jax-rev", jax_peers.jax_rev)
register_mode("jax-fwd", jax_peers.jax_fwd)

ENGINES = ("forward", "reverse", "cheapest")
"""The modes that count their operations (the others are peers: ops is None). A peer has a
third function, prepare(chain, x, target) -> modes.peers.Prepared: its timed call on the
framework's own arrays, made there (modes/peers.py); `hand` is the hand-written floor."""

__all__ = ["Chain", "MODES", "ENGINES", "register_mode", "Result", "Ops", "PHASES", "FwdrevError",
           "predict", "BACKENDS", "DTYPES", "get_backend", "cuda_available", "LAYERS",
           "ACTIVATIONS", "LOSSES"]
