"""The B axis through a real sweep: every batched row's counts and memory equal the closed
forms in B (modes.predict, independent of the engines), the answers agree per sample, every
peer batches (autograd on the summed loss, torch.func by vmap, hand by stacked products) and
agrees, B = 1 keeps the keys and inputs of a point made before the axis, and a bad B is a
one-line error with nothing written."""
import numpy as np
import pytest

from bench import store
from bench.points import Point, prepare, x_for
from modes import Chain, counted, predict

from sweep_helpers import MICRO, run_sweep

BS = (1, 4, 16)


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    assert run_sweep(root, *MICRO, "--B", ",".join(map(str, BS)), "--target",
                     "gradient,params,jacobian", "--K", "3", "--activation", "none,relu",
                     "--mode", "forward,reverse,cheapest,hand,autograd,func-rev", "--run-id", "b") == 0
    return store.read_rows(root / "b" / "points.csv")


def test_every_batched_row_counts_its_closed_form_in_B(batch_run):
    """A count that ignored B (or priced a W_i per sample in the cheapest plan) differs
    from modes.predict's closed form, which is computed here from the widths alone."""
    seen = set()
    for r in batch_run:
        if r["mode"] in ("hand", "autograd", "func-rev"):
            continue
        assert r["status"] == "ok", r["reason"]
        B, act, w = int(r["B"]), r["activation"] == "relu", [int(r["d"]), int(r["m"]), int(r["K"])]
        mode, target = r["mode"], r["target"]
        if mode == "cheapest":
            want = predict.cheapest_total(target, w, activation=act, B=B)
        elif target == "params":
            want = predict.params_ops_widths(mode, w, activation=act, B=B).total
        else:
            want = getattr(predict, f"{target}_ops_widths")(mode, w, activation=act, B=B).total
        assert int(r["ops_total"]) == want == int(r["ops_predicted"]), r["point_key"]
        if mode != "cheapest" and not act:  # the uniform linear chain's memory closed form
            L, m, d, K = 1, w[1], w[0], w[2]
            assert int(r["mem_counted_bytes"]) == 8 * predict.memory_peak(target, mode, L, m, d, K, B=B)
            assert r["mem_predicted_bytes"] == r["mem_counted_bytes"]
        seen.add(B)
    assert seen == set(BS)


def test_every_peer_agrees_per_sample_on_every_batch(batch_run):
    """autograd on a batch differentiates the summed loss (each column its own sample's
    gradient), the mean loss for the parameters and Ŷ's row sums for the Jacobian;
    func-rev is torch.func.vmap of grad / jacrev; hand the stacked products. Each is an
    oracle outside the engines: its answers equal reverse mode's, sample by sample. hand
    is skipped on the ReLU chain (it is written for linear ones) and only there."""
    for mode in ("autograd", "func-rev", "hand"):
        rows = [r for r in batch_run if r["mode"] == mode]
        assert {r["B"] for r in rows} == {str(b) for b in BS} and len(rows) == 3 * 2 * 2 * len(BS)
        for r in rows:
            if mode == "hand" and r["activation"] == "relu":
                assert r["status"] == "skipped" and "relu" in r["reason"], r
                continue
            assert r["status"] == "ok" and float(r["grad_relerr"]) < 1e-10, (mode, r["point_key"], r["reason"])


def test_the_keys_of_one_x_points_are_those_before_the_axis(batch_run):
    """B = 1 leaves the key as it was (the implicit rule); B > 1 names it last."""
    for r in batch_run:
        assert ("B=" in r["point_key"]) == (r["B"] != "1"), r["point_key"]
        if r["B"] != "1":
            assert r["point_key"].endswith(f"/B={r['B']}")
    assert Point(L=2, m=8, d=8).key() == ("backend=numpy/device=cpu/dtype=float64/threads=1/"
                                          "target=gradient/L=2/m=8/d=8/K=1")


