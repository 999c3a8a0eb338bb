"""Array backends behind one small interface, so the engines never name numpy or torch.

A backend is an object with the methods of `Backend` below; `BACKENDS` maps a name to a
factory `make(device, dtype)`. Registering another (JAX, CuPy) is one class and one line
for the engines and the sweep's backend axis; the peers' conversions, the measured memory
(bench/sweep/memory.py) and the thread pools (bench.points.set_threads) name numpy and torch.
"""
from __future__ import annotations

import math

from .errors import FwdrevError, check, choose

DTYPES = ("float64", "float32")
OPERATORS = {"matmul": "@", "mul": "*", "add": "+", "sub": "-", "div": "/"}
"""numpy's and torch's arrays: these backend calls are the arrays' own operators."""


class Backend:
    """The array operations the engines need. Methods take and return backend arrays."""

    name = "abstract"
    test_x_first = True
    """Whether an engine call tests x before computing on it (numpy: computing on NaN or
    inf warns) or together with its answer after (torch: one host sync on CUDA for both)."""
    operators: dict = {}
    """Backend calls that are exactly the arrays' own binary operator ({"matmul": "@"}):
    a plan (modes.plan) writes the operator instead of calling the method."""

    def __init__(self, device: str, dtype: str):
        check(dtype in DTYPES, f"unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")
        self.device, self.dtype = device, dtype
        self._zeros = {}  # n → zeros(n), for all_finite

    def __repr__(self):
        return f"{self.name}:{self.device}:{self.dtype}"

    # Every method below is implemented by each backend.
    def asarray(self, data): raise NotImplementedError
    def owns(self, a) -> bool: raise NotImplementedError  # already this backend's dtype and device?
    def to_numpy(self, a): raise NotImplementedError
    def matmul(self, a, b): raise NotImplementedError
    def mul(self, a, b): raise NotImplementedError
    def add(self, a, b): raise NotImplementedError
    def sub(self, a, b): raise NotImplementedError
    def div(self, a, b): raise NotImplementedError
    def outer(self, u, v): raise NotImplementedError
    def func(self, name, a): raise NotImplementedError   # exp, log, tanh, sigmoid, relu, step
    def sum(self, a): raise NotImplementedError
    def max(self, a): raise NotImplementedError
    def colsum(self, a): raise NotImplementedError       # the sum of each column of a matrix
    def colmax(self, a): raise NotImplementedError       # the max of each column
    def coldot(self, a, b): raise NotImplementedError    # Σ_i a_ij b_ij for each column j
    def zeros(self, shape): raise NotImplementedError
    def eye(self, n): raise NotImplementedError
    def diag(self, v): raise NotImplementedError
    def diags(self, S): raise NotImplementedError        # n × B → B × n × n, diag(S[:, b]) each
    def expand(self, a, B): raise NotImplementedError    # B copies of a: B × (a's shape), new memory
    def hcat(self, blocks): raise NotImplementedError    # along the last axis; 2-D blocks beside
                                                         # batches (3-D) stand for every sample
    def reshape(self, a, shape): raise NotImplementedError
    def slice(self, a, start, stop): return a[start:stop]  # entries start..stop-1 of a vector
    def transpose(self, a): raise NotImplementedError
    def kron_eye(self, n, z): raise NotImplementedError   # I_n ⊗ zᵀ, n × n·len(z); for z
                                                          # k × B, B × n × n·k (one per column)
    def all_finite(self, *arrays) -> bool: raise NotImplementedError  # every entry of every one?
    def synchronize(self): pass

    def capture(self, fn, x):
        """fn(x) -> (value, grad, jac) captured once in a CUDA graph: a call(x) that replays
        it on x. Only where the backend runs on CUDA (TorchBackend)."""
        raise FwdrevError(f"exec 'graph' replays a CUDA graph: it needs the torch backend on "
                          f"a CUDA device, not {self.name} on {self.device}")

    SMALL = 1 << 16
    """Arrays up to this many entries are tested by one dot product with zeros: inf·0 and
    NaN·0 are NaN and anything finite gives exactly 0, so Σ_arrays a·0 is 0 when all are
    finite and NaN otherwise (one BLAS call per array where isfinite().all() is three
    library calls and a temporary; one device sync in all on CUDA). Larger arrays, where
    the zeros would double the memory read, by isfinite."""

    def _zeros_of(self, n):
        z = self._zeros.get(n)
        if z is None:
            z = self._zeros[n] = self.zeros((n,))
        return z


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self, device="cpu", dtype="float64"):
        super().__init__(device, dtype)
        check(device == "cpu", f"the numpy backend runs on the CPU only, not on device {device!r}")
        import numpy
        self.np = numpy
        self._dt = numpy.dtype(dtype)

    def asarray(self, data):
        return self.np.array(data, dtype=self._dt)  # a copy: the chain owns its arrays

    def owns(self, a):
        return isinstance(a, self.np.ndarray) and a.dtype == self._dt

    def to_numpy(self, a):
        return self.np.asarray(a)

    operators = OPERATORS
    def matmul(self, a, b): return a @ b
    def mul(self, a, b): return a * b
    def add(self, a, b): return a + b
    def sub(self, a, b): return a - b
    def div(self, a, b): return a / b
    def outer(self, u, v): return self.np.outer(u, v)

    def func(self, name, a):
        np = self.np
        if name == "sigmoid":  # 0.5(1 + tanh(z/2)) never overflows, unlike 1/(1 + e^{-z})
            return 0.5 * (1.0 + np.tanh(0.5 * a))
        if name == "relu":
            return np.maximum(a, 0)
        if name == "step":
            return (a > 0).astype(self._dt)
        return getattr(np, name)(a)

    def sum(self, a): return a.sum()
    def max(self, a): return a.max()
    def colsum(self, a): return a.sum(axis=0)
    def colmax(self, a): return a.max(axis=0)
    def coldot(self, a, b): return self.np.einsum("ij,ij->j", a, b)
    def zeros(self, shape): return self.np.zeros(shape, dtype=self._dt)
    def eye(self, n): return self.np.eye(n, dtype=self._dt)
    def diag(self, v): return self.np.diag(v)

    def diags(self, S):
        n, B = S.shape
        out = self.np.zeros((B, n, n), dtype=self._dt)
        at = self.np.arange(n)
        out[:, at, at] = S.T
        return out

    def expand(self, a, B): return self.np.broadcast_to(a, (B,) + a.shape).copy()

    def hcat(self, blocks):
        if all(b.ndim == 2 for b in blocks):
            return self.np.concatenate(blocks, axis=1)
        B = next(b.shape[0] for b in blocks if b.ndim == 3)
        np = self.np
        return np.concatenate([b if b.ndim == 3 else np.broadcast_to(b, (B,) + b.shape)
                               for b in blocks], axis=2)

    def reshape(self, a, shape): return a.reshape(shape)
    def transpose(self, a): return a.T
    def kron_eye(self, n, z):
        """I_n ⊗ zᵀ by writing z into the diagonal blocks of zeros: np.kron builds it
        through broadcasting temporaries (4–10× the time, and an n × n identity)."""
        k = z.shape[0]
        at = self.np.arange(n)
        if z.ndim == 2:  # one per sample
            B = z.shape[1]
            out = self.np.zeros((B, n, n * k), dtype=self._dt)
            out.reshape(B, n, n, k)[:, at, at] = z.T[:, None, :]
            return out
        out = self.np.zeros((n, n * k), dtype=self._dt)
        out.reshape(n, n, k)[at, at] = z
        return out

    def all_finite(self, *arrays):
        """Whether every entry of every array (or scalar) is finite (see Backend.SMALL)."""
        bad = 0.0
        for a in arrays:
            if getattr(a, "ndim", 0) == 0:
                if not math.isfinite(a):
                    return False
            elif a.size > self.SMALL or a.dtype != self._dt:
                if not self.np.isfinite(a).all():
                    return False
            else:
                bad += self.np.vdot(a, self._zeros_of(a.size))  # vdot: no FP warning
        return bool(bad == 0)


class TorchBackend(Backend):
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

    operators = OPERATORS
    def matmul(self, a, b): return a @ b
    def mul(self, a, b): return a * b
    def add(self, a, b): return a + b
    def sub(self, a, b): return a - b
    def div(self, a, b): return a / b
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


BACKENDS = {"numpy": NumpyBackend, "torch": TorchBackend}
"""name → backend class; `get_backend` instantiates one."""


def get_backend(name="numpy", device="cpu", dtype="float64") -> Backend:
    """The backend `name` on `device` computing in `dtype`, or a one-line FwdrevError."""
    return choose("backend", name, BACKENDS)(device=device, dtype=dtype)


def cuda_available() -> bool:
    """True where torch is importable and sees a CUDA GPU."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return torch.cuda.is_available()
