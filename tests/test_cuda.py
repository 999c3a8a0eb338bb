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
    from bench.sweep.memory import measured_peak_bytes
    c = Chain.random([512, 1024, 1024, 1], backend="torch", device="cuda", seed=1)
    x = c.random_x()
    call = lambda: MODES["forward"].gradient(c, x)  # noqa: E731
    counted = 8 * call().mem["peak"]
    measured, why = measured_peak_bytes(call, "torch", "cuda")
    assert why == "" and 1.0 <= measured / counted <= 1.5


# -- exec="graph": the plan captured once in a CUDA graph, replayed per call ---------------
GRAPH_CASES = [("gradient", {}), ("params", {"wrt": "params"}), ("jacobian", None)]


def _call(mode, target, kw, chain, x, **opts):
    e = MODES[mode]
    return e.jacobian(chain, x, **opts) if kw is None else e.gradient(chain, x, **kw, **opts)


def _answer(c, r):
    from bench.points import to_numpy_list
    return to_numpy_list(c.backend, r)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("mode", ["forward", "reverse", "cheapest"])
def test_graph_replay_equals_eager_for_every_target(mode, dtype, tol):
    """Every replay computes from its own x (16 inputs, each answer against eager on the
    same x), returns arrays of its own (a later replay does not overwrite an earlier
    answer), and the same counts and memory as the eager call."""
    c = Chain.random([12, 20, 20, 4], activation="tanh", loss="softmax_ce", bias=True,
                     backend="torch", device="cuda", dtype=dtype, seed=3)
    for target, kw in GRAPH_CASES:
        xs = [c.random_x(i) for i in range(16)]
        graphed = [_call(mode, target, kw, c, x, exec="graph") for x in xs]
        eager = [_call(mode, target, kw, c, x) for x in xs]
        for g, e in zip(graphed, eager):
            assert g.ops == e.ops and g.phases == e.phases and g.mem == e.mem
            assert abs(float(g.value.sum()) - float(e.value.sum())) <= tol * max(1.0, abs(float(e.value.sum())))
            for a, b in zip(_answer(c, g), _answer(c, e)):
                assert relerr(a, b) <= tol, (mode, target)
        assert relerr(_answer(c, graphed[0])[0], _answer(c, graphed[-1])[0]) > 0  # not overwritten


def test_graph_sees_weights_changed_in_place_and_recaptures_when_replaced():
    import torch
    c = Chain.random([8, 16, 4], activation="tanh", backend="torch", device="cuda", seed=1)
    x, eng = c.random_x(), MODES["reverse"]
    eng.gradient(c, x, exec="graph")
    layer = c.linear_layers[0]
    with torch.no_grad():
        layer.W.mul_(2.0)  # in place: the captured graph reads the same memory
    assert relerr(as_np(c, eng.gradient(c, x, exec="graph").grad), as_np(c, eng.gradient(c, x).grad)) <= 1e-12
    layer.W = layer.W * 0.5  # a new array: the plan is stale, recorded and captured anew
    assert relerr(as_np(c, eng.gradient(c, x, exec="graph").grad), as_np(c, eng.gradient(c, x).grad)) <= 1e-12


def test_graph_refuses_non_finite_x_and_answers():
    import math
    from modes import FwdrevError
    c = Chain.random([3, 4, 2], activation="tanh", backend="torch", device="cuda", seed=1)
    x = c.backend.asarray([1.0, math.inf, 0.5])
    with pytest.raises(FwdrevError, match="x contains NaN or inf"):
        MODES["reverse"].gradient(c, x, exec="graph")
    big = Chain.from_matrices([np.full((4, 4), 1e30)] * 2 + [np.ones((1, 4))], [0.0],
                              backend="torch", device="cuda", dtype="float32")
    with pytest.raises(FwdrevError, match="not finite"):
        MODES["forward"].gradient(big, big.backend.asarray(np.ones(4)), exec="graph")


def test_sweep_times_graph_rows_beside_eager_ones(tmp_path):
    """--device cuda: exec defaults to both; each graph row agrees with eager reverse."""
    import subprocess
    import sys
    from bench import store
    run = subprocess.run([sys.executable, "-m", "bench", "sweep", "--backend", "torch", "--device",
                          "cuda", "--m", "16,32,64", "--d", "m", "--max-time", "0.01",
                          "--results-dir", str(tmp_path), "--run-id", "g", "--no-model"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    rows = store.read_rows(tmp_path / "g" / "points.csv")
    execs = {(r["mode"], r["exec"]) for r in rows if r["status"] == "ok"}
    assert execs == {(m, e) for m in ("forward", "reverse") for e in ("eager", "graph")}
    assert all(float(r["grad_relerr"]) <= 1e-8 for r in rows if r["exec"] == "graph")