def test_one_x_is_todays_input_and_a_batch_its_columns():
    """B = 1 draws x ∈ R^d exactly as before; a batch of B is d × B."""
    p, c = Point(L=1, m=4, d=5), Chain.random([5, 4, 1], seed=0)
    assert np.array_equal(x_for(p, c), c.random_x(1)) and x_for(p, c).shape == (5,)
    assert x_for(Point(L=1, m=4, d=5, B=3), c).shape == (5, 3)


def test_batched_answers_agree_with_one_x_calls_sample_by_sample():
    """The batch's j-th gradient is the one-x gradient at column j (an oracle outside the
    batch code: the one-x engines, themselves checked against torch.autograd)."""
    p = Point(L=2, m=6, d=5, K=3, B=4, activation="relu", target="jacobian")
    calls, res = prepare(p, ("forward", "reverse", "cheapest"))
    c = Chain.random(p.widths, seed=0, activation="relu")
    x = x_for(p, c)
    from modes import MODES
    for j in range(p.B):
        one = MODES["reverse"].jacobian(c, np.ascontiguousarray(x[:, j])).jac
        for mode in res:
            assert np.allclose(res[mode].jac[j], one, rtol=1e-12, atol=1e-12), mode
    assert counted.bracketing("jacobian", p.widths, "relu", B=4) == res["cheapest"].ops


@pytest.mark.parametrize("bad,says", [("0", "B must be at least 1"), ("-2", "B must be at least 1"),
                                      ("2.5", "B must be a list of integers")])
def test_a_bad_batch_is_one_line_and_writes_nothing(tmp_path, capsys, bad, says):
    assert run_sweep(tmp_path, *MICRO, "--B", bad, "--run-id", "x") != 0
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and not (tmp_path / "x").exists()


def test_the_guards_and_the_time_model_see_the_batch():
    """A guard that planned one x would let a batch far over the memory budget run: the
    estimates are the plans on the batch's shapes, so they grow with B, at least as the
    activations (m × B per layer) do."""
    from bench.sweep import guards
    one, many = Point(L=2, m=64, d=64, activation="relu"), Point(L=2, m=64, d=64, activation="relu", B=256)
    for mode in ("forward", "reverse"):
        assert guards.peak_elements(many, mode) >= guards.peak_elements(one, mode) + 2 * 64 * 255
        assert guards.call_seconds(many, mode) > 10 * guards.call_seconds(one, mode)
    limits = {"mem_budget_gb": guards.memory_bytes(one) / 2 ** 30 * 2, "max_point_s": 1e9}
    timing = {"warmup_iterations": 0, "max_time": 0.001, "min_rounds": 1}
    assert guards.skip_reason(one, ("reverse",), limits, timing) is None
    assert "memory estimate" in guards.skip_reason(many, ("reverse",), limits, timing)


