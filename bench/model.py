"""A calibrated time model: what a call should take on this machine, product by product.

Calibration (per backend, device, dtype and threads; cached per exact machine fingerprint
in results/calibration/<hash>.json, redone with recalibrate=True) measures, in seconds:

* GEMM rate against the smallest dimension k of a product: (1024 × 1024)(1024 × k) for
  k = 1 … 1024 (a product with k = 1 is a GEMV: its "rate" is then memory-bound);
* read bandwidth against working set: y = A v over A from 16 KiB to 256 MiB, bytes read /
  time (through the cache levels: GEMV and elementwise steps read at this rate);
* write bandwidth against the size of a new array: u vᵀ from 16 KiB to 64 MiB (a fresh
  array above the allocator's threshold is new pages: the first write faults them in);
* the fixed cost of one backend call, for a product, an elementwise step and a view, and
  of one engine call (an L = 0, d = K = 1 chain, unchecked, less its steps): the floor.

Prediction: an engine call's plan (modes.plan.profile) lists every backend call with its
shapes. Each costs

    c_step + max(flops / R_gemm(k), bytes read / B(working set)) + bytes written / W(size)

(views cost c_step alone), and the call adds c_call. The working set is the chain's weights
plus the call's counted peak memory: repeated calls on one chain find it in cache when it
fits. A model, not a fit: nothing is scaled to the measured times.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import math
import time
from pathlib import Path

from bench import meta
from bench.points import Point, call_for, chain_for, set_threads
from bench.calcheck import calibration_problem
from bench.safefs import own_dir
from bench.store import write_json
from modes.plan import VIEWS
from modes.shapes import shape_plan

GEMM_K = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
BW_BYTES = tuple(2 ** e for e in range(14, 29, 1))  # 16 KiB … 256 MiB
WRITE_BYTES = tuple(2 ** e for e in range(14, 27, 2))  # 16 KiB … 64 MiB
ITEMSIZE = {"float64": 8, "float32": 4}


def _best(fn, budget=0.05, min_reps=3):
    """The fastest of repeated calls within `budget` seconds (after one warm-up)."""
    fn()
    best, t_end, n = math.inf, time.perf_counter() + budget, 0
    while n < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        n += 1
    return best


def calibrate(backend="numpy", device="cpu", dtype="float64", threads=1, say=None) -> dict:
    """Measure the model's constants on this machine (a few seconds); say(stage), when
    given, is called as each stage starts (the sweep shows them as progress)."""
    say = say or (lambda stage: None)
    from modes import get_backend
    import numpy as np
    set_threads(threads)
    b = get_backend(backend, device, dtype)
    sync = b.synchronize
    rng = np.random.default_rng(0)
    arr = lambda *shape: b.asarray(rng.standard_normal(shape))  # noqa: E731

    def timed(f):
        return _best(lambda: (f(), sync()))
    say("GEMM rate")
    A = arr(1024, 1024)
    gemm = {}
    for k in GEMM_K:
        B = arr(1024, k) if k > 1 else arr(1024)
        gemm[k] = 2 * 1024 * 1024 * k / timed(lambda: b.matmul(A, B))
    say("read bandwidth")
    bw = {}
    for nbytes in BW_BYTES:
        n = max(int(math.sqrt(nbytes / ITEMSIZE[dtype])), 1)
        bw[nbytes] = ITEMSIZE[dtype] * (n * n + 2 * n) / _gemv_seconds(timed, b, arr(n, n), arr(n))
    say("write bandwidth")
    write = {}
    for nbytes in WRITE_BYTES:
        n = max(int(math.sqrt(nbytes / ITEMSIZE[dtype])), 1)
        u = arr(n)
        write[nbytes] = ITEMSIZE[dtype] * n * n / timed(lambda: b.outer(u, u))
    say("per-call costs")
    a2, v2 = arr(2, 2), arr(2)
    c = {"matmul": timed(lambda: b.matmul(a2, v2)), "elementwise": timed(lambda: b.sub(v2, v2)),
         "view": timed(lambda: b.reshape(a2, (-1,)))}
    p = Point(backend=backend, device=device, dtype=dtype, threads=threads, L=0, m=1, d=1, K=1)
    chain = chain_for(p)
    x = chain.random_x(1)
    call = call_for("reverse", p, check=False)
    steps = sum(c[_kind(name)] for name, _, _ in shape_plan(p.widths, "reverse", "gradient")[0])
    c_call = max(_best(lambda: (call(chain, x), sync())) - steps, 0.0)
    c_peer = _peer_costs(chain, x)
    return {"backend": backend, "device": device, "dtype": dtype, "threads": threads,
            "c_peer_s": c_peer,
            "gemm_rate": {str(k): v for k, v in gemm.items()},
            "bandwidth": {str(k): v for k, v in bw.items()},
            "write_bandwidth": {str(k): v for k, v in write.items()},
            "c_step_s": c, "c_call_s": c_call, "date": meta.utc_now(),
            "cache_boundary_bytes": cache_boundary(bw)}


FALL = 1.5
"""A working set is in cache while it reads at least FALL × the bandwidth of the largest."""


def cache_boundary(bandwidth: dict):
    """The measured cache boundary: the largest working set (bytes) at or beyond the fastest
    one that still reads at ≥ FALL × the bandwidth of the largest set (DRAM); None where
    the bandwidth does not fall within the sizes measured.
    Weights beyond it stream from memory: "beyond cache"."""
    sizes = sorted(int(k) for k in bandwidth)
    if len(sizes) < 4:
        return None
    bw = [float(bandwidth[str(k)] if str(k) in bandwidth else bandwidth[k]) for k in sizes]
    dram = bw[-1]
    peak = max(range(len(bw)), key=bw.__getitem__)
    fast = [s for s, b in zip(sizes[peak:], bw[peak:]) if b >= FALL * dram]
    return fast[-1] if fast and fast[-1] < sizes[-1] else None


def machine_boundary(calibrations: dict):
    """The machine's measured cache boundary from a run's calibrations (meta.json's
    `calibration`): that of the first one-thread CPU calibration, else the first."""
    cals = sorted((calibrations or {}).items(),
                  key=lambda kv: (kv[1].get("threads") != 1, kv[1].get("device") != "cpu", kv[0]))
    for _, cal in cals:
        if cal.get("bandwidth"):
            return cal.get("cache_boundary_bytes") or cache_boundary(cal["bandwidth"])
    return None


def _gemv_seconds(timed, b, M, v) -> float:
    """The best time of M v (M is freed on return, before the next, larger one is made)."""
    return timed(lambda: b.matmul(M, v))


def _peer_costs(chain, x) -> dict:
    """{peer: seconds of its timed call on the L = 0, d = K = 1 chain}: a peer's fixed cost
    (a peer that compiles for seconds per shape, torch-compile, is left to the default)."""
    from modes import MODES, FwdrevError, traits
    out = {}
    for mode in MODES:
        t = traits(mode)
        if t.counts or t.compile_s > 1.0 or t.missing():
            continue
        prepare, sync = getattr(MODES[mode], "prepare", None), chain.backend.synchronize
        try:  # a peer's timed call (a bare plugin's: its gradient and the device's wait)
            call = prepare(chain, x, "gradient").call if prepare else \
                (lambda m=MODES[mode]: (m.gradient(chain, x, check=False), sync()))
            out[mode] = _best(call, budget=0.02)
        except FwdrevError:  # jax not installed: no cost to measure
            pass
    return out


def _kind(name) -> str:
    return "view" if name in VIEWS else "matmul" if name == "matmul" else "elementwise"


def _key(backend, device, dtype, threads) -> str:
    fp = json.dumps([meta.fingerprint(), backend, device, dtype, threads], sort_keys=True)
    return hashlib.sha256(fp.encode()).hexdigest()[:16]


def calibration(root: Path, backend="numpy", device="cpu", dtype="float64", threads=1,
                recalibrate=False, measure=True, say=None):
    """The cached calibration for this exact machine and setting, measured when missing,
    damaged (bench.calcheck) or asked for again; None when it would have to be measured
    and measure is False."""
    folder = own_dir(Path(root) / "calibration")
    path = folder / f"{backend}-{device.replace(':', '')}-{dtype}-{threads}t-" \
        f"{_key(backend, device, dtype, threads)}.json"
    if not recalibrate:
        try:
            cal = json.loads(path.read_text())
            if calibration_problem(cal, backend) is None:
                return cal
        except (OSError, ValueError):
            pass
    if not measure:
        return None
    cal = calibrate(backend, device, dtype, threads, **({'say': say} if say else {}))
    try:
        write_json(path, cal)
    except OSError:
        pass  # a cache that cannot be written is measured again next time
    return cal


# -- prediction ------------------------------------------------------------------------------
def _lookup(table: dict, x: float) -> float:
    """Log-linear interpolation in a {size: value} table, clamped at both ends."""
    keys = sorted(int(k) for k in table)
    vals = [table[str(k)] for k in keys]
    if x <= keys[0]:
        return vals[0]
    if x >= keys[-1]:
        return vals[-1]
    i = bisect.bisect_right(keys, x)
    f = (math.log(x) - math.log(keys[i - 1])) / (math.log(keys[i]) - math.log(keys[i - 1]))
    return math.exp((1 - f) * math.log(vals[i - 1]) + f * math.log(vals[i]))


def _size(shape) -> int:
    if shape is None:
        return 1
    if isinstance(shape, list):
        return sum(_size(s) for s in shape)
    n = 1
    for d in shape:
        n *= d
    return n


def step_seconds(cal: dict, name, arg_shapes, out_shape, working_set: int) -> float:
    """One backend call's modelled time: c_step[kind] + max(flops / R_gemm(k), bytes read /
    B(working set)) + bytes written / W(bytes written). k = min(n, m, l) of an (n × m)(m × l)
    product (a vector is one wide: a GEMV has k = 1), a stack of them (a batch's
(…, n, m)(…, m, l)) as many such products; each table is interpolated log-linearly
    in size and clamped at its ends; a view costs c_step["view"] alone; a scalar argument or
    result (shape None) is one element."""
    kind = _kind(name)
    if kind == "view":
        return cal["c_step_s"]["view"]
    item = ITEMSIZE[cal["dtype"]]
    read = item * sum(_size(s) for s in arg_shapes if s is not None)
    written = item * _size(out_shape)
    t_mem = read / _lookup(cal["bandwidth"], max(working_set, 1))
    t_flop = 0.0
    if name == "matmul":
        a, b = arg_shapes
        n, m = (1, a[0]) if len(a) == 1 else tuple(a[-2:])
        l = 1 if len(b) == 1 else b[-1]
        stack = max(_size(out_shape) // max(n * l, 1), 1)  # a batch's stacked products
        t_flop = stack * 2 * n * m * l / _lookup(cal["gemm_rate"], max(min(n, m, l), 1))
    return cal["c_step_s"][kind] + max(t_flop, t_mem) + written / _lookup(cal["write_bandwidth"], written)


def predict_seconds(cal: dict, point: Point, mode: str) -> float:
    """The modelled time of one call of engine `mode` at `point`: its plan's steps (run on
    shapes, modes.shapes: the same steps as the real call's plan), with the weights plus
    the call's counted peak as the working set."""
    profile, _, mem = shape_plan(point.widths, mode, point.target, **point.layers, B=point.batch)
    working_set = ITEMSIZE[cal["dtype"]] * (weight_elements(point.widths) + mem["peak"])
    return profile_seconds(cal, profile, working_set)


def weight_elements(widths) -> int:
    """The number of weights of a linear chain of these widths."""
    return sum(a * b for a, b in zip(widths, widths[1:]))


def profile_seconds(cal: dict, profile, working_set: int) -> float:
    """The modelled time of a call whose plan has these steps."""
    return cal["c_call_s"] + sum(step_seconds(cal, n, a, o, working_set) for n, a, o in profile)

