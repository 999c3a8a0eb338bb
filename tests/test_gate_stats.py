"""The gate's decisions at their edges, worked by hand: the verdict when an interval touches
a band, the bootstrap interval against the exact bootstrap distribution, the tolerance
rule, strict baseline validation (every field, every bad value), the per-call times a
measurement reports (on a fake clock), the reference check on a NaN, and the count gate
when an engine raises. Nothing is timed for real."""
import copy
import json
import math

import pytest

from bench.gate import baseline as bl
from bench.gate import cli, gates, measure, stats
from bench.gate.reference import REFERENCES
from bench.points import Point
from modes import FwdrevError


# -- verdicts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lo, hi, want", [
    (1.0, 2.0, stats.OK),          # the interval is the band: inside
    (1.0, 1.5, stats.OK),          # touching the lower edge from inside
    (1.5, 2.0, stats.OK),          # touching the upper edge from inside
    (2.0, 2.5, stats.UNDECIDED),   # starts on the upper edge: not wholly above it
    (0.5, 1.0, stats.UNDECIDED),   # ends on the lower edge: not wholly below it
    (2.0000001, 3.0, stats.SLOWER),
    (0.5, 0.9999999, stats.FASTER),
    (0.9, 2.1, stats.UNDECIDED),   # wider than the band on both sides
    (0.9, 1.5, stats.UNDECIDED),
])
def test_verdict_at_the_band_edges(lo, hi, want):
    """ok: inside the band, edges included; slower/faster: wholly (strictly) above/below it;
    anything else crosses or touches an edge from outside: undecided."""
    assert stats.verdict(lo, hi, (1.0, 2.0)) == want


def test_only_slower_fails():
    assert [stats.fails(v) for v in (stats.OK, stats.SLOWER, stats.FASTER, stats.UNDECIDED)] == \
        [False, True, False, False]


def test_band_and_tolerance_by_hand():
    assert stats.band_for(2.0, 0.25) == (1.6, 2.5)
    assert stats.tolerance_for(0.04) == pytest.approx(0.12)   # 3 × spread
    assert stats.tolerance_for(0.01) == stats.TOL_FLOOR       # never under the floor
    assert stats.tolerance_for(0.2) == stats.TOL_CAP          # never over the cap
    assert stats.run_spread([1.0, 2.0, 4.0]) == pytest.approx(math.log(2))


def test_median_and_the_summary():
    assert stats.median([3, 1, 2]) == 2 and stats.median([5, 1]) == 3 and stats.median([7]) == 7
    s = stats.summarize([1.0, 2.0, 10.0])
    assert s.median == 2.0 and s.n == 3 and s.lo <= 2.0 <= s.hi
    assert stats.Summary(2.0, 1.8, 2.2, 5).rel_halfwidth == pytest.approx(0.1)


def test_the_interval_is_the_percentile_of_the_exact_bootstrap_distribution():
    """For [1, 2, 3] a resample's median is 1 with probability 7/27, 2 with 13/27, 3 with
    7/27 (at least two of three draws equal to it, or below/above). A central interval at
    confidence 0.6 cuts 20% from each tail: (1, 3); at 0.1, 45%: (2, 2)."""
    assert stats.bootstrap_median_ci([1.0, 2.0, 3.0], conf=0.6) == (1.0, 3.0)
    assert stats.bootstrap_median_ci([1.0, 2.0, 3.0], conf=0.1) == (2.0, 2.0)
    assert stats.bootstrap_median_ci([1.0, 2.0, 3.0], conf=0.3) == (2.0, 2.0)


@pytest.mark.parametrize("bad", [[], [1.0, math.inf], [1.0, 0.0], [1.0, -1.0], [math.nan]])
def test_summarize_refuses_what_is_not_a_positive_finite_ratio(bad):
    with pytest.raises(ValueError):
        stats.summarize(bad)


def test_count_mismatches_check_each_field_against_both():
    ok = {"mults": 5, "adds": 4, "total": 9}
    assert stats.count_mismatches("p", "forward", ok, ok, ok) == []
    total_off = {**ok, "total": 10}
    msgs = stats.count_mismatches("p", "forward", ok, ok, total_off)
    assert msgs == ["p forward: total counted 9, modes.predict 10"]
    msgs = stats.count_mismatches("p", "forward", ok, {**ok, "adds": 3}, ok)
    assert msgs == ["p forward: adds counted 4, baseline 3"]