def test_the_batch_section_reads_the_ratios_it_tables():
    """From which B the time ratio is within 2x of the op ratio (and stays there), and where
    reverse mode's time per sample stops falling, on rows made so the answers are known:
    an off-by-one in B, a "within" tested one-sidedly, or a first-hit instead of a
    stays-within rule each give another B."""
    import pandas as pd
    from bench.report import batchplots
    Bs, ops_f, ops_r = [1, 4, 16, 64, 256], 100, 1
    t_rev = [1.0, 2.0, 4.0, 16.0, 64.0]          # per sample 1, .5, .25, .25, .25
    t_fwd = [10.0, 150.0, 40.0 * 4, 16.0 * 60, 64.0 * 90]   # ratios 10, 75, 40, 60, 90
    rows = []
    for B, tf, tr in zip(Bs, t_fwd, t_rev):
        key = f"k{B}"
        for mode, t, o in (("forward", tf, ops_f * B), ("reverse", tr, ops_r * B)):
            rows.append({"point_key": key, "mode": mode, "status": "ok", "B": B, "time_median_s": t,
                         "ops_predicted": o, "time_model_s": None, "noisy": False})
    df = pd.DataFrame(rows).assign(**{c: "numpy" for c in ("config", "backend", "device", "dtype")},
                                   threads=1, target="gradient", L=2, m=8, d=8, K=1, waist=0,
                                   exec="eager", activation="relu", loss="squared", bias="off")
    (name, g), = batchplots.batch_lines(df)
    r = batchplots.ratio_rows(g)
    assert list(r.time_ratio) == [10, 75, 40, 60, 90] and set(r.ops_ratio) == {100}
    assert batchplots.meets_from(r) == 64      # 75 is within at B = 4, but 40 is not at 16
    assert batchplots.stops_falling(g) == 16   # 0.25 s per sample at 16, 64 and 256
    # a step that saves under 10% (4 → 16) before a larger B saves more (16 → 64) is no plateau
    bumpy = g.copy()
    bumpy.loc[bumpy["mode"] == "reverse", "time_median_s"] = [1.0, 2.0, 7.6, 16.0, 64.0]  # 1, .5, .475, .25, .25
    assert batchplots.stops_falling(bumpy) == 64
    assert batchplots.meets_from(r.assign(time_ratio=r.time_ratio * 2)) == 4    # 150, 80, 120, 180
    assert batchplots.meets_from(r.assign(time_ratio=r.time_ratio * 3)) is None  # 270 > 2 × 100
    text = "\n".join(batchplots.batch_section(df))
    assert "from B = 64 on" in text and "at B = 16" in text and "| 16 | 40 | 100 | 0.40 |" in text


def test_the_slope_in_B_is_the_exponent_of_time_against_B():
    """On rows made as exact power laws, t_fwd = 3·B¹ and t_rev = 0.5·B^0.5 up to B = 16,
    then B¹ (its last three B: 16, 64, 256), the fitted exponents are those laws: a slope
    fitted against the row index, or in time per sample, or over every B for the tail,
    gives other numbers; a peer without counts has no operations' slope."""
    import numpy as np
    import pandas as pd
    from bench.report import batchplots
    Bs = [1, 4, 16, 64, 256]
    rev = [0.5 * b ** 0.5 if b <= 16 else 0.5 * 4 * (b / 16) for b in Bs]
    rows = []
    for B, tr in zip(Bs, rev):
        for mode, t, o in (("forward", 3.0 * B, 10 * B), ("reverse", tr, 2 * B), ("autograd", 2 * tr, None)):
            rows.append({"point_key": f"k{B}", "mode": mode, "status": "ok", "B": B, "time_median_s": t,
                         "ops_predicted": o, "time_model_s": None, "noisy": False})
    rows.append({**rows[0], "mode": "cheapest"})  # timed at B = 1 only (another line's point)
    df = pd.DataFrame(rows).assign(**{c: "numpy" for c in ("config", "backend", "device", "dtype")},
                                   threads=1, target="gradient", L=2, m=8, d=8, K=1, waist=0,
                                   exec="eager", activation="relu", loss="squared", bias="off")
    (name, g), = batchplots.batch_lines(df)
    got = {s["mode"]: s for s in batchplots.slopes_in_B(g)}
    assert set(got) == {"forward", "reverse", "autograd"}
    assert got["forward"]["slope"] == pytest.approx(1.0) and got["forward"]["ops_slope"] == pytest.approx(1.0)
    assert got["reverse"]["slope_tail"] == pytest.approx(1.0) and got["reverse"]["tail_from"] == 16
    assert 0.5 < got["reverse"]["slope"] < 1.0
    assert got["autograd"]["slope"] == pytest.approx(got["reverse"]["slope"]) and np.isnan(got["autograd"]["ops_slope"])
    text = "\n".join(batchplots.batch_section(df))
    assert "| forward | 1.00 | 1.00 (B ≥ 16) | 1.00 |" in text and "| autograd |" in text
