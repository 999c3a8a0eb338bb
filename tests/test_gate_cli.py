"""The gate's CLI: bad baselines, exit codes, the exact-count gate, the canary, the reference.

Nothing here asserts on a real timing: measurements are replaced by synthetic ratios."""
import json
import time

import pytest

from bench.gate import baseline as bl
from bench.gate import canary, cli, measure, stats
from bench.gate.reference import REFERENCES
from bench.points import Point

RATIO = 1.05
MODE_KEYS = [(c.point.key(), m) for c in measure.CHECKS for m in c.modes]


def make_doc(**settings):
    """A valid baseline with the gate's checks and their closed-form counts."""
    checks = [{"point": c.point.as_dict(), "key": c.point.key(),
               "modes": {m: {"ratio": RATIO, "tol": 0.12, "spread": 0.01,
                             "run_medians": [RATIO] * 5} for m in c.modes}}
              for c in measure.CHECKS]
    counts = [{"point": c.point.as_dict(), "key": c.point.key(),
               "counts": measure.predicted_counts(c)} for c in measure.CHECKS + measure.COUNT_ONLY]
    return {"schema": bl.SCHEMA, "fingerprint": {"cpu": {"model_name": "test"}},
            "date": "2026-01-01T00:00:00Z",
            "settings": {**cli.DEFAULTS, "blocks": 40, **settings},
            "checks": checks, "counts": counts}


@pytest.fixture(autouse=True)
def predicted_counts_as_measured(monkeypatch):
    """Engine calls at the gate's sizes take a while: count with the closed forms, except
    where a test puts the real exact_counts back."""
    monkeypatch.setattr(measure, "exact_counts", measure.predicted_counts)


@pytest.fixture
def write(tmp_path):
    def _write(doc, text=None):
        path = tmp_path / "baseline.json"
        path.write_text(text if text is not None else json.dumps(doc))
        return str(path)
    return _write


@pytest.fixture
def fake_timing(monkeypatch):
    """Replace measurement by synthetic ratios: {(key, mode): center} (default the
    baseline's); a list gives one center per measurement; "noisy" a wide scatter."""
    centers, calls = {}, []

    def fake(check, mode, blocks, factor=1.0, add_s=0.0, seed=0):
        calls.append((check.point.key(), mode, blocks, factor))
        c = centers.get((check.point.key(), mode), RATIO)
        if isinstance(c, list):
            c = c.pop(0)
        spread = 0.8 if c == "noisy" else 0.01
        c = RATIO * 1.14 if c == "noisy" else c * factor
        ratios = [c * (1 + spread * ((i % 7) - 3) / 3) for i in range(blocks)]
        return {"ratios": ratios, "t_engine": 1e-3 * c, "t_reference": 1e-3}
    monkeypatch.setattr(measure, "measure", fake)
    return centers, calls


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


# -- bad baselines ---------------------------------------------------------------------------
def test_missing_baseline(tmp_path, capsys):
    rc = cli.main(["--baseline", str(tmp_path / "nope.json")])
    assert rc == cli.EXIT_BASELINE == 3
    assert "make baseline" in one_line_error(capsys)


def test_baseline_not_json(write, capsys):
    assert cli.main(["--baseline", write(None, text="{not json")]) == 3
    assert "not valid JSON" in one_line_error(capsys)


def test_baseline_of_the_old_schema_says_to_rerecord(write, capsys):
    old = {"schema": "fwdrev-baseline/1", "machine": {}, "points": []}
    assert cli.main(["--baseline", write(old)]) == 3
    err = one_line_error(capsys)
    assert "old schema" in err and "make baseline" in err


