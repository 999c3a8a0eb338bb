"""python -m bench report: every figure drawn and readable, REPORT.md embedding them,
disagreements listed and never plotted, the summary, and bad input."""
from __future__ import annotations

import re

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from bench import report
from bench.report import analysis, document as reporter
from sweep_helpers import fake_run, tiny_run  # noqa: F401  (tiny_run is a fixture)


def make(tmp_path, run_dir, *extra):
    return report.main([str(run_dir), "--results-dir", str(run_dir.parent),
                        "--plots-dir", str(tmp_path / "plots"), *extra])


@pytest.fixture(scope="module")
def fake_report(tmp_path_factory):
    """A report over the default preset's points with made-up times (no timing at all)."""
    tmp = tmp_path_factory.mktemp("fake")
    run = fake_run(tmp / "results")
    assert make(tmp, run) == 0
    return tmp / "plots" / "fake"


def test_every_plot_is_drawn_and_readable(fake_report):
    pngs = sorted(p.name for p in fake_report.glob("*.png"))
    for n in range(1, 6):
        assert any(p.startswith(f"{n}_") for p in pngs), f"figure {n} missing: {pngs}"
    for p in fake_report.glob("*.png"):
        img = mpimg.imread(p)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
        assert np.ptp(img[..., :3]) > 0.5  # not a blank canvas


def test_report_md_embeds_every_figure(fake_report):
    text = (fake_report / "REPORT.md").read_text()
    linked = set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text))
    assert linked == {p.name for p in fake_report.glob("*.png")}
    for words in ("Fitted exponents", "time ratio", "| ok |", "| skipped |", "no CUDA GPU"):
        assert words in text, words


def test_disagreement_is_reported_not_plotted(fake_report, tmp_path):
    text = (fake_report / "REPORT.md").read_text()
    assert "Disagreements and errors (not plotted)" in text and "relerr 0.5" in text
    df = analysis.load(fake_report.parents[1] / "results" / "fake")
    bad = df[df.status == "disagree"].point_key.iloc[0]
    assert bad not in set(analysis.ratios(df).point_key)
    assert all(bad not in set(ln.rows.point_key) for ln in analysis.find_lines(df))


def test_slopes_on_textbook_lines(tmp_path):
    """Times exactly proportional to the counts give the counts' slopes: 3 and 2 on d = m."""
    run = fake_run(tmp_path / "results")
    df = analysis.load(run)
    df.loc[df.status == "ok", "time_median_s"] = df.ops_predicted * 1e-9 + 1e-9
    line = next(ln for ln in analysis.find_lines(df)
                if ln.tied and ln.target == "gradient" and ln.config.startswith("numpy/cpu/float64/1 "))
    big = line.rows[line.rows.m >= 512]
    f = analysis.fit(analysis.Line(line.config, "gradient", "m", True, line.fixed, big), "forward", 0)
    r = analysis.fit(analysis.Line(line.config, "gradient", "m", True, line.fixed, big), "reverse", 0)
    assert f["slope"] == pytest.approx(3, abs=0.02) and r["slope"] == pytest.approx(2, abs=0.05)


def test_report_of_a_real_run_and_latest(tiny_run, tmp_path, capsys):
    root, run = tiny_run
    assert report.main(["--results-dir", str(root), "--plots-dir", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "agreed and timed" in out and f"report: {tmp_path / 'p' / 'tiny' / 'REPORT.md'}" in out
    assert (tmp_path / "p" / "latest").resolve() == (tmp_path / "p" / "tiny").resolve()
    assert len(out.splitlines()) < 30  # one screen
    assert (tmp_path / "p" / "tiny" / "1_ops_counted_vs_predicted.png").exists()


def test_report_without_results(tmp_path, capsys):
    assert report.main(["nope", "--results-dir", str(tmp_path), "--plots-dir",
                        str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no results" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_reference_copy_is_small_and_reported(tiny_run, tmp_path):
    root, run = tiny_run
    res = tmp_path / "results"
    fake = fake_run(res, preset="quick", run_id="r1")
    (fake / "pytest-benchmark.json").write_text((run / "pytest-benchmark.json").read_text())
    assert report.main(["r1", "--reference", "--results-dir", str(res),
                        "--plots-dir", str(tmp_path / "plots")]) == 0
    ref = res / "reference"
    assert (ref / "points.csv").read_text() == (fake / "points.csv").read_text()
    raw = (ref / "pytest-benchmark.json").read_text()
    assert '"median"' in raw and '"data"' not in raw
    assert (tmp_path / "plots" / "reference" / "REPORT.md").exists()
    assert not (tmp_path / "plots" / "latest").exists()


def test_time_ratio_is_forward_over_reverse(tmp_path):
    """Forward 3× slower than reverse everywhere: every ratio, range and summary says 3."""
    run = fake_run(tmp_path / "results", preset="quick")
    df = analysis.load(run)
    ok = df.status == "ok"
    df.loc[ok & (df["mode"] == "forward"), "time_median_s"] = 3e-3
    df.loc[ok & (df["mode"] == "reverse"), "time_median_s"] = 1e-3
    rat = analysis.ratios(df)
    assert len(rat) > 3 and np.allclose(rat.time_ratio, 3.0)
    assert np.allclose(rat.t_forward / rat.t_reverse, 3.0)
    for r in reporter.ratio_ranges(rat):
        assert r["t_min"] == pytest.approx(3) and r["t_max"] == pytest.approx(3)
    text = reporter.summary(run, {}, "Test CPU", df, rat, [])
    assert "forward/reverse time ratio 3 – 3" in text


def test_weight_bytes_counts_every_layer():
    """W_0 (m × d), L − 1 of m × m, and the last layer (K × m); K × d when L = 0."""
    rows = pd.DataFrame({"L": [2, 0, 1], "m": [4, 4, 6], "d": [3, 3, 2], "K": [5, 5, 7],
                         "dtype": ["float64", "float32", "float64"]})
    assert list(analysis.weight_bytes(rows)) == [(4 * 3 + 4 * 4 + 5 * 4) * 8, 5 * 3 * 4,
                                                 (6 * 2 + 7 * 6) * 8]
