"""The exec axis without a GPU: which points a grid makes, their keys, the one-line errors,
a graph configuration read back apart from the eager one, and the replay logic (static
input in, copies out, one capture per plan) against a stand-in graph with a CUDA graph's
static memory. Real capture and replay are in tests/test_cuda.py, which needs a GPU."""
import math
import time

import numpy as np

import pytest

from bench import report, store, sweep
from bench.errors import UsageError
from bench.report import analysis
from bench.sweep import grid, timing
from bench.points import Point, call_for
from bench.sweep.presets import ALL_MODES
from modes import ENGINES, MODES, Chain, FwdrevError


def _expand(**axes):
    return grid.expand(grid.subgrids(None, {k: grid.check_axis(k, v) for k, v in axes.items()}))


def test_auto_exec_is_eager_on_the_cpu_and_both_on_cuda_graph_for_engines_only():
    cpu = _expand(backend=["numpy", "torch"], mode=ALL_MODES, m=[8])
    assert {p.exec for p, _, _ in cpu} == {"eager"}
    cuda = _expand(backend=["numpy", "torch"], device=["cuda"], mode=ALL_MODES, m=[8])
    by_exec = {p.exec: modes for p, modes, _ in cuda}
    assert set(by_exec) == {"eager", "graph"} and len(cuda) == 2  # numpy has no GPU
    assert by_exec["eager"] == tuple(MODES)  # "all": every registered mode
    assert by_exec["graph"] == ENGINES  # a peer replays no graph: not a case at all