@pytest.mark.parametrize("mutate,words", [
    (lambda d: d.update(schema="fwdrev-baseline/0"), "schema"),
    (lambda d: d.pop("fingerprint"), "'fingerprint'"),
    (lambda d: d["settings"].pop("blocks"), "'blocks'"),
    (lambda d: d["settings"].update(runs=0), "'runs'"),
    (lambda d: d["checks"][0]["modes"]["forward"].pop("ratio"), "'ratio'"),
    (lambda d: d["checks"][0]["modes"]["forward"].update(ratio="fast"), "'ratio'"),
    (lambda d: d["checks"][0]["modes"]["reverse"].update(ratio=0.0), "ratio must be positive"),
    (lambda d: d["checks"][0]["modes"]["reverse"].update(tol=-1.0), "tol"),
    (lambda d: d["checks"][0].update(modes={}), "times no mode"),
    (lambda d: d["counts"][0]["counts"]["reverse"].pop("adds"), "'adds'"),
    (lambda d: d["checks"][0]["point"].update(colour="red"), "unknown point field(s): colour"),
    (lambda d: d["checks"][0].update(key="backend=numpy"), "does not match"),
    (lambda d: d.update(checks=[]), "no checks"),
    (lambda d: d["checks"].append(d["checks"][0]), "duplicate"),
    (lambda d: d["counts"].append(d["counts"][0]), "duplicate"),
])
def test_malformed_baseline(write, capsys, mutate, words):
    doc = make_doc()
    mutate(doc)
    assert cli.main(["--baseline", write(doc), "--counts-only"]) == cli.EXIT_BASELINE
    assert words in one_line_error(capsys)


def test_baseline_that_is_a_list(write, capsys):
    assert cli.main(["--baseline", write([1, 2])]) == 3
    one_line_error(capsys)


def test_another_machine_is_noted_and_the_timing_gate_still_runs(write, capsys, fake_timing):
    doc = make_doc()
    doc["fingerprint"] = {}  # empty or foreign: information only, never a reason to skip
    assert cli.main(["--baseline", write(doc)]) == 0
    out = capsys.readouterr().out
    assert "differs from the baseline's (the gate runs anyway)" in out
    assert len(fake_timing[1]) == len(MODE_KEYS) and "PASS" in out


def test_baseline_with_a_check_the_gate_does_not_know(write, capsys):
    doc = make_doc()
    extra = json.loads(json.dumps(doc["checks"][0]))
    extra["point"]["m"] = 999
    extra["key"] = Point.from_dict(extra["point"]).key()
    doc["checks"].append(extra)
    assert cli.main(["--baseline", write(doc), "--counts-only"]) == cli.EXIT_POINT == 6
    assert "the baseline has" in one_line_error(capsys)


def test_gate_check_or_mode_missing_from_baseline(write, capsys):
    doc = make_doc()
    doc["checks"].pop()
    assert cli.main(["--baseline", write(doc), "--counts-only"]) == 6
    assert "it lacks" in one_line_error(capsys)
    doc = make_doc()
    doc["checks"][0]["modes"].pop("reverse")
    assert cli.main(["--baseline", write(doc), "--counts-only"]) == 6
    one_line_error(capsys)


def test_unknown_point_on_the_command_line(write, capsys):
    assert cli.main(["--baseline", write(make_doc()), "--point", "numpy/nothing"]) == 6
    assert "not a gate point" in one_line_error(capsys)


# -- usage ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("arg", ["forward", "sideways=1.5", "forward=fast", "reverse=-1",
                                 "reverse=nan", "forward=0.5"])
def test_bad_inject_slowdown(write, capsys, arg):
    assert cli.main(["--baseline", write(make_doc()), "--inject-slowdown", arg]) == 2
    assert "--inject-slowdown" in one_line_error(capsys)


def test_unknown_option_is_a_usage_error(capsys):
    assert cli.main(["--frobnicate"]) == 2
    assert cli.main(["--help"]) == 0
    assert "Exit codes" in capsys.readouterr().out
    assert cli.main(["--blocks", "0"]) == 2
    assert "--blocks" in one_line_error(capsys)


def test_parse_slowdowns():
    assert cli.parse_slowdowns(["forward=1.5", "reverse=1"]) == {"forward": (1.5, 0.0),
                                                                 "reverse": (1.0, 0.0)}


