"""fwdrev engines: forward and reverse mode over layered functions, with exact counts.

    from modes import Chain, MODES
    chain = Chain.random([d, m, m, K])
    res = MODES["reverse"].gradient(chain, chain.random_x())
    res.grad, res.value, res.ops.total, res.phases

Every entry of `MODES` has the same two functions, `gradient(chain, x, wrt="input",
dense_B=False)` and `jacobian(chain, x)`, returning a `Result`. Both take check=False (no
finiteness tests, for timing loops); an engine's also take exec="graph" (the call replayed
from a CUDA graph; its module's `execs` lists what it runs). `exec` is the public keyword,
as the points.csv column and `bench.points.Point.exec` are: scripts pass it, so it keeps
that name although it shadows the builtin inside the engines' two functions; below them
(modes.engine.run) it is `execution`. Each mode is registered below
with its traits (modes.registry: counts, predictions, direction, requirements, extra
columns); the bench reads those and names no mode.
"""
from . import cheapest, counted, forward, hand, jax_peers, predict, reverse, torch_peers
from .backends import BACKENDS, DTYPES, cuda_available, get_backend
from .chain import Chain
from .engine import Result
from .errors import FwdrevError
from .layers import ACTIVATIONS, LAYERS, LOSSES
from .ops import PHASES, Ops
from .registry import MODES, TRAITS, engines, register_mode, traits

register_mode("forward", forward, counts=True, predict=counted.closed_form("forward"),
              memory=counted.closed_memory("forward"),
              direction="forward")
register_mode("reverse", reverse, counts=True, predict=counted.closed_form("reverse"),
              memory=counted.closed_memory("reverse"),
              direction="reverse")
register_mode("cheapest", cheapest, counts=True, predict=counted.bracketing,
              direction="reverse")
register_mode("hand", hand.hand, direction="reverse",
              handles={"activation": ("none",), "loss": ("squared",), "bias": ("off",)})
register_mode("autograd", torch_peers.autograd, requires=("torch",),
              extras=torch_peers.extras)
register_mode("func-rev", torch_peers.func_rev, requires=("torch",), extras=torch_peers.extras)
register_mode("func-fwd", torch_peers.func_fwd, direction="forward", requires=("torch",),
              extras=torch_peers.extras)
register_mode("torch-compile", torch_peers.torch_compile, requires=("torch",),
              unavailable=torch_peers.compile_unavailable, extras=torch_peers.compile_extras,
              compile_s=10.0)
register_mode("jax-rev", jax_peers.jax_rev, requires=("jax",), extras=jax_peers.extras)
register_mode("jax-fwd", jax_peers.jax_fwd, direction="forward", requires=("jax",),
              extras=jax_peers.extras)

ENGINES = engines()
"""The modes registered so far that count their operations (the others are peers: ops is
None); the bench asks each mode's traits (modes.registry.traits) instead. A peer has a third
function, prepare(chain, x, target) -> modes.peers.Prepared: its timed call on the
framework's own arrays, made there (modes/peers.py); `hand` is the hand-written floor."""

__all__ = ["Chain", "MODES", "ENGINES", "register_mode", "Result", "Ops", "PHASES", "FwdrevError",
           "predict", "TRAITS", "traits", "BACKENDS", "DTYPES", "get_backend", "cuda_available", "LAYERS",
           "ACTIVATIONS", "LOSSES"]
