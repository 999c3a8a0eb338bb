"""The torch backend: the engines' array operations on torch tensors, CPU or CUDA, with
the CUDA-graph capture behind exec "graph"."""
from __future__ import annotations

import math

from .arrays import OperatorBackend
from .errors import FwdrevError, check


class TorchBackend(OperatorBackend):
    name = "torch"
    test_x_first = False

    def __init__(self, device="cpu", dtype="float64"):
        super().__init__(device, dtype)
        import torch
        self.torch = torch
        check(device in ("cpu", "cuda") or device.startswith("cuda:"),
              f"unknown device {device!r} (known: cpu, cuda)")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise FwdrevError(f"device {device!r} requested but torch sees no CUDA GPU here")
        self._dt = getattr(torch, dtype)
        self._dev = torch.device(device)
        self._cpu = self._dev.type == "cpu"

    def asarray(self, data):
        t = self.torch
        if isinstance(data, t.Tensor):
            return data.detach().to(device=self._dev, dtype=self._dt).clone()
        import numpy
        return t.as_tensor(numpy.asarray(data, dtype=str(self.dtype)), device=self._dev).clone()

    def owns(self, a):
        """A tensor of this dtype and device outside autograd (requires_grad=False): one
        that requires grad is copied, detached, so the engines never build a torch graph."""
        return (isinstance(a, self.torch.Tensor) and a.dtype == self._dt
                and a.device == self._dev and not a.requires_grad)

    def to_numpy(self, a):
        return a.detach().cpu().numpy()

    def outer(self, u, v): return self.torch.outer(u, v)

    def func(self, name, a):
        t = self.torch
        if name == "step":
            return (a > 0).to(self._dt)
        return getattr(t, name)(a)

    def sum(self, a): return a.sum()
    def max(self, a): return a.max()
    def colsum(self, a): return a.sum(0)
    def colmax(self, a): return a.amax(0)
    def coldot(self, a, b): return self.torch.einsum("ij,ij->j", a, b)
    def zeros(self, shape): return self.torch.zeros(shape, dtype=self._dt, device=self._dev)
    def eye(self, n): return self.torch.eye(n, dtype=self._dt, device=self._dev)
    def diag(self, v): return self.torch.diag(v)
    def diags(self, S): return self.torch.diag_embed(S.T)
    def expand(self, a, B): return a.expand(B, *a.shape).contiguous()

    def hcat(self, blocks):
        if all(b.dim() == 2 for b in blocks):
            return self.torch.cat(blocks, dim=1)
        B = next(b.shape[0] for b in blocks if b.dim() == 3)
        return self.torch.cat([b if b.dim() == 3 else b.expand(B, *b.shape) for b in blocks], dim=2)

    def reshape(self, a, shape): return a.reshape(shape)
    def transpose(self, a): return a.T

    def kron_eye(self, n, z):
        if z.dim() == 2:  # one per sample: B × n × n·k
            k, B = z.shape
            return (self.eye(n)[None, :, :, None] * z.T[:, None, None, :]).reshape(B, n, n * k)
        return self.torch.kron(self.eye(n), z.reshape(1, -1))

    def all_finite(self, *arrays):
        """Whether every entry of every tensor (or scalar) is finite (see Backend.SMALL). On
        the CPU array by array, stopping at the first bad one; on CUDA the terms are summed
        on the device and read once: one host sync for everything. (Written for a few µs a
        call: each torch call and attribute read here costs a noticeable part of one.)"""
        tensor, cpu, bad = self.torch.Tensor, self._cpu, None
        for a in arrays:
            if not isinstance(a, tensor) or (cpu and a.dim() == 0):
                if not math.isfinite(a):
                    return False
                continue
            n = a.numel()
            if n > self.SMALL or a.dtype != self._dt:
                term = (~self.torch.isfinite(a).all()).to(self._dt)  # 1 if any is not finite
            elif a.dim() == 1:
                term = a @ self._zeros_of(n)
            else:  # (reshape is a library call too: only where a is not a vector)
                term = a.reshape(-1) @ self._zeros_of(n)
            if cpu:
                if term.item() != 0:
                    return False
            else:
                bad = term if bad is None else bad + term
        return bad is None or bad.item() == 0

    WARMUP = 3
    """Eager runs before a capture, on the capture's stream: lazy initialisation (cuBLAS
    handles and workspaces, the allocator's blocks) must not happen inside it."""

    def capture(self, fn, x):
        """fn(x) -> (value, grad, jac) captured once in a CUDA graph on a static copy of x;
        returns call(x): copy x in, replay, and return copies of the outputs (the graph
        writes them to the same memory on every replay). fn must not synchronise with the
        host — a plan never does: it is backend calls only (modes.plan)."""
        if self._cpu:
            return super().capture(fn, x)
        static_x = x.clone()
        graph, out = self._cuda_graph(fn, static_x)
        copy = self._copy

        def replay(x):
            static_x.copy_(x)
            graph.replay()
            return copy(out)
        return replay

    def _cuda_graph(self, fn, static_x):
        """(graph, its outputs): fn(static_x) captured in a torch.cuda.CUDAGraph, after
        WARMUP eager runs on the stream the capture then uses (per-stream library handles
        are made outside the capture), as torch's CUDA-graph notes do it."""
        cuda = self.torch.cuda
        stream = cuda.Stream(device=self._dev)
        stream.wait_stream(cuda.current_stream(self._dev))
        with cuda.stream(stream):
            for _ in range(self.WARMUP):
                fn(static_x)
        graph = cuda.CUDAGraph()
        with cuda.graph(graph, stream=stream):
            out = fn(static_x)
        cuda.current_stream(self._dev).wait_stream(stream)
        return graph, out

    def _copy(self, out):
        """Each tensor of a nested (tuple | list | tensor | None | number) copied."""
        if isinstance(out, self.torch.Tensor):
            return out.clone()
        if isinstance(out, (list, tuple)):
            return type(out)(self._copy(o) for o in out)
        return out

    def synchronize(self):
        if self._dev.type == "cuda":
            self.torch.cuda.synchronize(self._dev)
