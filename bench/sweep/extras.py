"""What a row records beside its time, measured or derived outside the timed calls: exact
counts and whether they equal the closed form, counted, predicted and measured peak
memory, the calibrated time model's estimate, torch's own flop count for a peer, and
JAX's compile time. One untimed call's Result is the input (bench.sweep.timing._checked)."""
from __future__ import annotations

import contextlib

from modes import ENGINES, predict

from bench.sweep.floor import floor_seconds
from bench.sweep.memory import measured_peak_bytes
from bench.model import ITEMSIZE, predict_seconds
from bench.points import Point

CALIBRATION = {"root": None, "recalibrate": False, "cache": {}, "measure": True}
"""Where the sweep keeps calibrations (None: the time model is off, as in a bare
`pytest bench/`), whether to measure them again, those measured in this process, and
whether one may be measured at all (a dry run only reads the cache)."""


@contextlib.contextmanager
def cached_only():
    """Within: a calibration is read from the cache but never measured (a dry run)."""
    CALIBRATION["measure"] = False
    try:
        yield
    finally:
        CALIBRATION["measure"] = True


def calibration_for(point: Point):
    """The calibration of the point's configuration (backend, device, dtype, threads),
    measured once per process and cached on disk (bench.model), or None when off or when
    the device is missing."""
    root = CALIBRATION["root"]
    if root is None:
        return None
    cfg = (point.backend, point.device, point.dtype, point.threads)
    if cfg not in CALIBRATION["cache"]:
        from modes import cuda_available
        from bench.model import calibration
        if point.device.startswith("cuda") and not cuda_available():
            return None
        CALIBRATION["cache"][cfg] = calibration(root, *cfg, recalibrate=CALIBRATION["recalibrate"],
                                                measure=CALIBRATION.get("measure", True))
    return CALIBRATION["cache"][cfg]


def describe(point: Point, mode: str, res, call, chain, cal=None) -> dict:
    """The extra columns of (point, mode), from the untimed Result `res` of `call`;
    time_model_s with the calibration `cal` when there is one."""
    out = {"floor_s": floor_seconds(point, mode)}
    item = ITEMSIZE.get(point.dtype, 8)
    if mode in ENGINES:
        ops = res.ops
        out.update(ops_mults=ops.mults, ops_adds=ops.adds, ops_total=ops.total,
                   mem_counted_bytes=item * res.mem["peak"])
        if point.uniform and mode in ("forward", "reverse"):
            out["mem_predicted_bytes"] = item * predict.memory_peak(
                point.target, mode, point.L, point.m, point.d, point.K)
        if point.exec == "eager":
            measured, why = measured_peak_bytes(call, point.backend, point.device)
            out.update(mem_measured_bytes=measured, mem_reason=why)
        else:  # a replay allocates only the copies out; the rest is the graph's, from capture
            out["mem_reason"] = "a CUDA graph's memory is its private pool, taken at capture"
        if cal is not None and point.exec == "eager":  # the model is of eager calls
            out["time_model_s"] = predict_seconds(cal, point, mode)
    else:
        out["mem_reason"] = "a peer's memory is its framework's (not counted)"
        out["flops_torch"] = _torch_flops(call) if not mode.startswith("jax") else None
        if mode.startswith("jax"):
            from modes import jax_peers
            out["compile_s"] = jax_peers.compile_seconds(chain, point.target)
    return out


def _torch_flops(call):
    """torch's FlopCounterMode count of one call, in its own convention (2·n·m·l per
    product), with matrix-vector and dot products counted too (2·n·m, 2·n): torch's table
    leaves them out, and they are all a gradient in x is made of."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    aten = torch.ops.aten
    counter = FlopCounterMode(display=False, custom_mapping={
        aten.mv: lambda a, b, *r, out_shape=None, **k: 2 * a[0] * a[1],
        aten.dot: lambda a, b, *r, out_shape=None, **k: 2 * a[0]})
    with counter:
        call()
    return counter.get_total_flops()
