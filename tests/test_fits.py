"""The report's numbers on hand-made rows whose answers are known: lines found from the
data, slopes fitted on exact power laws, the floor rule at its edge, the beyond-cache
threshold, the floors' clipping and the forward/reverse ratios (bench.report.analysis)."""
import math

import numpy as np
import pytest

from bench.points import Point
from bench.report import analysis
from bench.rows import COLUMNS


def row(mode="forward", L=1, m=16, d=16, K=1, t=1.0, ops=100, floor=None, status="ok",
        target="gradient", waist=0, dtype="float64", **kw):
    p = Point(L=L, m=m, d=d, K=K, target=target, waist=waist, dtype=dtype)
    r = dict.fromkeys(COLUMNS, "")
    r.update(p.as_dict(), point_key=p.key(), mode=mode, status=status,
             time_median_s=t if status == "ok" else "", ops_predicted=ops,
             floor_s="" if floor is None else floor, ops_exact="True", **kw)
    return r


def frame(rows):
    return analysis.load(".", rows=rows)


def m_line(times, ops=None, mode="forward", floor=None, **kw):
    """Rows along m (d = 8 fixed) at m = 8, 16, 32, … with these times."""
    ms = [8 * 2 ** i for i in range(len(times))]
    ops = ops or [m ** 2 for m in ms]
    return [row(mode, m=m, d=8, t=t, ops=o, floor=floor, **kw) for m, t, o in zip(ms, times, ops)]


def only_line(df, axis="m", tied=False):
    lines = [ln for ln in analysis.find_lines(df) if (ln.axis, ln.tied) == (axis, tied)]
    assert len(lines) == 1, lines
    return lines[0]


def test_a_fit_on_an_exact_power_law_returns_its_exponents():
    """time = 3e-6·m³ and ops = m²: the time slope is 3 and the predicted slope 2, exactly
    (least squares of log time, log ops, on log size), over every point above the floor."""
    ms = [8, 16, 32, 64]
    df = frame(m_line([3e-6 * m ** 3 for m in ms], floor=1e-9))
    f = analysis.fit(only_line(df), "forward", 0.0)
    assert (f["n"], f["n_fit"]) == (4, 4)
    assert f["slope"] == pytest.approx(3.0, abs=1e-9)
    assert f["predicted"] == pytest.approx(2.0, abs=1e-9)


def test_a_point_at_exactly_five_times_its_floor_is_fitted():
    """A point enters the fit when its time is at least FIT_FACTOR (5) × its floor: 5× is in,
    4.5× is out (and 4.999× too)."""
    assert analysis.FIT_FACTOR == 5.0
    df = frame(m_line([4.5, 4.999, 5.0, 10.0, 20.0], floor=1.0))
    f = analysis.fit(only_line(df), "forward", 0.0)
    assert f["n_fit"] == 3
    assert sorted(f["keep"].m) == [32, 64, 128]
    assert f["slope"] == pytest.approx(1.0, abs=1e-9)  # 5, 10, 20 over m = 32, 64, 128


def test_the_predicted_slope_is_fitted_over_the_same_points_as_the_time_slope():
    """Below the floor the counts grow as m (a made-up count), above it as m²: the predicted
    slope over the kept points is 2, not the blend of all points."""
    ms = [8, 16, 32, 64, 128]
    ops = [m for m in ms[:2]] + [m * m for m in ms[2:]]
    df = frame(m_line([1.0, 1.0, 10.0, 40.0, 160.0], ops=ops, floor=1.0))
    f = analysis.fit(only_line(df), "forward", 0.0)
    assert f["n_fit"] == 3
    assert f["predicted"] == pytest.approx(2.0, abs=1e-9)
    assert f["slope"] == pytest.approx(2.0, abs=1e-9)


def test_a_line_with_one_point_above_the_floor_has_no_slope():
    df = frame(m_line([1.0, 1.0, 50.0], floor=1.0))
    f = analysis.fit(only_line(df), "forward", 0.0)
    assert f["n_fit"] == 1 and math.isnan(f["slope"]) and math.isnan(f["predicted"])


