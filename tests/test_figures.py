"""The report's figures as a teacher shows them: every series in a legend visible, one style
per mode, exact-count lines, noisy points flagged, the measured cache boundary, figures.json,
the slide look, the slide table, and bad options refused before anything is written."""
from __future__ import annotations

import csv
import io
import json
import re

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from bench import model, report, store
from bench import noise, style
from bench.report import analysis, document, page as pg, slides
from modes import MODES, predict
from sweep_helpers import fake_run

REFERENCE = __import__("pathlib").Path(__file__).resolve().parents[1] / "results" / "reference"

BANDWIDTH = {str(2 ** e): bw for e, bw in zip(range(14, 29), (
    6, 18, 30, 43, 38, 43, 50, 48, 69, 58, 22, 23, 15, 18, 18))}
"""A read-bandwidth curve (GB/s × 1e9 below) shaped like one calibration's: it falls off
beyond 8 MiB."""


def _noisy_run(root):
    """A fake run where forward takes exactly reverse's time on every point of L = 1 (the
    two coincide, as they do there), one forward row made noisy, and a calibration."""
    run = _small_run(root)
    rows = store.read_rows(run / "points.csv")
    for r in rows:
        if r["status"] == "ok" and r["mode"] == "forward" and r["L"] == "1":
            r["time_median_s"] = next(q["time_median_s"] for q in rows if q["mode"] == "reverse"
                                      and q["point_key"] == r["point_key"])
    target = next(r for r in rows if r["status"] == "ok" and r["mode"] == "forward"
                  and r["target"] == "gradient" and r["L"] == "2" and int(r["m"]) >= 256)
    target["time_iqr_s"] = str(float(target["time_median_s"]) * 2)
    store.upsert_rows(run / "points.csv", rows)
    info = store.read_json(run / "meta.json")
    ref = store.read_json(REFERENCE / "meta.json")["calibration"]["numpy/cpu/float64/1"]
    ref = {k: v for k, v in ref.items() if k != "cache_boundary_bytes"}  # found anew below
    info["calibration"] = {"numpy/cpu/float64/1": {
        **ref, "bandwidth": {k: v * 1e9 for k, v in BANDWIDTH.items()}}}
    info["machine"]["llc_bytes"] = 480 * 2 ** 20
    store.write_json(run / "meta.json", info)
    return run, target


def _small_run(root):
    """A fake run of the quick preset's numpy, one-thread rows only (quicker to draw)."""
    run = fake_run(root, preset="quick")
    rows = [r for r in store.read_rows(run / "points.csv")
            if r["backend"] == "numpy" and r["threads"] == "1"]
    (run / "points.csv").unlink()
    store.upsert_rows(run / "points.csv", rows)
    return run


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """A report of the quick preset's points (made-up times, one noisy row), every figure
    checked for hidden series and its text collected as it is written."""
    tmp = tmp_path_factory.mktemp("fig")
    run, noisy_row = _noisy_run(tmp / "results")
    seen = {}

    def hook(fig, stem):
        seen[stem] = {"hidden": pg.invisible(fig), "ticks": _log_tick_labels(fig),
                      "sizes": [t.get_fontsize() for t in fig.findobj(plt.Text) if t.get_text()]}
    page = pg.Page(hook=hook)
    out = tmp / "plots" / "fake"
    document.make_report(run, out, page=page)
    return {"out": out, "run": run, "seen": seen, "noisy": noisy_row,
            "json": json.loads((out / "figures.json").read_text())["figures"]}


