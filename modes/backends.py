"""Array backends behind one small interface, so the engines never name numpy or torch.

A backend is an object with the methods of `Backend` (modes.arrays); `BACKENDS` maps a
name to a factory `make(device, dtype)`. Registering another (JAX, CuPy) is one class and
one line for the engines and the sweep's backend axis; the peers' conversions, the measured
memory (bench/sweep/memory.py) and the thread pools (bench.points.set_threads) name numpy
and torch. The numpy backend is here, the torch backend in modes.torch_backend.
"""
from __future__ import annotations

import math

from .arrays import DTYPES, OPERATORS, Backend, OperatorBackend  # noqa: F401  (the interface, named here too)
from .errors import check, choose
from .torch_backend import TorchBackend


class NumpyBackend(OperatorBackend):
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