def test_rows_without_a_floor_of_their_own_use_the_configurations():
    """floor_s empty (a run from before floors were measured): the `floor` given, here 2.0,
    so 9 s is out and 10 s in; a row's own floor_s wins over it."""
    df = frame(m_line([9.0, 10.0, 20.0, 40.0]))
    assert analysis.fit(only_line(df), "forward", 2.0)["n_fit"] == 3
    assert analysis.fit(only_line(df), "forward", 0.0)["n_fit"] == 4
    own = frame(m_line([9.0, 10.0, 20.0, 40.0], floor=4.0))
    assert analysis.fit(only_line(own), "forward", 0.0)["n_fit"] == 2   # 20 and 40 ≥ 5 × 4
    assert analysis.fit(only_line(own), "forward", 100.0)["n_fit"] == 2


def test_beyond_cache_means_weights_over_the_cache_boundary():
    """slope_big fits the kept points whose weights exceed the cache boundary (strictly).
    Weights of [d = 8, m, K = 1] at L = 1: 8m + m float64 entries, 72m bytes."""
    ms = [8, 16, 32, 64, 128]
    wb = {m: 72 * m for m in ms}
    boundary = wb[32]  # m = 32 is exactly at the boundary: not beyond; m = 64, 128 are
    df = frame(m_line([10.0 * m for m in ms], floor=1e-9))
    f = analysis.fit(only_line(df), "forward", 0.0, boundary=boundary)
    assert f["n_big"] == 2 and f["slope_big"] == pytest.approx(1.0, abs=1e-9)
    assert list(analysis.weight_bytes(df.sort_values("m")).astype(int)) == [wb[m] for m in ms]
    # only kept points count: m = 128 below its floor leaves one big point, no slope
    df2 = frame(m_line([10.0 * m for m in ms[:4]], floor=1e-9) +
                [row(m=128, d=8, t=1.0, ops=128 ** 2, floor=1.0)])
    f2 = analysis.fit(only_line(df2), "forward", 0.0, boundary=boundary)
    assert f2["n_big"] == 1 and math.isnan(f2["slope_big"])
    # without a boundary, no beyond-cache fit
    assert analysis.fit(only_line(df), "forward", 0.0)["n_big"] == 0


def test_weight_bytes_by_hand():
    """W_0 … W_L: d·m + (L−1)·m² + m·K entries (L ≥ 1), d·K at L = 0; float32 4 bytes each."""
    df = frame([row(L=3, m=4, d=2, K=5), row(L=0, m=4, d=3, K=2), row(L=2, m=4, d=2, K=5, dtype="float32")])
    assert list(analysis.weight_bytes(df)) == [8 * (8 + 32 + 20), 8 * 6, 4 * (8 + 16 + 20)]


def test_a_line_needs_three_sizes():
    assert analysis.find_lines(frame(m_line([1.0, 2.0]))) == []
    assert len(analysis.find_lines(frame(m_line([1.0, 2.0, 4.0])))) == 1


def test_lines_are_found_among_ok_rows_only():
    rows = m_line([1.0, 2.0]) + [row(m=32, d=8, status="disagree")]
    assert analysis.find_lines(frame(rows)) == []


def test_the_tied_line_is_d_equal_to_m_per_L_and_K():
    """m = d along a tied line (points with m ≠ d are not on it), one line per (L, K), and
    the label names what is fixed (not d, which moves with m)."""
    rows = [row(m=s, d=s, K=K, t=float(s)) for s in (8, 16, 32) for K in (1, 2)]
    rows += [row(m=64, d=8, t=1.0), row(m=128, d=16, t=1.0)]
    lines = [ln for ln in analysis.find_lines(frame(rows)) if ln.tied]
    assert len(lines) == 2
    for ln in lines:
        assert (ln.rows.m == ln.rows.d).all() and ln.rows.K.nunique() == 1
        assert list(ln.rows.m) == [8, 16, 32]
    assert sorted(ln.label for ln in lines) == ["m (d = m, L = 1, K = 1)", "m (d = m, L = 1, K = 2)"]


