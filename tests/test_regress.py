"""The gate's CLI: bad baselines, exit codes, the exact-count gate, the canary's plumbing.

Nothing here asserts on a real timing: measurements are replaced by synthetic ratios."""
import json

import pytest

from bench import gate, regress
from bench.points import predicted_ops

RATIO = {p.key(): 3.0 for p in regress.GATE_POINTS}


def make_doc(**settings):
    """A valid baseline for this machine with the gate's points and their true counts."""
    pts = []
    for p in regress.GATE_POINTS:
        counts = {m: regress._counts(predicted_ops(p, m)) for m in regress.MODES}
        pts.append({"point": p.as_dict(), "key": p.key(), "ratio": RATIO[p.key()], "tol": 0.2,
                    "spread": 0.01, "run_medians": [3.0] * 5, "counts": counts})
    return {"schema": gate.SCHEMA, "machine": regress.machine_fingerprint(),
            "versions": regress.versions(), "date": "2026-01-01T00:00:00+00:00",
            "settings": {**regress.DEFAULTS, "pairs": 40, **settings}, "points": pts}


@pytest.fixture
def write(tmp_path):
    def _write(doc, text=None):
        path = tmp_path / "baseline.json"
        path.write_text(text if text is not None else json.dumps(doc))
        return str(path)
    return _write


@pytest.fixture
def fake_timing(monkeypatch):
    """Replace measurement by synthetic ratios: {key: center} (default the baseline ratio)."""
    centers, calls = {}, []

    def fake(points, pairs, block, threads, factors=None, seed=0):
        calls.append((tuple(p.key() for p in points), pairs, dict(factors or {})))
        out = {}
        for p in points:
            c = centers.get(p.key(), RATIO[p.key()])
            if isinstance(c, list):  # one value per measurement of this point
                c = c.pop(0)
            spread = 0.8 if c == "noisy" else 0.01
            c = RATIO[p.key()] * 1.22 if c == "noisy" else c
            ratios = [c * (1 + spread * ((i % 7) - 3) / 3) for i in range(pairs)]
            out[p.key()] = {"ratios": ratios, "t_forward": 1e-3, "t_reverse": 1e-3 / c}
        return out
    monkeypatch.setattr(regress, "measure_all", fake)
    return centers, calls


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


# -- bad baselines ---------------------------------------------------------------------------
def test_missing_baseline(tmp_path, capsys):
    rc = regress.main(["--baseline", str(tmp_path / "nope.json")])
    assert rc == regress.EXIT_BASELINE == 3
    assert "make baseline" in one_line_error(capsys)


def test_baseline_not_json(write, capsys):
    assert regress.main(["--baseline", write(None, text="{not json")]) == 3
    assert "not valid JSON" in one_line_error(capsys)


@pytest.mark.parametrize("mutate,words", [
    (lambda d: d.update(schema="fwdrev-baseline/0"), "schema"),
    (lambda d: d.pop("machine"), "'machine'"),
    (lambda d: d["settings"].pop("block"), "'block'"),
    (lambda d: d["settings"].update(pairs=0), "'pairs'"),
    (lambda d: d["points"][0].pop("counts"), "'counts'"),
    (lambda d: d["points"][0].update(ratio="fast"), "'ratio'"),
    (lambda d: d["points"][0].update(tol=-1.0), "tol"),
    (lambda d: d["points"][0]["counts"]["reverse"].pop("adds"), "'adds'"),
    (lambda d: d["points"][0]["point"].update(colour="red"), "unknown point field(s): colour"),
    (lambda d: d["points"][0].update(key="backend=numpy"), "does not match"),
    (lambda d: d.update(points=[]), "no points"),
    (lambda d: d["points"].append(d["points"][0]), "duplicate"),
])
def test_malformed_baseline(write, capsys, mutate, words):
    doc = make_doc()
    mutate(doc)
    assert regress.main(["--baseline", write(doc), "--counts-only"]) == regress.EXIT_BASELINE
    assert words in one_line_error(capsys)


def test_baseline_that_is_a_list(write, capsys):
    assert regress.main(["--baseline", write([1, 2])]) == 3
    one_line_error(capsys)


def test_baseline_from_another_machine(write, capsys):
    doc = make_doc()
    doc["machine"]["cpu_model"] = "Some Other CPU"
    assert regress.main(["--baseline", write(doc), "--counts-only"]) == regress.EXIT_MACHINE == 4
    assert "another kind of machine" in one_line_error(capsys)
    # asked for explicitly, it goes on with a warning
    assert regress.main(["--baseline", write(doc), "--counts-only", "--allow-other-machine"]) == 0


def test_baseline_with_a_point_the_gate_does_not_know(write, capsys):
    doc = make_doc()
    extra = json.loads(json.dumps(doc["points"][0]))
    extra["point"]["m"] = 999
    extra["key"] = regress.Point.from_dict(extra["point"]).key()
    doc["points"].append(extra)
    assert regress.main(["--baseline", write(doc), "--counts-only"]) == regress.EXIT_POINT == 6
    assert "does not know" in one_line_error(capsys)


