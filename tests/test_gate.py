"""The gate's decision logic on synthetic samples: no timing anywhere.

A ratio here is t_engine / t_reference: what an engine adds to the same products."""
import math

import numpy as np
import pytest

from bench.gate import stats as gate


def noisy(center, rel, n=300, seed=1):
    """Synthetic per-pair ratios: lognormal scatter of relative size `rel` around `center`."""
    rng = np.random.default_rng(seed)
    return list(center * np.exp(rng.normal(0.0, rel, n)))


BASE, TOL = 4.0, 0.20


def test_pass_when_unchanged():
    s, band, v = gate.decide(noisy(BASE * 1.03, 0.05), BASE, TOL)
    assert v == gate.OK
    assert band[0] < s.lo <= s.median <= s.hi < band[1]


def test_fail_when_the_engine_slows_by_a_quarter():
    # the engine 1.25x slower, the reference unchanged: the ratio rises by 1.25
    s, _, v = gate.decide(noisy(BASE * 1.25, 0.05), BASE, 0.15)
    assert v == gate.SLOWER and gate.fails(v)


def test_a_leaner_engine_is_reported_not_failed():
    s, _, v = gate.decide(noisy(BASE / 1.5, 0.05), BASE, TOL)
    assert v == gate.FASTER and not gate.fails(v)


def test_too_noisy_to_decide_does_not_fail():
    # median just beyond the band's upper edge, but few, very scattered pairs: the interval
    # crosses the edge, so neither ok nor regressed
    ratios = noisy(BASE * 1.22, 0.6, n=15, seed=3)
    s, band, v = gate.decide(ratios, BASE, TOL)
    assert s.lo < band[1] < s.hi
    assert v == gate.UNDECIDED
    assert not gate.fails(v)


def test_a_real_shift_inside_the_band_is_ok():
    assert gate.decide(noisy(BASE * 1.10, 0.02), BASE, TOL)[2] == gate.OK


@pytest.mark.parametrize("lo,hi,expect", [
    (0.90, 1.10, gate.OK), (1.25, 1.40, gate.SLOWER), (0.70, 0.80, gate.FASTER),
    (1.10, 1.30, gate.UNDECIDED), (0.80, 0.90, gate.UNDECIDED), (0.5, 2.0, gate.UNDECIDED),
])
def test_verdict_is_about_the_whole_interval(lo, hi, expect):
    assert gate.verdict(lo, hi, gate.band_for(1.0, 0.2)) == expect


def test_band_is_symmetric_in_log_scale():
    lo, hi = gate.band_for(3.0, 0.25)
    assert math.isclose(lo, 3.0 / 1.25) and math.isclose(hi, 3.0 * 1.25)
    assert math.isclose(math.log(3.0 / lo), math.log(hi / 3.0))


def test_bootstrap_is_seeded_and_brackets_the_median():
    r = noisy(2.0, 0.1, n=101)
    a, b = gate.summarize(r, seed=7), gate.summarize(r, seed=7)
    assert a == b
    assert a.lo <= a.median <= a.hi
    assert a.median == pytest.approx(float(np.median(r)))


def test_more_pairs_narrow_the_interval():
    wide = gate.summarize(noisy(2.0, 0.1, n=30))
    narrow = gate.summarize(noisy(2.0, 0.1, n=3000))
    assert narrow.rel_halfwidth < wide.rel_halfwidth


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [1.0, -2.0], [0.0]])
def test_summarize_refuses_bad_ratios(bad):
    with pytest.raises(ValueError):
        gate.summarize(bad)


def test_tolerance_from_spread_has_floor_and_cap():
    assert gate.tolerance_for(0.01) == gate.TOL_FLOOR
    assert gate.tolerance_for(0.04) == pytest.approx(gate.SPREAD_K * 0.04)
    assert gate.tolerance_for(0.5) == gate.TOL_CAP


def test_cap_keeps_a_quarter_slow_down_outside_the_band():
    lo, hi = gate.band_for(1.0, gate.TOL_CAP)
    assert 1.25 / hi > 1.08  # clear of the edge by more than a typical interval half-width


def test_median_of_an_even_sample_is_the_mean_of_the_middle_two():
    assert gate.median([10.0, 1.0, 3.0, 2.0]) == 2.5
    assert gate.median([4.0, 1.0, 2.0]) == 2.0
    with pytest.raises(ValueError):
        gate.median([])


def test_bootstrap_interval_is_for_the_median_not_the_mean():
    # a skewed sample: most blocks at 1.0, a tail of slow ones; the mean is far above the
    # median, and an interval built on means would not contain it
    ratios = [1.0 + 0.001 * i for i in range(80)] + [20.0] * 20
    s = gate.summarize(ratios, seed=0)
    assert s.lo <= s.median <= s.hi < 1.2


def test_run_spread_is_largest_log_deviation():
    assert gate.run_spread([1.0, 1.0, 1.1]) == pytest.approx(math.log(1.1))
    assert gate.run_spread([2.0, 2.0, 2.0]) == 0.0


def test_count_mismatches_name_point_mode_and_numbers():
    same = {"mults": 10, "adds": 5, "total": 15}
    assert gate.count_mismatches("p", "forward", same, same, same) == []
    msgs = gate.count_mismatches("p", "reverse", {"mults": 11, "adds": 5, "total": 16}, same, same)
    assert any("p reverse: mults counted 11, baseline 10" in m for m in msgs)
    assert any("modes.predict 15" in m for m in msgs)
    assert len(msgs) == 4  # mults and total, each against baseline and predict