# -- the exact-count gate ---------------------------------------------------------------------------
def test_counts_only_passes_on_the_real_engines_counts(write, capsys, monkeypatch):
    monkeypatch.undo()  # the real engine calls, not the closed forms
    assert cli.main(["--baseline", write(make_doc()), "--counts-only"]) == 0
    n = len(measure.CHECKS + measure.COUNT_ONLY)
    assert f"exact gate: counts of {n} point(s)" in capsys.readouterr().out


def test_count_differs_from_baseline(write, capsys):
    doc = make_doc()
    doc["counts"][2]["counts"]["reverse"]["adds"] += 1
    assert cli.main(["--baseline", write(doc), "--counts-only"]) == cli.EXIT_COUNTS == 5
    out = capsys.readouterr().out
    assert f"COUNT MISMATCH {measure.CHECKS[2].point.label('short')} reverse: adds counted" in out


def test_engine_count_differs_from_both(write, capsys, monkeypatch):
    # an engine that starts doing (and counting) more work: differs from baseline and predict
    def more(check):
        return {m: {k: v + 1 for k, v in c.items()} for m, c in measure.predicted_counts(check).items()}
    monkeypatch.setattr(measure, "exact_counts", more)
    assert cli.main(["--baseline", write(make_doc()), "--counts-only"]) == 5
    out = capsys.readouterr().out
    n_modes = sum(len(c.modes) for c in measure.CHECKS + measure.COUNT_ONLY)
    assert out.count("COUNT MISMATCH") == 6 * n_modes and "modes.predict" in out


def test_count_mismatch_wins_over_timing(write, capsys, fake_timing):
    doc = make_doc()
    doc["counts"][0]["counts"]["reverse"]["mults"] -= 1
    fake_timing[0][MODE_KEYS[1]] = RATIO * 1.5
    assert cli.main(["--baseline", write(doc)]) == 5
    assert "REGRESSED" in capsys.readouterr().out  # the timing verdict is still shown


# -- the timing gate's plumbing, on synthetic ratios ---------------------------------------------------
def test_unchanged_passes(write, capsys, fake_timing):
    assert cli.main(["--baseline", write(make_doc())]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and out.count(" ok") == len(MODE_KEYS)
    assert {c[2] for c in fake_timing[1]} == {40}  # the baseline's block count
    assert "normalised" in out  # the information table


def test_a_slower_engine_fails_naming_point_and_mode(write, capsys, fake_timing):
    fake_timing[0][MODE_KEYS[0]] = RATIO * 1.25  # every measurement, the re-measurement too
    fake_timing[0][MODE_KEYS[3]] = RATIO * 1.3
    assert cli.main(["--baseline", write(make_doc())]) == cli.EXIT_REGRESSED == 1
    out = capsys.readouterr().out
    label0 = measure.CHECKS[0].point.label("short")
    assert f"REGRESSED {label0} forward: the engine takes" in out
    assert "FAIL: 2 engine/reference ratio(s) regressed" in out


def test_a_leaner_engine_passes_with_a_note(write, capsys, fake_timing):
    fake_timing[0][MODE_KEYS[1]] = RATIO / 1.5
    assert cli.main(["--baseline", write(make_doc())]) == 0
    out = capsys.readouterr().out
    assert "leaner than the baseline" in out and "PASS" in out


def test_noisy_ratio_is_remeasured_then_warned_not_failed(write, capsys, fake_timing):
    fake_timing[0][MODE_KEYS[1]] = "noisy"
    assert cli.main(["--baseline", write(make_doc()), "--blocks", "30"]) == 0
    out = capsys.readouterr().out
    assert "re-measuring with 60 blocks" in out and "too noisy to decide" in out
    assert [c[2] for c in fake_timing[1] if (c[0], c[1]) == MODE_KEYS[1]] == [30, 60]


def test_transient_excursion_is_cleared_by_the_remeasurement(write, capsys, fake_timing):
    fake_timing[0][MODE_KEYS[2]] = [RATIO * 1.5, RATIO]  # a neighbour's burst, then quiet
    assert cli.main(["--baseline", write(make_doc())]) == 0
    out = capsys.readouterr().out
    assert "slower at first" in out and "ok (re-measured)" in out


def test_real_regression_is_confirmed_by_the_remeasurement(write, capsys, fake_timing):
    fake_timing[0][MODE_KEYS[0]] = [RATIO * 1.5, RATIO * 1.5]
    assert cli.main(["--baseline", write(make_doc())]) == 1
    assert "slower at first" in capsys.readouterr().out


def test_point_selection_and_canary_reach_the_measurement(write, fake_timing, capsys):
    c = measure.CHECKS[2]
    rc = cli.main(["--baseline", write(make_doc()), "--point", c.point.label("short"),
                   "--inject-slowdown", "reverse=1.5"])
    assert rc == 1  # the fake applies the factor to its ratios
    assert fake_timing[1][0] == (c.point.key(), "reverse", 40, 1.5)
    assert {k for k, *_ in fake_timing[1]} == {c.point.key()}


# -- the measurement itself, with fake callables ---------------------------------------------------
def test_blocks_alternate_abba_and_baab_and_ratio_is_engine_over_reference(monkeypatch):
    order = []
    clock = {"now": 0.0}
    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock["now"])

    def side(name, dt):
        def run():
            order.append(name)
            clock["now"] += dt
        return run
    ratios, te, tr = measure.abba(side("e", 3.0), side("r", 2.0), blocks=2)
    assert order[2 * measure.WARMUP_BLOCKS:] == ["e", "r", "r", "e", "r", "e", "e", "r"]
    assert ratios == [1.5, 1.5] and te == 3.0 and tr == 2.0