def test_gate_point_missing_from_baseline(write, capsys):
    doc = make_doc()
    doc["points"].pop()
    assert regress.main(["--baseline", write(doc), "--counts-only"]) == 6
    assert "missing from the baseline" in one_line_error(capsys)


def test_unknown_point_on_the_command_line(write, capsys):
    assert regress.main(["--baseline", write(make_doc()), "--point", "numpy/nothing"]) == 6
    assert "not a gate point" in one_line_error(capsys)


# -- usage ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("arg", ["forward", "sideways=1.5", "forward=fast", "reverse=-1",
                                 "reverse=nan"])
def test_bad_inject_slowdown(write, capsys, arg):
    assert regress.main(["--baseline", write(make_doc()), "--inject-slowdown", arg]) == 2
    assert "--inject-slowdown" in one_line_error(capsys)


def test_unknown_option_is_a_usage_error(capsys):
    assert regress.main(["--frobnicate"]) == 2
    assert regress.main(["--help"]) == 0
    assert "Exit codes" in capsys.readouterr().out


def test_parse_slowdowns():
    assert regress.parse_slowdowns(["forward=1.5", "reverse=1"]) == {"forward": 1.5, "reverse": 1.0}


# -- the exact-count gate ---------------------------------------------------------------------------
def test_counts_only_passes_on_true_counts(write, capsys):
    assert regress.main(["--baseline", write(make_doc()), "--counts-only"]) == 0
    assert "exact gate" in capsys.readouterr().out


def test_count_differs_from_baseline(write, capsys):
    doc = make_doc()
    doc["points"][2]["counts"]["forward"]["adds"] += 1
    assert regress.main(["--baseline", write(doc), "--counts-only"]) == regress.EXIT_COUNTS == 5
    out = capsys.readouterr().out
    label = regress.label(regress.GATE_POINTS[2])
    assert f"COUNT MISMATCH {label} forward: adds counted" in out and "baseline" in out


def test_engine_count_differs_from_both(write, capsys, monkeypatch):
    # an engine that starts doing (and counting) more work: differs from baseline and predict
    real = regress.exact_counts

    def more(point):
        c = real(point)
        c["reverse"] = {k: v + 1 for k, v in c["reverse"].items()}
        return c
    monkeypatch.setattr(regress, "exact_counts", more)
    assert regress.main(["--baseline", write(make_doc()), "--counts-only"]) == 5
    out = capsys.readouterr().out
    assert out.count("COUNT MISMATCH") == 6 * len(regress.GATE_POINTS)
    assert "modes.predict" in out


def test_count_mismatch_wins_over_timing(write, capsys, fake_timing):
    doc = make_doc()
    doc["points"][0]["counts"]["reverse"]["mults"] -= 1
    fake_timing[0][regress.GATE_POINTS[1].key()] = 9.0
    assert regress.main(["--baseline", write(doc)]) == 5
    assert "REGRESSED" in capsys.readouterr().out  # the timing verdict is still shown


