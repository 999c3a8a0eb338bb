"""Measured peak memory of one call, outside any timed region, to set beside the count.

numpy reports its array allocations to tracemalloc; torch's CUDA allocator keeps its own
peak (torch.cuda.max_memory_allocated, reset before the call). torch on the CPU has no
allocator statistics a process can read reliably, so its measured peak is left empty with
that reason.
"""
from __future__ import annotations

import tracemalloc

NO_TORCH_CPU = "torch CPU has no allocator statistics"


def measured_peak_bytes(call, backend: str, device: str = "cpu"):
    """(bytes above what was allocated before the call, or None; reason when None).
    `call` is run once; warm it up first so caches and plans are not counted."""
    if backend == "numpy":
        was = tracemalloc.is_tracing()
        if not was:
            tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            call()
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            if not was:
                tracemalloc.stop()
        return peak, ""
    if device.startswith("cuda"):
        import torch
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        call()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base, ""
    return None, NO_TORCH_CPU