# -- baseline validation -------------------------------------------------------------------------
def doc():
    """A valid baseline of the gate's checks and counted points."""
    checks = [{"point": c.point.as_dict(), "key": c.point.key(),
               "modes": {m: {"ratio": 1.05, "tol": 0.12, "spread": 0.01, "run_medians": [1.05] * 3}
                         for m in c.modes}} for c in measure.CHECKS]
    counts = [{"point": c.point.as_dict(), "key": c.point.key(),
               "counts": measure.predicted_counts(c)} for c in measure.CHECKS + measure.COUNT_ONLY]
    return {"schema": bl.SCHEMA, "fingerprint": {}, "date": "2026-01-01T00:00:00Z",
            "settings": dict(cli.DEFAULTS), "checks": checks, "counts": counts}


def mode0(d):
    return next(iter(d["checks"][0]["modes"].values()))


BAD = {
    "tol 0": lambda d: mode0(d).update(tol=0.0),
    "tol 1": lambda d: mode0(d).update(tol=1.0),
    "tol negative": lambda d: mode0(d).update(tol=-0.1),
    "tol a bool": lambda d: mode0(d).update(tol=True),
    "ratio a bool": lambda d: mode0(d).update(ratio=True),
    "ratio 0": lambda d: mode0(d).update(ratio=0.0),
    "ratio inf": lambda d: mode0(d).update(ratio=math.inf),
    "ratio nan": lambda d: mode0(d).update(ratio=math.nan),
    "ratio a string": lambda d: mode0(d).update(ratio="1.0"),
    "no spread": lambda d: mode0(d).pop("spread"),
    "n_boot 0": lambda d: d["settings"].update(n_boot=0),
    "blocks 0": lambda d: d["settings"].update(blocks=0),
    "runs 0": lambda d: d["settings"].update(runs=0),
    "threads 0": lambda d: d["settings"].update(threads=0),
    "threads a bool": lambda d: d["settings"].update(threads=True),
    "seed a float": lambda d: d["settings"].update(seed=0.5),
    "no checks": lambda d: d.update(checks=[]),
    "a check timing no mode": lambda d: d["checks"][0].update(modes={}),
    "a key that is not its point's": lambda d: d["checks"][0].update(key=d["checks"][1]["key"]),
    "a check twice": lambda d: d["checks"].append(copy.deepcopy(d["checks"][0])),
    "a counted point twice": lambda d: d["counts"].append(copy.deepcopy(d["counts"][0])),
    "a count that is a float": lambda d: next(iter(d["counts"][0]["counts"].values())).update(total=1.0),
    "a count that is a bool": lambda d: next(iter(d["counts"][0]["counts"].values())).update(adds=True),
    "a count missing": lambda d: next(iter(d["counts"][0]["counts"].values())).pop("mults"),
    "a point field unknown": lambda d: d["checks"][0]["point"].update(colour="red"),
    "another schema": lambda d: d.update(schema="fwdrev-baseline/3"),
}


def test_the_valid_baseline_is_accepted():
    assert bl.validate(doc())["checks"]


@pytest.mark.parametrize("what", sorted(BAD))
def test_every_malformed_baseline_is_refused(what):
    d = doc()
    BAD[what](d)
    with pytest.raises(bl.BaselineError) as e:
        bl.validate(json.loads(json.dumps(d)) if "nan" not in what and "inf" not in what else d)
    assert "\n" not in str(e.value)


def test_the_baseline_must_hold_the_gates_modes_not_only_its_points():
    d = doc()
    bl.check_matches(d, measure.CHECKS, measure.CHECKS + measure.COUNT_ONLY)
    two = next(c for c in d["checks"] if len(c["modes"]) == 2)
    two["modes"].pop("forward")
    with pytest.raises(bl.UnknownPoint):
        bl.check_matches(d, measure.CHECKS, measure.CHECKS + measure.COUNT_ONLY)


def test_a_check_entry_is_the_median_of_the_run_medians_with_its_tolerance():
    """Three runs whose medians are 1.0, 1.1 and 1.5: the ratio is 1.1, the spread
    max |ln(r / 1.1)| = ln(1.5/1.1), the tolerance 3 × spread capped at 0.15; times in ms."""
    check = measure.CHECKS[2]  # reverse only
    key = check.point.key()
    runs = [{key: {"reverse": {"ratios": [r, r, r], "t_engine": 2e-3 * r, "t_reference": 1e-3}}}
            for r in (1.5, 1.0, 1.1)]
    e = bl.check_entry(check, runs, {"n_boot": 200, "seed": 0})["modes"]["reverse"]
    assert e["ratio"] == 1.1 and e["run_medians"] == [1.5, 1.0, 1.1]
    assert e["spread"] == pytest.approx(math.log(1.5 / 1.1))
    assert e["tol"] == stats.TOL_CAP
    assert e["t_engine_ms"] == pytest.approx(2.2) and e["t_reference_ms"] == pytest.approx(1.0)