# -- the timing gate's plumbing, on synthetic ratios ---------------------------------------------------
def test_unchanged_passes(write, capsys, fake_timing):
    assert regress.main(["--baseline", write(make_doc())]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and out.count(" ok") == len(regress.GATE_POINTS)
    assert fake_timing[1][0][1] == 40  # the baseline's pair count


def test_regressions_name_point_and_direction(write, capsys, fake_timing):
    up, down = regress.GATE_POINTS[0], regress.GATE_POINTS[3]
    fake_timing[0][up.key()] = 3.0 * 1.5  # every measurement, the re-measurement too
    fake_timing[0][down.key()] = 3.0 / 1.5
    assert regress.main(["--baseline", write(make_doc())]) == regress.EXIT_REGRESSED == 1
    out = capsys.readouterr().out
    assert f"REGRESSED {regress.label(up)}: regressed-up" in out
    assert f"REGRESSED {regress.label(down)}: regressed-down" in out
    assert "FAIL: 2 point(s) regressed" in out


def test_noisy_point_is_remeasured_then_warned_not_failed(write, capsys, fake_timing):
    p = regress.GATE_POINTS[1]
    fake_timing[0][p.key()] = "noisy"
    assert regress.main(["--baseline", write(make_doc()), "--pairs", "30"]) == 0
    out = capsys.readouterr().out
    assert "re-measuring with 60 pairs" in out and "too noisy to decide" in out
    pairs_for_p = [c[1] for c in fake_timing[1] if c[0] == (p.key(),)]
    assert pairs_for_p == [30, 60]


def test_transient_excursion_is_cleared_by_the_remeasurement(write, capsys, fake_timing):
    p = regress.GATE_POINTS[1]
    fake_timing[0][p.key()] = [3.0 / 1.5, 3.0]  # a neighbour's burst, then quiet
    assert regress.main(["--baseline", write(make_doc())]) == 0
    out = capsys.readouterr().out
    assert "regressed-down at first" in out and "ok (re-measured)" in out


def test_real_regression_is_confirmed_by_the_remeasurement(write, capsys, fake_timing):
    p = regress.GATE_POINTS[0]
    fake_timing[0][p.key()] = [3.0 * 1.5, 3.0 * 1.5]
    assert regress.main(["--baseline", write(make_doc())]) == 1
    out = capsys.readouterr().out
    assert "regressed-up at first" in out and f"REGRESSED {regress.label(p)}: regressed-up" in out


def test_point_selection_and_canary_reach_the_measurement(write, fake_timing):
    p = regress.GATE_POINTS[2]
    rc = regress.main(["--baseline", write(make_doc()), "--point", regress.label(p),
                       "--inject-slowdown", "reverse=1.5"])
    assert rc == 0  # the fake ignores the factor; what matters is that it was passed on
    assert fake_timing[1] == [((p.key(),), 40, {"reverse": 1.5})]


# -- the measurement itself, with fake callables (order, blocks, canary) ---------------------------------
def test_pairs_alternate_order_and_ratio_is_forward_over_reverse(monkeypatch):
    order = []
    clock = {"now": 0.0}

    def timer(mode, dt):
        def run():
            order.append(mode)
            clock["now"] += dt
            return dt
        return run
    monkeypatch.setattr(regress, "sample_callables",
                        lambda *a, **k: {"forward": timer("f", 4.0), "reverse": timer("r", 2.0)})
    ratios, tf, tr = regress.measure_ratios(regress.GATE_POINTS[0], pairs=4, block=2)
    measured = order[2 * regress.WARMUP_BLOCKS:]
    assert measured == ["f", "r", "r", "f", "f", "r", "r", "f"]
    assert ratios == [2.0] * 4 and tf == 2.0 and tr == 1.0


def test_canary_scales_the_calls_in_a_sample(monkeypatch):
    made = []

    def fake_prepare(point, modes=("forward", "reverse"), seed=0, repeat=None):
        made.append(repeat)
        return {m: (lambda m=m: calls.append((m, repeat))) for m in modes}
    calls = []
    monkeypatch.setattr(regress, "prepare", fake_prepare)
    run = regress.sample_callables(regress.GATE_POINTS[0], block=4, factors={"forward": 1.5})
    run["forward"]()
    run["reverse"]()
    assert [c[0] for c in calls].count("forward") == 6   # 4 x 1.5 whole calls: exact
    assert [c[0] for c in calls].count("reverse") == 4
    calls.clear()
    run = regress.sample_callables(regress.GATE_POINTS[0], block=4, factors={"reverse": 1.1})
    run["reverse"]()  # 4.4 calls: 3 plain + one doing 1.4 of the work
    assert calls == [("reverse", None)] * 3 + [("reverse", {"reverse": pytest.approx(1.4)})]


def test_canary_too_small_is_a_usage_error(write, capsys):
    assert regress.main(["--baseline", write(make_doc()), "--inject-slowdown", "forward=0.1",
                         "--pairs", "1"]) == 2
    assert "less than one call" in one_line_error(capsys)


# -- recording the baseline (child processes replaced) -------------------------------------------------
def test_baseline_round_trip(tmp_path, monkeypatch, capsys):
    meds = iter([3.0, 3.1, 2.9])

    def child(s):
        c = next(meds)
        counts = {p.key(): {m: regress._counts(predicted_ops(p, m)) for m in regress.MODES}
                  for p in regress.GATE_POINTS}
        timing = {p.key(): {"ratios": [c] * s["pairs"], "t_forward": 3e-3, "t_reverse": 1e-3}
                  for p in regress.GATE_POINTS}
        return {"counts": counts, "timing": timing}
    monkeypatch.setattr(regress, "_child_run", child)
    out = tmp_path / "b.json"
    assert regress.main(["--out", str(out), "--runs", "3", "--pairs", "10"], command="baseline") == 0
    doc = regress.load_baseline(out)
    p0 = doc["points"][0]
    assert p0["ratio"] == 3.0 and p0["run_medians"] == [3.0, 3.1, 2.9]
    assert p0["spread"] == pytest.approx(0.0339, abs=1e-3)
    assert p0["tol"] == gate.tolerance_for(p0["spread"])
    assert doc["settings"]["threads"] == 1 and doc["settings"]["pairs"] == 10
    assert doc["machine"] == regress.machine_fingerprint()
    assert {"python", "numpy", "torch"} <= set(doc["versions"]) and doc["date"]


def test_baseline_refuses_bad_runs(capsys):
    assert regress.main(["--runs", "0"], command="baseline") == 2
    one_line_error(capsys)


# -- the committed baseline --------------------------------------------------------------------------------
def test_committed_baseline_matches_the_gate():
    """results/baseline.json must be valid, hold exactly the gate's points and the closed-form
    counts: change GATE_POINTS or an engine's counting and this says to re-baseline."""
    doc = regress.load_baseline(regress.BASELINE)
    gate.check_points([p["key"] for p in doc["points"]], [p.key() for p in regress.GATE_POINTS])
    for bp in doc["points"]:
        p = regress.Point.from_dict(bp["point"])
        for m in regress.MODES:
            assert bp["counts"][m] == regress._counts(predicted_ops(p, m))
