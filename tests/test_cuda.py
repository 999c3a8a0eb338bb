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


def test_cuda_replayed_plans_equal_recorded_ones_and_count_memory():
    widths = [12, 20, 20, 4]
    for mode in ("forward", "reverse", "cheapest"):
        a = Chain.random(widths, activation="tanh", backend="torch", device="cuda", seed=2)
        b = Chain.random(widths, activation="tanh", backend="torch", device="cuda", seed=2)
        x1, x2 = a.random_x(1), a.random_x(2)
        MODES[mode].gradient(a, x1)
        replayed, recorded = MODES[mode].gradient(a, x2, check=False), MODES[mode].gradient(b, x2)
        assert bool((replayed.grad == recorded.grad).all()) and replayed.mem == recorded.mem


@pytest.mark.parametrize("peer", ["autograd", "func-rev", "func-fwd"])
def test_cuda_peers_agree_with_the_engines(peer):
    c = Chain.random([6, 9, 4], activation="sigmoid", loss="softmax_ce", backend="torch",
                     device="cuda", bias=True, seed=4)
    x = c.random_x()
    got, want = MODES[peer].gradient(c, x), MODES["reverse"].gradient(c, x)
    assert got.grad.device.type == "cuda"
    assert relerr(as_np(c, got.grad), as_np(c, want.grad)) <= 1e-10


def test_cuda_measured_memory_is_at_least_the_count():
    from bench.memory import measured_peak_bytes
    c = Chain.random([512, 1024, 1024, 1], backend="torch", device="cuda", seed=1)
    x = c.random_x()
    call = lambda: MODES["forward"].gradient(c, x)  # noqa: E731
    counted = 8 * call().mem["peak"]
    measured, why = measured_peak_bytes(call, "torch", "cuda")
    assert why == "" and 1.0 <= measured / counted <= 1.5