def test_the_headline_line_of_a_kind_is_the_longest():
    rows = [row(m=8 * 2 ** i, d=8) for i in range(4)] + [row(m=8 * 2 ** i, d=16) for i in range(3)]
    df = frame(rows)
    config = df.config.iloc[0]
    head = [ln for ln in analysis.headline(analysis.find_lines(df), config) if (ln.axis, ln.tied) == ("m", False)]
    assert len(head) == 1 and head[0].fixed["d"] == 8 and head[0].rows.m.nunique() == 4


def test_a_floor_is_clipped_to_the_fastest_call_sharing_it():
    """At L = 1 the floor 1.0 s is above the fastest call there (0.5 s): clipped to 0.5.
    At L = 2 the floor 2.0 s is below every call there and stays, whatever L = 1 runs at."""
    rows = [row(L=1, m=s, d=8, t=t, floor=1.0) for s, t in ((8, 0.5), (16, 0.9), (32, 3.0))]
    rows += [row(L=2, m=s, d=8, t=t, floor=2.0) for s, t in ((8, 3.0), (16, 4.0), (32, 8.0))]
    df = frame(rows)
    assert list(df[df.L == 1].floor_s) == [0.5] * 3
    assert list(df[df.L == 2].floor_s) == [2.0] * 3


def test_ratios_are_forward_over_reverse_at_points_timed_in_both():
    rows = [row("forward", m=8, t=6.0, ops=300, time_model_s=4.0),
            row("reverse", m=8, t=2.0, ops=100, time_model_s=1.0),
            row("forward", m=16, t=5.0, ops=10),
            row("reverse", m=16, status="disagree"),
            row("forward", m=32, t=5.0, ops=10)]
    r = analysis.ratios(frame(rows))
    assert len(r) == 1
    one = r.iloc[0]
    assert (one.time_ratio, one.ops_ratio, one.model_ratio) == (3.0, 3.0, 4.0)
    assert (one.t_forward, one.t_reverse, one.m) == (6.0, 2.0, 8)


def test_engines_only_leaves_out_peers_and_hourglasses():
    rows = [row("forward"), row("reverse"), row("autograd"),
            row("forward", L=3, waist=2), row("cheapest")]
    out = analysis.engines_only(frame(rows))
    assert sorted(out["mode"]) == ["forward", "reverse"] and (out.waist == 0).all()


def test_rows_of_an_older_schema_load_as_uniform_eager_rows():
    """A schema-1 row has no waist or exec: read as 0 and eager; ops_exact is the text."""
    r = row("forward")
    r.update(waist="", exec="", ops_exact="False")
    df = frame([r, row("reverse")])
    assert list(df.waist) == [0, 0] and list(df["exec"]) == ["eager", "eager"]
    assert list(df.ops_exact) == [False, True]
    assert len(analysis.engines_only(df)) == 2


def test_textbook_leading_terms_and_the_curve_along_a_tied_line():
    assert analysis.textbook_ops("forward", 3, 4, 5) == 2 * 3 * 16 * 5
    assert analysis.textbook_ops("reverse", 3, 4, 5) == 2 * 3 * 16 + 2 * 4 * 5
    rows = [row(m=s, d=s, L=2, t=1.0) for s in (8, 16, 32)]
    tied = only_line(frame(rows), tied=True)
    xs = np.array([8.0, 16.0, 32.0])
    assert list(analysis.curve(tied, "forward", xs)) == list(2 * 2 * xs ** 3)
    assert list(analysis.curve(tied, "reverse", xs)) == list(2 * 2 * xs ** 2 + 2 * xs ** 2)


def test_scale_to_is_the_least_squares_factor_in_logs():
    """c minimising Σ (log t − log c·f)²: the geometric mean of t / f (here 1 and 4 → 2)."""
    f = np.array([3.0, 5.0])
    assert analysis.scale_to([1 * f[0], 4 * f[1]], f) == pytest.approx(2.0)
    assert analysis.scale_to(7.0 * f, f) == pytest.approx(7.0)
