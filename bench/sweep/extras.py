"""What a row records beside its time, measured or derived outside the timed calls: exact
counts and whether they equal the closed form, counted, predicted and measured peak
memory, the calibrated time model's estimate, and a mode's own columns (its `extras` trait:
torch's flop count for the torch peers, the compile time of a compiling peer: JAX,
torch.compile). One untimed call's Result is the input (bench.sweep.timing._checked)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from modes import traits

from bench.sweep.floor import floor_seconds
from bench.sweep.memory import measured_peak_bytes
from bench.model import ITEMSIZE, predict_seconds
from bench.points import Point, predicted_memory

@dataclass
class Calibrations:
    """Where a sweep keeps its calibrations (root None: the time model is off, as in a bare
    `pytest bench/`), whether to measure them again, and those measured in this process.
    Made by the sweep's command and passed down (bench.sweep.timing.cases_to_run).
    measure False: only a calibration cached on disk is used (a dry run writes nothing)."""

    root: Path = None
    recalibrate: bool = False
    cache: dict = field(default_factory=dict)
    measure: bool = True
    show: bool = False
    seconds: float = 0.0
    """show: say on stderr what a calibration measures, stage by stage; seconds: the
    time spent calibrating in this process (the plan's estimate counts it)."""

    def for_point(self, point: Point):
        """The calibration of the point's configuration (backend, device, dtype, threads),
        measured once per process and cached on disk (bench.model), or None when off or
        when the device is missing."""
        if self.root is None:
            return None
        cfg = (point.backend, point.device, point.dtype, point.threads)
        if cfg not in self.cache:
            from modes import cuda_available
            from bench.model import calibration
            if point.device.startswith("cuda") and not cuda_available():
                return None
            t0 = time.monotonic()
            say = _stages("/".join(map(str, cfg[:3])) + f"/{cfg[3]}t") if self.show else None
            self.cache[cfg] = calibration(self.root, *cfg, recalibrate=self.recalibrate,
                                          measure=self.measure, say=say)
            self.seconds += time.monotonic() - t0
            if say is not None and say.started:
                print(f" done ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
        return self.cache[cfg]


def _stages(config: str):
    """say(stage) for bench.model.calibrate: a line on stderr naming what it measures,
    then each stage as it starts (ended by Calibrations.for_point with the time taken)."""
    def say(stage):
        if not say.started:
            print(f"sweep: calibrating the time model for {config} (once per machine, "
                  "cached under <results-dir>/calibration/):", end="", file=sys.stderr)
            say.started = True
        print(f" {stage}…", end="", file=sys.stderr, flush=True)
    say.started = False
    return say


OFF = Calibrations()
"""No time model: what a plan made without a calibration uses (never measures)."""


def describe(point: Point, mode: str, res, call, chain, cal=None) -> dict:
    """The extra columns of (point, mode), from the untimed Result `res` of `call`;
    time_model_s with the calibration `cal` when there is one; a mode's own extra
    columns from its `extras` trait."""
    out = {"floor_s": floor_seconds(point, mode)}
    item = ITEMSIZE.get(point.dtype, 8)
    tr = traits(mode)
    if tr.counts:
        ops = res.ops
        out.update(ops_mults=ops.mults, ops_adds=ops.adds, ops_total=ops.total,
                   mem_counted_bytes=item * res.mem["peak"])
        predicted = predicted_memory(point, mode)
        if predicted is not None:
            out["mem_predicted_bytes"] = item * predicted
        if point.exec == "eager":
            measured, why = measured_peak_bytes(call, point.backend, point.device)
            out.update(mem_measured_bytes=measured, mem_reason=why)
        else:  # a replay allocates only the copies out; the rest is the graph's, from capture
            out["mem_reason"] = "a CUDA graph's memory is its private pool, taken at capture"
        if cal is not None and point.exec == "eager":  # the model is of eager calls
            out["time_model_s"] = predict_seconds(cal, point, mode)
    else:
        out["mem_reason"] = "a peer's memory is its framework's (not counted)"
    if tr.extras is not None:
        out.update(tr.extras(chain, point.target, call))
    return out