# -- measurement --------------------------------------------------------------------------------
class Clock:
    """A fake perf_counter that moves only when a fake call runs."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def test_a_measurement_reports_per_call_times(monkeypatch):
    """Engine calls alternate 1 and 3 units (2 on average), reference calls take 1 unit
    (2^-10 s): a sample is ⌈4 ms / 2^-10 s⌉ = 5 calls, every block's ratio is 2 and the
    per-call times are 2 and 1 units, not a sample's or a block's."""
    clock = Clock()
    monkeypatch.setattr(measure, "time", clock)
    unit, n_engine = 2.0 ** -10, [0]

    def engine():
        n_engine[0] += 1
        clock.now += unit * (1 if n_engine[0] % 2 else 3)

    def reference():
        clock.now += unit
    monkeypatch.setattr(measure, "pair", lambda point, mode, seed=0: (engine, reference))
    out = measure.measure(measure.CHECKS[0], "forward", blocks=6)
    assert out["calls"] == 5
    assert out["ratios"] == [2.0] * 6
    assert out["t_engine"] == pytest.approx(2 * unit) and out["t_reference"] == pytest.approx(unit)


def test_repeated_calls_its_function_n_times():
    calls = []
    for n in (1, 2, 3):
        calls.clear()
        measure.repeated(lambda: calls.append(1), n)()
        assert len(calls) == n


SMALL = Point(L=1, m=4, d=3, K=1)


def _wrap(mode, change):
    real = REFERENCES[("gradient", mode)]

    def builder(Ws, y):
        call = real(Ws, y)
        return lambda x: change(*call(x))
    return builder


@pytest.mark.parametrize("change", [
    lambda f, g: (f, g * math.nan),               # a NaN gradient: its error is NaN
    lambda f, g: (f * math.nan, g),               # a NaN value
    lambda f, g: (f * 1.01, g),                   # the right gradient, the wrong value
    lambda f, g: (f, [g, g]),                     # one array too many
], ids=["nan-gradient", "nan-value", "wrong-value", "two-arrays"])
def test_a_reference_that_does_not_compute_the_engines_answer_is_refused(monkeypatch, change):
    """One line naming what is wrong: the relative error, or how many arrays each returns."""
    monkeypatch.setitem(REFERENCES, ("gradient", "reverse"), _wrap("reverse", change))
    with pytest.raises(ValueError, match="reference") as e:
        measure.pair(SMALL, "reverse")
    assert ("returns 2 gradient array(s), the engine 1" in str(e.value)) == isinstance(change(1.0, 1.0)[1], list)


def test_the_right_reference_is_accepted():
    engine, reference = measure.pair(SMALL, "reverse")
    engine(), reference()


# -- the count gate -----------------------------------------------------------------------------
def test_an_engine_that_raises_fails_the_count_gate(monkeypatch):
    def broken(check):
        raise FwdrevError("forward gradient: the answer is not finite")
    monkeypatch.setattr(measure, "exact_counts", broken)
    checks = list(measure.COUNT_ONLY)
    out = gates.count_gate(checks, {})
    assert len(out) == len(checks)
    assert all(len(o["problems"]) == 1 and "engine call failed" in o["problems"][0] for o in out)


def test_the_count_gate_names_every_mismatch(monkeypatch):
    checks = list(measure.COUNT_ONLY)
    monkeypatch.setattr(measure, "exact_counts", measure.predicted_counts)
    base = {c.point.key(): measure.predicted_counts(c) for c in checks}
    assert all(o["problems"] == [] for o in gates.count_gate(checks, base))
    key = checks[0].point.key()
    base[key] = {m: {**v, "mults": v["mults"] + 1} for m, v in base[key].items()}
    out = {o["key"]: o["problems"] for o in gates.count_gate(checks, base)}
    assert len(out[key]) == len(checks[0].modes)
    assert all(p == [] for k, p in out.items() if k != key)


def test_the_relative_error_of_an_answer_with_a_nan_is_nan_wherever_it_is():
    """A NaN in any piece never agrees: max() alone would keep the other pieces' error."""
    import numpy as np
    from bench.points import relerr
    one, nan = np.array([1.0, 2.0]), np.array([1.0, math.nan])
    assert relerr([one, one], [one, one]) == 0.0
    for pieces in ([nan, one], [one, nan]):
        assert math.isnan(relerr(pieces, [one, one]))
    assert math.isnan(relerr([one], [nan]))