def _log_tick_labels(fig):
    labels = []
    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                labels += [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
    return labels


def test_every_series_in_a_legend_has_visible_pixels(drawn):
    assert len(drawn["seen"]) >= 6
    for stem, s in drawn["seen"].items():
        assert s["hidden"] == [], f"{stem}: hidden series {s['hidden']}"


def test_the_visibility_check_finds_a_covered_series():
    """Two series drawn exactly on top of each other in one style: hiding either changes
    nothing, so both count as hidden; a third drawn apart does not."""
    fig, ax = plt.subplots()
    ax.scatter([1, 2], [1, 2], s=80, color="C0", label="under")
    ax.scatter([1, 2], [1, 2], s=80, color="C0", label="over")
    ax.scatter([1.5], [1.2], s=80, color="C1", label="apart")
    assert pg.invisible(fig) == ["under", "over"]
    plt.close(fig)


def test_log_axes_read_in_plain_numbers(drawn):
    for stem, s in drawn["seen"].items():
        bad = [t for t in s["ticks"] if "10^" in t or "$" in t or "×" in t]
        assert not bad, (stem, bad)
    assert any(t in ("16", "64", "256") for s in drawn["seen"].values() for t in s["ticks"])


def test_figures_json_lists_every_file_and_what_was_drawn(drawn):
    figs, out = drawn["json"], drawn["out"]
    drawn_files = {p.name for p in out.glob("*.png")}
    assert {f for v in figs.values() for f in v["files"]} == drawn_files
    for stem, v in figs.items():
        assert v["series"], stem
        for s in v["series"]:
            assert s["kind"] in pg.KINDS and len(s["x"]) == len(s["y"]) and s["colour"]


def test_exact_lines_are_the_closed_form_times_one_constant(drawn):
    """Figure 2's exact series: y / predict.ops_for(...) is the same number at every x;
    the large-L approximation is drawn too and labelled so."""
    figs = {k: v for k, v in drawn["json"].items() if k.startswith("2_")}
    assert figs
    for v in figs.values():
        exact = [s for s in v["series"] if s["kind"] == "exact"]
        approx = [s for s in v["series"] if s["kind"] == "approximation"]
        assert exact and approx and all("large-L" in s["label"] for s in approx)
        for s in exact:
            ratios = [y / _ops(s["mode"], s["line"], x) for x, y in zip(s["x"], s["y"])]
            assert len(ratios) >= 3 and np.allclose(ratios, ratios[0], rtol=1e-9), s["label"]


def _ops(mode, line, x):
    v = {**line["fixed"], line["axis"]: int(x)}
    if line["tied"]:
        v["d"] = int(x)
    return predict.ops_for("gradient", mode, v["L"], v["m"], v["d"], v["K"]).total


def test_one_style_per_mode_in_every_figure(drawn):
    colours = {}
    for stem, v in drawn["json"].items():
        for s in v["series"]:
            if s["mode"]:
                colours.setdefault(s["mode"], set()).add(s["colour"])
    assert {"forward", "reverse"} <= set(colours)
    for mode, cs in colours.items():
        assert cs == {style.colour(mode)}, (mode, cs)


def test_style_table_is_distinct_and_deterministic():
    looks = [style.style_for(m) for m in MODES]
    assert len({s.colour for s in looks}) == len(looks)
    assert len({s.marker for s in looks}) == len(looks)
    assert style.style_for("someone-elses-mode") == style.style_for("someone-elses-mode")
    assert style.style_for("someone-elses-mode").colour not in {s.colour for s in looks[:2]}


def test_a_registered_style_trait_wins(monkeypatch):
    """register_mode(name, mode, style={...}): the figures draw the mode in its own style."""
    from modes import registry

    class Mode:
        gradient = jacobian = staticmethod(lambda *a, **k: None)
    monkeypatch.setitem(MODES, "plugin", Mode())
    monkeypatch.setitem(registry.TRAITS, "plugin",
                        registry.Traits(style={"colour": "#123456", "marker": "h"}))
    assert style.style_for("plugin")[:2] == ("#123456", "h")


def test_noisy_row_is_flagged_drawn_apart_and_not_fitted(drawn):
    key = drawn["noisy"]["point_key"]
    df = analysis.load(drawn["run"])
    assert df[df.noisy].point_key.tolist() == [key]
    for ln in analysis.fit_lines(analysis.engines_only(df)):
        assert key not in set(ln.fits["forward"]["keep"].point_key)
    rat = analysis.ratios(analysis.engines_only(df))
    clean = rat[rat.point_key != key]
    ranges = document.ratio_ranges(rat)
    g = clean[clean.target == "gradient"]
    r = next(r for r in ranges if r["target"] == "gradient")
    assert (r["t_min"], r["t_max"]) == (g.time_ratio.min(), g.time_ratio.max())
    text = (drawn["out"] / "REPORT.md").read_text()
    assert "## Noisy points" in text and key in text and "--min-rounds" in text
    noisy = [s for v in drawn["json"].values() for s in v["series"] if s["kind"] == "noisy"]
    assert noisy and all(s["marker"] != style.style_for(s["mode"]).marker for s in noisy if s["mode"])


def test_noise_rule():
    assert noise.noisy(1.0, 0.6, 10) and noise.noisy(1.0, 0.1, 2)
    assert not noise.noisy(1.0, 0.5, 3)
    rows = [{"status": "ok", "time_median_s": "1", "time_iqr_s": "2", "rounds": "5"},
            {"status": "ok", "time_median_s": "1", "time_iqr_s": "0.1", "rounds": "5"},
            {"status": "skipped", "time_median_s": "", "time_iqr_s": "", "rounds": ""}]
    assert noise.count_rows(rows) == 1


def test_cache_boundary_is_where_the_bandwidth_falls():
    assert model.cache_boundary(BANDWIDTH) == 8 * 2 ** 20
    flat = {k: 40.0 for k in BANDWIDTH}
    assert model.cache_boundary(flat) is None
    late = dict(BANDWIDTH, **{str(2 ** 24): 60, str(2 ** 25): 60})
    assert model.cache_boundary(late) == 32 * 2 ** 20
    cals = {"torch/cpu/float64/1": {"threads": 1, "device": "cpu", "bandwidth": late},
            "numpy/cpu/float64/2": {"threads": 2, "device": "cpu", "bandwidth": flat},
            "numpy/cpu/float64/1": {"threads": 1, "device": "cpu", "bandwidth": BANDWIDTH}}
    assert model.machine_boundary(cals) == 8 * 2 ** 20  # the first one-thread CPU one by name


def test_measured_boundary_is_used_and_shown(drawn):
    text = (drawn["out"] / "REPORT.md").read_text()
    assert "beyond 8 MiB" in text and "480 MiB (sysfs)" in text
    assert (drawn["out"] / "10_bandwidth.png").exists()
    assert document.boundary_of(store.read_json(drawn["run"] / "meta.json")) == 8 * 2 ** 20


def test_report_md_has_no_raw_dicts_or_empty_headings(drawn):
    text = (drawn["out"] / "REPORT.md").read_text()
    assert "{'" not in text and "n/a" not in text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for ln, nxt in zip(lines, lines[1:] + ["# end"]):
        if ln.startswith("#"):
            level = len(ln) - len(ln.lstrip("#"))
            assert not (nxt.startswith("#") and len(nxt) - len(nxt.lstrip("#")) <= level), ln
    assert "## Forward against reverse on the headline lines" in text


def test_incomplete_run_says_so_first(tmp_path):
    run = _small_run(tmp_path / "results")
    info = store.read_json(run / "meta.json")
    store.write_json(run / "meta.json", {**info, "complete": False})
    path, summary = document.make_report(run, tmp_path / "plots")
    assert "incomplete" in path.read_text().splitlines()[2].lower()
    assert "INCOMPLETE" in summary.splitlines()[1]


def test_slide_table_formats_agree_with_the_closed_forms(drawn, capsys):
    run = drawn["run"]
    args = [str(run), "--results-dir", str(run.parent), "--plots-dir", str(run.parent / "none")]
    assert report.main([*args, "--table", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows and not (run.parent / "none").exists()
    for r in rows:
        L, m, d, K = (int(v) for v in re.findall(r"= (\d+)", r["point"]))
        f = predict.ops_for("gradient", "forward", L, m, d, K).total
        b = predict.ops_for("gradient", "reverse", L, m, d, K).total
        assert (int(r["forward ops"]), int(r["reverse ops"])) == (f, b)
        assert float(r["op ratio"]) == pytest.approx(f / b, rel=1e-2)
        assert re.fullmatch(r"[\d.]+ (ns|µs|ms|s)", r["forward time"])
    assert report.main([*args, "--table", "--format", "latex"]) == 0
    assert "\\begin{tabular}" in capsys.readouterr().out
    assert report.main([*args, "--table"]) == 0
    assert capsys.readouterr().out.startswith("| configuration |")


def test_slide_look_formats_and_fonts(tmp_path):
    run = _small_run(tmp_path / "results")
    sizes = []
    page = pg.Page(formats=("png", "svg", "pdf"), dpi=50, look="slide",
                   hook=lambda fig, stem: sizes.extend(
                       (t.get_fontsize(), t.get_text()) for t in fig.findobj(plt.Text) if t.get_text()))
    out = tmp_path / "plots"
    document.make_report(run, out, page=page)
    png = sorted(out.glob("*.png"))
    assert png and all((out / f"{p.stem}.{e}").exists() for p in png for e in ("svg", "pdf"))
    h, w = mpimg.imread(png[0]).shape[:2]
    assert (w, h) == (640, 360)  # 16:9 at the dpi asked for
    footer = {s for s, t in sizes if t == "Test CPU, 2 cores"}  # the one small text
    assert footer and min(footer) >= 7
    assert min(s for s, t in sizes if t != "Test CPU, 2 cores") >= 14


@pytest.mark.parametrize("bad", [["--format", "gif"], ["--format", "png,md"], ["--style", "poster"],
                                 ["--dpi", "0"], ["--dpi", "5000"], ["--table", "--format", "png"]])
def test_bad_options_are_one_line_and_write_nothing(tmp_path, capsys, bad):
    run = fake_run(tmp_path / "results", preset="quick")
    rc = report.main([str(run), "--results-dir", str(run.parent), "--plots-dir",
                      str(tmp_path / "plots"), *bad])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert not (tmp_path / "plots").exists()


def test_plots_dir_that_is_a_file(tmp_path, capsys):
    run = fake_run(tmp_path / "results", preset="quick")
    (tmp_path / "plots").write_text("mine")
    rc = report.main([str(run), "--results-dir", str(run.parent), "--plots-dir",
                      str(tmp_path / "plots")])
    assert rc == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    assert (tmp_path / "plots").read_text() == "mine"


def test_the_batch_figures_draw_the_op_ratio_beside_the_time_ratio(drawn):
    """Figure 11's dotted line is the exact forward/reverse operation ratio at each B of the
    quick preset's batch line (modes.predict, not the run's own column), at the same B as
    the measured ratio; figure 12 has one series per mode. (Their series' visibility is
    checked with every figure's above.)"""
    fig11, fig12 = drawn["json"]["11_ratio_vs_batch"], drawn["json"]["12_time_per_sample"]
    ops = {s["label"].split(", ", 1)[1]: s for s in fig11["series"] if s["label"].startswith("op ratio")}
    times = [s for s in fig11["series"] if s["label"].startswith("time ratio")]
    assert times and len(ops) == len(times)
    w = [256, 256, 256, 1]
    for s in times:
        o = ops[s["label"].split(", ", 1)[1]]
        assert o["x"] == s["x"] and o["kind"] == "exact" and len(s["x"]) >= 2
        want = [predict.gradient_ops_widths("forward", w, activation=True, B=int(B)).total
                / predict.gradient_ops_widths("reverse", w, activation=True, B=int(B)).total
                for B in o["x"]]
        assert o["y"] == pytest.approx(want, rel=1e-12)
    assert sorted(s["mode"] for s in fig12["series"]) == ["forward", "reverse"]
    assert not drawn["seen"]["11_ratio_vs_batch"]["hidden"] and not drawn["seen"]["12_time_per_sample"]["hidden"]