@pytest.mark.parametrize("factor", [1.0, 1.25, 1.5, 2.0, 2.5])
def test_canary_takes_factor_times_the_calls_own_time(factor, monkeypatch):
    clock = {"now": 0.0}

    def tick():  # a fake clock: each reading moves it by 1 µs, so the busy wait ends
        clock["now"] += 1e-6
        return clock["now"]
    monkeypatch.setattr(canary.time, "perf_counter", tick)
    calls = []

    def work():  # a call that takes 4 ms
        calls.append(1)
        clock["now"] += 0.004
    slow = canary.slowed(work, factor)
    t0 = tick()
    slow()
    assert len(calls) == int(factor)  # whole calls of the engine itself
    assert tick() - t0 == pytest.approx(0.004 * factor, abs=2e-5)


def test_canary_below_one_is_refused():
    with pytest.raises(ValueError):
        canary.slowed(lambda: None, 0.5)


# -- the reference ------------------------------------------------------------------------------
def test_every_timed_mode_has_a_reference():
    assert {(c.point.target, measure.REFERENCE_OF[m]) for c in measure.CHECKS
            for m in c.modes} <= set(REFERENCES)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("target,mode", sorted(REFERENCES))
def test_reference_computes_what_the_engine_does(backend, target, mode):
    # pair() refuses to build the callables when the answers differ (checked below)
    p = Point(backend=backend, target=target, L=3, m=7, d=5, K=1)
    engine, reference = measure.pair(p, mode)
    engine()
    reference()


def test_a_wrong_reference_is_refused(monkeypatch):
    real = REFERENCES[("gradient", "reverse")]

    def off_by_a_bit(Ws, y):
        call = real(Ws, y)
        return lambda x: (lambda f, g: (f, g * 1.001))(*call(x))
    monkeypatch.setitem(REFERENCES, ("gradient", "reverse"), off_by_a_bit)
    with pytest.raises(ValueError, match="reference differs from the engine"):
        measure.pair(Point(L=2, m=6, d=4), "reverse")


