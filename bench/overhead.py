"""python -m bench overhead: what an engine call costs beyond its arithmetic.

Per backend and device, at a tiny, a middle and a large size, the per-call time of
`MODES[mode].gradient(chain, x)` with its default arguments (every check on), the same call
with check=False (as the sweep and the gate time it), the same arithmetic written by hand
(bench.gate.reference), and torch.autograd (reverse only: it is a reverse-mode peer); on
CUDA also the engine replayed from a CUDA graph (exec="graph", check=False). The
candidates are timed round-robin in one process (bench.timer.interleaved, as the
gate's small checks are), the order rotated each round (a peer last, then untimed calls to
settle the caches it evicted), each call on the next of 16 inputs (no answer can be
memoised on x); a candidate's time is its
median over the rounds, and a ratio is the median of the per-round ratios to the hand-
written call. Threads are pinned to 1. The per-call floor of an engine, the report's
"hollow points" threshold, is its tiny-size time here.
"""
from __future__ import annotations

import argparse
import itertools
import sys

from bench import cmdline as cli
from bench.errors import UsageError
from bench.timer import interleaved
from modes.hand import PRODUCTS as REFERENCES
from bench.stats import median
from bench.points import Point, chain_for, set_threads
from modes import MODES, cuda_available

SIZES = {  # name: {mode: (L, m, d, K)}
    "tiny": {"forward": (2, 16, 16, 10), "reverse": (2, 16, 16, 10)},
    "middle": {"forward": (3, 64, 32, 1), "reverse": (3, 64, 32, 1)},
    "large": {"forward": (2, 768, 768, 1), "reverse": (2, 3072, 3072, 1)},
    # two GPU sizes: a GPU's launch-bound case and its middling one
    "L2m64": {"forward": (2, 64, 64, 1), "reverse": (2, 64, 64, 1)},
    "L8m1024": {"reverse": (8, 1024, 1024, 10)},
}
DEFAULT_SIZES = ("tiny", "middle", "large")
N_X = 16


def candidates(point: Point, mode: str) -> dict:
    """{name: call(x)} for one point and mode, each waiting for the device."""
    chain = chain_for(point)
    sync = chain.backend.synchronize
    eng = MODES[mode]
    ref = REFERENCES[("gradient", mode)]([l.W for l in chain.linear_layers], chain.loss.y)

    def wrap(fn):
        def call(x):
            fn(x)
            sync()
        return call
    out = {"engine": wrap(lambda x: eng.gradient(chain, x)),
           "unchecked": wrap(lambda x: eng.gradient(chain, x, check=False)),
           "hand": wrap(ref)}
    if point.device.startswith("cuda"):
        out["graph"] = wrap(lambda x: eng.gradient(chain, x, check=False, exec="graph"))
    if mode == "reverse":
        out["autograd"] = wrap(lambda x: MODES["autograd"].gradient(chain, x))
    xs = [chain.random_x(100 + i) for i in range(N_X)]
    return out, xs


def measure(point: Point, mode: str, seconds: float) -> dict:
    """{name: median seconds per call} and {name: median ratio to "hand"}, and the rounds.

    Timed round-robin by bench.timer.interleaved, the gate's small checks' timing:
    each round times the engine, unchecked and hand calls once each in an order rotated
    round by round, then the peer (autograd) if any, then each of the three untimed: a
    peer's heavy call evicts caches, and whatever ran next would pay for it. Every call of a
    candidate is on its next input."""
    calls, xs = candidates(point, mode)
    fns = {n: _cycling(fn, xs) for n, fn in calls.items()}
    peer = {n: fns.pop(n) for n in list(fns) if n == "autograd"}
    times = interleaved(fns, seconds=seconds, after=peer)
    r = len(times["hand"])
    ratios = {n: median([times[n][i] / times["hand"][i] for i in range(r)]) for n in times}
    return {n: median(v) for n, v in times.items()}, ratios, r


def _cycling(fn, xs):
    """fn as a zero-argument call on the next of xs each time (no answer memoised on x)."""
    it = itertools.cycle(xs)
    return lambda: fn(next(it))


def rows(backends, devices, sizes, seconds, dtype="float64"):
    for backend in backends:
        for device in devices:
            if device == "cuda" and (backend != "torch" or not cuda_available()):
                continue
            for size in sizes:
                for mode, (L, m, d, K) in SIZES[size].items():
                    p = Point(backend=backend, device=device, dtype=dtype, L=L, m=m, d=d, K=K)
                    t, r, n = measure(p, mode, seconds)
                    yield p, size, mode, t, r, n


def _us(v):
    return f"{1e6 * v:10.1f}" if v is not None else f"{'-':>10}"


def _x(v):
    return f"{v:6.2f}x" if v is not None else f"{'-':>7}"


def main(argv=None, command="overhead") -> int:
    """Entry point of `fwdrev overhead`; returns the exit status (bench.cmdline)."""
    return cli.entry(command, "bench.overhead", argv)


def run_command(argv, command="overhead") -> int:
    ap = cli.Parser(prog=cli.prog(command), description=__doc__.split("\n\n")[0],
                    epilog=__doc__.split("\n\n", 1)[1],
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="numpy,torch", help="comma-separated (default %(default)s)")
    ap.add_argument("--device", default="cpu,cuda", help="comma-separated; cuda is skipped "
                    "without a GPU (default %(default)s)")
    ap.add_argument("--size", default=",".join(DEFAULT_SIZES),
                    help=f"comma-separated, of {', '.join(SIZES)} (default %(default)s)")
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                    help="(default %(default)s)")
    ap.add_argument("--seconds", type=cli.bounded(float, 0.001, 3600), default=1.0,
                    help="time per size and mode, up to 3600 (default %(default)s)")
    args = ap.parse_args(argv)
    sizes = [s for s in args.size.split(",") if s]
    bad = [s for s in sizes if s not in SIZES] + [b for b in args.backend.split(",") if b not in ("numpy", "torch")]
    if bad:
        raise UsageError(f"unknown size or backend {', '.join(bad)}")
    if not args.seconds > 0:
        raise UsageError("--seconds must be positive")
    set_threads(1)
    print("per-call time (µs, median) and ratio to the same arithmetic by hand (median of "
          f"per-round ratios), {args.dtype}, 1 thread; graph: the unchecked call replayed from a CUDA graph")
    print(f"{'backend/device':14} {'size':6} {'mode':7} {'L,m,d,K':>16} {'engine':>10} {'unchecked':>10} "
          f"{'graph':>10} {'hand':>10} {'autograd':>10} {'engine':>7} {'uncheck':>7} {'graph':>7} "
          f"{'autograd':>7}  rounds")
    for p, size, mode, t, r, n in rows(args.backend.split(","), args.device.split(","), sizes,
                                       args.seconds, args.dtype):
        shape = f"{p.L},{p.m},{p.d},{p.K}"
        print(f"{p.backend + '/' + p.device:14} {size:6} {mode:7} {shape:>16} {_us(t['engine'])} "
              f"{_us(t['unchecked'])} {_us(t.get('graph'))} {_us(t['hand'])} "
              f"{_us(t.get('autograd'))} {_x(r['engine'])} {_x(r['unchecked'])} "
              f"{_x(r.get('graph'))} {_x(r.get('autograd'))}  {n}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
