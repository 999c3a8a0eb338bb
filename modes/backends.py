"""Array backends behind one small interface, so the engines never name numpy or torch.

A backend is an object with the methods of `Backend` below; `BACKENDS` maps a name to a
factory `make(device, dtype)`. Registering another (JAX, CuPy) is one class and one line.
"""
from __future__ import annotations

import math

from .errors import FwdrevError, check, choose

DTYPES = ("float64", "float32")


class Backend:
    """The array operations the engines need. Methods take and return backend arrays."""

    name = "abstract"

    def __init__(self, device: str, dtype: str):
        check(dtype in DTYPES, f"unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")
        self.device, self.dtype = device, dtype

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
    def zeros(self, shape): raise NotImplementedError
    def eye(self, n): raise NotImplementedError
    def diag(self, v): raise NotImplementedError
    def hcat(self, blocks): raise NotImplementedError
    def reshape(self, a, shape): raise NotImplementedError
    def slice(self, a, start, stop): return a[start:stop]  # entries start..stop-1 of a vector
    def transpose(self, a): raise NotImplementedError
    def kron_eye(self, n, z): raise NotImplementedError   # I_n ⊗ zᵀ, n × n·len(z)
    def _all_finite(self, a) -> bool: raise NotImplementedError
    def synchronize(self): pass

    def all_finite(self, a) -> bool:
        """Whether every entry of a is finite; a scalar by math.isfinite (no library call)."""
        if getattr(a, "ndim", 0) == 0:
            return math.isfinite(a)
        return self._all_finite(a)


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
    def zeros(self, shape): return self.np.zeros(shape, dtype=self._dt)
    def eye(self, n): return self.np.eye(n, dtype=self._dt)
    def diag(self, v): return self.np.diag(v)
    def hcat(self, blocks): return self.np.concatenate(blocks, axis=1)
    def reshape(self, a, shape): return a.reshape(shape)
    def transpose(self, a): return a.T
    def kron_eye(self, n, z): return self.np.kron(self.eye(n), z.reshape(1, -1))
    def _all_finite(self, a): return bool(self.np.isfinite(a).all())


class TorchBackend(Backend):
    name = "torch"

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
        self._zeros = {}

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
    def zeros(self, shape): return self.torch.zeros(shape, dtype=self._dt, device=self._dev)
    def eye(self, n): return self.torch.eye(n, dtype=self._dt, device=self._dev)
    def diag(self, v): return self.torch.diag(v)
    def hcat(self, blocks): return self.torch.cat(blocks, dim=1)
    def reshape(self, a, shape): return a.reshape(shape)
    def transpose(self, a): return a.T
    def kron_eye(self, n, z): return self.torch.kron(self.eye(n), z.reshape(1, -1))
    SMALL = 1 << 16

    def _all_finite(self, a):
        """Up to SMALL entries by one dot product with zeros (inf·0 and NaN·0 are NaN,
        anything finite gives 0: one kernel and one sync, where isfinite().all() takes
        three kernels, 4x the time on a small CPU tensor); larger ones by isfinite."""
        n = a.numel()
        if n > self.SMALL:
            return bool(self.torch.isfinite(a).all())
        z = self._zeros.get(n)
        if z is None:
            z = self._zeros[n] = self.zeros((n,))
        return math.isfinite(a.reshape(-1) @ z)

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
