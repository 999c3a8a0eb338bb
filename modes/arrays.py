"""The interface every array backend implements (`Backend`), with the dtypes a chain may
compute in and the backend calls that are the arrays' own operators.

The backends themselves are modes.backends (numpy, and the registry) and
modes.torch_backend; modes.shapes computes the same calls on shapes.
"""
from __future__ import annotations

from .errors import FwdrevError, check

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


class OperatorBackend(Backend):
    """A backend whose arrays have Python's operators (numpy's and torch's): its matmul,
    mul, add, sub and div are those operators, and a plan writes them as such."""

    operators = OPERATORS
    def matmul(self, a, b): return a @ b
    def mul(self, a, b): return a * b
    def add(self, a, b): return a + b
    def sub(self, a, b): return a - b
    def div(self, a, b): return a / b