def test_measure_runs_end_to_end_on_a_small_point():
    check = measure.Check(Point(L=1, m=8, d=4), measure.MODES)
    out = measure.measure(check, "forward", blocks=3)
    assert len(out["ratios"]) == 3 and all(r > 0 for r in out["ratios"])
    assert out["t_engine"] > 0 and out["t_reference"] > 0


# -- recording the baseline (child processes replaced) -------------------------------------------------
def _fake_child(medians, counts=None):
    meds = iter(medians)

    def child(s):
        c = next(meds)
        all_counts = counts or {k.point.key(): measure.predicted_counts(k)
                                for k in measure.CHECKS + measure.COUNT_ONLY}
        timing = {k.point.key(): {m: {"ratios": [c] * s["blocks"], "t_engine": 2e-3,
                                      "t_reference": 1e-3} for m in k.modes}
                  for k in measure.CHECKS}
        return {"counts": all_counts, "timing": timing}
    return child


def test_baseline_round_trip(tmp_path, monkeypatch, capsys):
    # the baseline ratio is the median of the run medians (1.1), not their mean (1.7)
    monkeypatch.setattr(bl, "child_run", _fake_child([1.0, 1.1, 3.0]))
    out = tmp_path / "b.json"
    assert cli.main(["--out", str(out), "--runs", "3", "--blocks", "10"], command="baseline") == 0
    doc = bl.load(out)
    e = doc["checks"][0]["modes"]["forward"]
    assert e["ratio"] == 1.1 and e["run_medians"] == [1.0, 1.1, 3.0]
    assert e["tol"] == stats.TOL_CAP  # a spread this large hits the cap
    assert doc["settings"]["threads"] == 1 and doc["settings"]["blocks"] == 10
    assert doc["fingerprint"]["cpu"]["vendor"] is not None or doc["fingerprint"]["arch"]
    bl.check_matches(doc, measure.CHECKS, measure.CHECKS + measure.COUNT_ONLY)
    assert not list(tmp_path.glob("*.tmp"))


def test_baseline_never_records_counts_that_differ_from_predict(tmp_path, monkeypatch, capsys):
    counts = {k.point.key(): measure.predicted_counts(k) for k in measure.CHECKS + measure.COUNT_ONLY}
    counts[measure.CHECKS[0].point.key()]["forward"]["mults"] += 1
    monkeypatch.setattr(bl, "child_run", _fake_child([1.0, 1.0], counts))
    out = tmp_path / "b.json"
    assert cli.main(["--out", str(out), "--runs", "2"], command="baseline") == cli.EXIT_COUNTS
    assert "modes.predict" in one_line_error(capsys) and not out.exists()


def test_baseline_refuses_bad_arguments(tmp_path, capsys):
    assert cli.main(["--runs", "0"], command="baseline") == 2
    one_line_error(capsys)
    assert cli.main(["--out", str(tmp_path)], command="baseline") == 3  # before measuring
    assert "is a directory" in one_line_error(capsys)
    assert not list(tmp_path.iterdir())


# -- the committed baseline --------------------------------------------------------------------------------
def test_committed_baseline_matches_the_gate():
    """results/baseline.json must be valid, hold exactly the gate's checks and the closed-form
    counts: change CHECKS or an engine's counting and this says to re-baseline."""
    doc = bl.load(cli.BASELINE)
    bl.check_matches(doc, measure.CHECKS, measure.CHECKS + measure.COUNT_ONLY)
    for c in measure.CHECKS + measure.COUNT_ONLY:
        recorded = next(e["counts"] for e in doc["counts"] if e["key"] == c.point.key())
        assert recorded == measure.predicted_counts(c)


def test_a_sample_is_enough_calls_to_last_a_few_milliseconds(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock["now"])

    def call_of(seconds):
        def run():
            clock["now"] += seconds
        return run
    assert measure.calls_per_sample(call_of(1e-3)) == 4      # 1 ms calls: 4 to a sample
    assert measure.calls_per_sample(call_of(10e-3)) == 1
    runs = []
    measure.repeated(lambda: runs.append(1), 3)()
    assert len(runs) == 3