def test_exec_graph_off_cuda_is_a_one_line_error(tmp_path, capsys):
    assert sweep.main(["--exec", "graph", "--m", "8", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "exec graph on CUDA" in err
    assert not any(tmp_path.iterdir())  # nothing written
    with pytest.raises(UsageError, match="unknown exec 'fast'"):
        grid.check_axis("exec", ["fast"])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_engine_exec_graph_on_the_cpu_and_unknown_execs_are_refused(backend):
    c = Chain.random([3, 4, 2], backend=backend)
    for mode in ENGINES:
        with pytest.raises(FwdrevError, match="needs the torch backend on a CUDA device"):
            MODES[mode].gradient(c, c.random_x(), exec="graph")
        with pytest.raises(FwdrevError, match="unknown exec 'lazy'"):
            MODES[mode].jacobian(c, c.random_x(), exec="lazy")
    assert MODES["reverse"].gradient(c, c.random_x(), exec="eager").grad is not None


def test_point_keys_and_rows_carry_exec():
    eager, graph = Point(), Point(backend="torch", device="cuda", exec="graph")
    assert "exec" not in eager.key()  # eager points keep the keys they always had
    assert graph.key().endswith("/exec=graph") and graph.key() != Point(backend="torch", device="cuda").key()
    assert Point.from_dict(graph.as_dict()) == graph
    assert Point.from_dict({**eager.as_dict(), "exec": ""}) == eager  # a row from before exec
    with pytest.raises(UsageError, match="unknown exec"):
        Point(exec="jit")
    row = timing.base_row("r", graph, "reverse", [], 1e-8)
    assert row["exec"] == "graph" and timing.case_id({"point": graph.as_dict(), "mode": "reverse"}) \
        == "gradient-torch-cuda-graph-float64-t1-L1-m16-d16-K1-reverse"
    with pytest.raises(UsageError, match="mode autograd cannot run with exec 'graph'"):
        call_for("autograd", graph)


def test_graph_rows_are_a_configuration_of_their_own(tmp_path):
    """Made-up CUDA rows, eager and graph: the report's configurations, floors and ratios
    keep them apart (a graph's floor is its own, far below eager's)."""
    rows = []
    for point, modes, lines in _expand(backend=["torch"], device=["cuda"], d=["m"],
                                       m=[64, 256, 1024, 2048, 4096, 8192],
                                       mode=["forward", "reverse"]):
        for mode in modes:
            row = timing.base_row("g", point, mode, lines, 1e-8)
            floor = 30e-6 if point.exec == "graph" else 300e-6
            work = 2 * point.m ** (3 if mode == "forward" else 2) / 5e13
            t = floor + work
            row.update(status="ok", time_median_s=t, time_iqr_s=t / 20, time_min_s=t * 0.95,
                       ops_total=row["ops_predicted"], ops_exact=True, grad_relerr=0.0, rounds=5)
            rows.append(row)
    store.upsert_rows(tmp_path / "g" / "points.csv", rows)
    df = analysis.load(tmp_path / "g")
    labels = set(df.config)
    assert labels == {"torch/cuda/float64/1 thread", "torch/cuda graph/float64/1 thread"}
    floors = analysis.floors(df)
    assert math.isclose(floors[("torch/cuda graph/float64/1 thread", "reverse")] /
                        floors[("torch/cuda/float64/1 thread", "reverse")], 0.1, rel_tol=0.01)
    r = analysis.ratios(df)
    assert len(r) == 12 and set(r.exec) == {"eager", "graph"}
    # forward's m³ leaves a graph's 30 µs floor from m = 2048, eager's 300 µs only at 4096
    fits = {ln.config: analysis.fit(ln, "forward", floors[(ln.config, "forward")])
            for ln in analysis.find_lines(df) if ln.axis == "m"}
    assert fits["torch/cuda graph/float64/1 thread"]["n_fit"] == 3
    assert fits["torch/cuda/float64/1 thread"]["n_fit"] == 2
    assert fits["torch/cuda graph/float64/1 thread"]["slope"] == pytest.approx(3, abs=0.1)
    plots = tmp_path / "plots"
    assert report.main(["g", "--results-dir", str(tmp_path), "--plots-dir", str(plots)]) == 0
    assert "torch/cuda graph/float64/1 thread" in (plots / "g" / "REPORT.md").read_text()


# -- the replay logic on the CPU, with a stand-in for the CUDA graph -------------------------
class StaticMemoryGraph:
    """What a CUDA graph does to our outputs, without a GPU: the captured call's outputs are
    fixed memory that every replay overwrites in place, computing from the static input."""

    def __init__(self, fn, static_x):
        self.fn, self.x, self.replays = fn, static_x, 0
        self.out = fn(static_x)

    def replay(self):
        self.replays += 1
        for old, new in zip(_tensors(self.out), _tensors(self.fn(self.x))):
            old.copy_(new)


def _tensors(out):
    import torch
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out or () for t in _tensors(o)] if isinstance(out, (list, tuple)) else []


def capture_on_stand_in(c, monkeypatch) -> list:
    """Make torch chain c's backend capture with StaticMemoryGraph (and check answers the way
    it does on CUDA: every term summed, one read); the list the captured graphs go to."""
    graphs = []

    def fake(fn, static_x):
        graphs.append(StaticMemoryGraph(fn, static_x))
        return graphs[-1], graphs[-1].out
    monkeypatch.setattr(c.backend, "_cpu", False)
    monkeypatch.setattr(c.backend, "_cuda_graph", fake)
    return graphs


@pytest.fixture
def graphing_chain(monkeypatch):
    """A torch chain whose backend captures with StaticMemoryGraph, and its graphs."""
    c = Chain.random([5, 7, 7, 3], activation="tanh", loss="softmax_ce", bias=True,
                     backend="torch", seed=2)
    return c, capture_on_stand_in(c, monkeypatch)


@pytest.mark.parametrize("mode", ENGINES)
def test_replays_compute_from_their_own_x_and_return_arrays_of_their_own(graphing_chain, mode):
    from bench.points import to_numpy_list
    c, graphs = graphing_chain
    e = MODES[mode]
    calls = [lambda x, **kw: e.gradient(c, x, **kw), lambda x, **kw: e.gradient(c, x, wrt="params", **kw),
             lambda x, **kw: e.jacobian(c, x, **kw)]
    for call in calls:
        xs = [c.random_x(i) for i in range(6)]
        graphed = [call(x, exec="graph") for x in xs]  # all kept: none may change later
        for x, g in zip(xs, graphed):
            want = call(x)
            assert g.ops == want.ops and g.mem == want.mem
            for a, b in zip(to_numpy_list(c.backend, g), to_numpy_list(c.backend, want)):
                assert np.allclose(a, b, rtol=1e-13, atol=0)
    assert len(graphs) == 3 and [g.replays for g in graphs] == [6, 6, 6]  # one capture each


def test_a_replaced_weight_is_captured_anew_one_changed_in_place_is_seen(graphing_chain):
    import torch
    c, graphs = graphing_chain
    x, e = c.random_x(), MODES["reverse"]
    e.gradient(c, x, exec="graph")
    with torch.no_grad():
        c.linear_layers[1].W.mul_(3.0)
    assert torch.equal(e.gradient(c, x, exec="graph").grad, e.gradient(c, x).grad)
    assert len(graphs) == 1
    c.linear_layers[1].W = c.linear_layers[1].W * 0.5
    assert torch.equal(e.gradient(c, x, exec="graph").grad, e.gradient(c, x).grad)
    assert len(graphs) == 2


def test_a_graph_call_refuses_non_finite_x_with_one_check(graphing_chain):
    c, _ = graphing_chain
    x = c.backend.asarray([1.0, math.inf, 0.0, 2.0, -1.0])
    with pytest.raises(FwdrevError, match="x contains NaN or inf"):
        MODES["forward"].gradient(c, x, exec="graph")
    assert c.backend.all_finite(c.random_x(), c.backend.asarray(1.0)) and \
        not c.backend.all_finite(c.random_x(), c.backend.asarray(math.nan))


def test_the_sweeps_child_checks_and_records_graph_rows(tmp_path, monkeypatch):
    """A graph point through the sweep's child (bench.sweep.timing.run_case), with every torch
    backend capturing into the stand-in graph: each mode's replayed answer is held to eager
    reverse mode's, counts stay exact, the floor is the graph call's, and the row says exec
    graph with no eager-only columns."""
    from modes.torch_backend import TorchBackend
    from sweep_helpers import FakeBenchmark
    init = TorchBackend.__init__

    def as_if_cuda(self, *a, **kw):
        init(self, *a, **kw)
        self._cpu = False
    monkeypatch.setattr(TorchBackend, "__init__", as_if_cuda)
    graphs = []

    def stand_in(self, fn, x):
        graphs.append(StaticMemoryGraph(fn, x))
        return graphs[-1], graphs[-1].out
    monkeypatch.setattr(TorchBackend, "_cuda_graph", stand_in)
    point = Point(backend="torch", exec="graph", L=2, m=6, d=5, K=3, target="params")
    child = timing.Child()  # as in the child process: the point is built once for its modes
    for mode in ENGINES:
        timing.run_case(FakeBenchmark(), {"point": point.as_dict(), "mode": mode, "lines": ["g"],
                                          "tol": 1e-12, "run_id": "g", "est_s": 0.01}, tmp_path,
                        child)
    rows = store.read_rows(tmp_path / "points.csv")
    assert [r["mode"] for r in rows] == list(ENGINES) and {r["exec"] for r in rows} == {"graph"}
    for r in rows:
        assert r["status"] == "ok" and r["ops_exact"] == "True" and float(r["grad_relerr"]) < 1e-12
        assert float(r["floor_s"]) > 0 and r["time_model_s"] == "" and r["mem_measured_bytes"] == ""
        assert "graph" in r["mem_reason"] and r["point_key"].endswith("/exec=graph")
    # one capture per engine at the point and one for its floor; replayed when timed
    assert len(graphs) == 2 * len(ENGINES) and all(g.replays for g in graphs)


def test_a_floor_is_at_most_the_fastest_call_that_shares_it(tmp_path):
    """floor_s as read back: bounded by the fastest ok call measured with the same floor
    (same configuration, mode, target and L), and never by a call of another L."""
    rows = []
    for L, m, t, floor in [(2, 8, 20e-6, 50e-6), (2, 64, 90e-6, 50e-6), (8, 8, 200e-6, 120e-6)]:
        p = Point(L=L, m=m, d=m)
        row = timing.base_row("f", p, "reverse", ["x"], 1e-8)
        row.update(status="ok", time_median_s=t, time_iqr_s=t / 20, time_min_s=t, rounds=5,
                   ops_total=row["ops_predicted"], ops_exact=True, grad_relerr=0.0, floor_s=floor)
        rows.append(row)
    store.upsert_rows(tmp_path / "f" / "points.csv", rows)
    df = analysis.load(tmp_path / "f").sort_values(["L", "m"])
    assert list(df.floor_s) == [20e-6, 20e-6, 120e-6]


def test_a_slow_start_does_not_set_the_floor(monkeypatch):
    """A call slow for its first 20 runs (a cold process, a burst of other work): the warm-up
    and the quietest of the timed stretches leave it out."""
    from bench.sweep import floor as fl
    runs = []

    def call():
        runs.append(1)
        if len(runs) <= 20:
            time.sleep(0.002)
    monkeypatch.setattr(fl, "prepare", lambda p, modes: ({modes[0]: call}, {}))
    assert fl.floor_seconds(Point(L=5, m=3, d=3), "forward") < 1e-3
