"""The engines on a CUDA GPU, against the CPU answer (skipped where no GPU is present)."""
import numpy as np
import pytest

from modes import MODES, Chain, predict

from conftest import as_np, relerr, requires_cuda

pytestmark = [pytest.mark.cuda, requires_cuda]


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("activation", [None, "tanh"])
def test_cuda_matches_cpu(dtype, tol, activation):
    widths = [12, 20, 20, 20, 4]
    cpu = Chain.random(widths, activation=activation, backend="torch", dtype="float64", seed=5)
    gpu = Chain.random(widths, activation=activation, backend="torch", device="cuda", dtype=dtype, seed=5)
    x_cpu, x_gpu = cpu.random_x(), gpu.random_x()
    for mode in ("forward", "reverse"):
        eng = MODES[mode]
        g = eng.gradient(gpu, x_gpu)
        assert g.grad.device.type == "cuda"
        assert relerr(as_np(gpu, g.grad), as_np(cpu, eng.gradient(cpu, x_cpu).grad)) <= tol
        assert relerr(as_np(gpu, eng.jacobian(gpu, x_gpu).jac), as_np(cpu, eng.jacobian(cpu, x_cpu).jac)) <= tol
        pg = eng.gradient(gpu, x_gpu, wrt="params").grad
        pc = eng.gradient(cpu, x_cpu, wrt="params").grad
        for a, b in zip(pg, pc):
            assert relerr(as_np(gpu, a[0]), as_np(cpu, b[0])) <= tol


def test_cuda_counts_equal_closed_form():
    L, m, d, K = 3, 16, 8, 2
    c = Chain.random([d] + [m] * L + [K], backend="torch", device="cuda")
    for mode in ("forward", "reverse"):
        assert MODES[mode].gradient(c, c.random_x()).ops == predict.gradient_ops(mode, L, m, d, K)
