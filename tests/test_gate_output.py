"""The gate's small checks, its additive canary, and what it writes for CI (--json,
--summary, $GITHUB_STEP_SUMMARY, --junit). Timings are synthetic except where a test says."""
import json
import xml.etree.ElementTree as ET

import pytest

from bench.gate import canary, cli, measure, output
from test_gate_cli import MODE_KEYS, RATIO, fake_timing, make_doc, one_line_error, write  # noqa: F401
from test_gate_cli import predicted_counts_as_measured  # noqa: F401  (autouse fixture)


# -- the additive canary ---------------------------------------------------------------------------
@pytest.mark.parametrize("text,seconds", [("+20us", 20e-6), ("+20µs", 20e-6), ("+0.5ms", 5e-4),
                                          ("+1.5e1us", 15e-6), ("+300ns", 3e-7), ("+1s", 1.0)])
def test_additive_canary_units(text, seconds):
    factor, add = canary.parse([f"reverse={text}"], measure.MODES)["reverse"]
    assert factor == 1.0 and add == pytest.approx(seconds)


def test_a_factor_and_an_addition_for_one_mode_combine():
    got = canary.parse(["reverse=1.25", "reverse=+20us", "cheapest=+5us"], measure.MODES)
    assert got == {"reverse": (1.25, pytest.approx(2e-5)), "cheapest": (1.0, pytest.approx(5e-6))}
    assert canary.parse(["reverse=+10us", "reverse=+10us"], measure.MODES)["reverse"][1] == \
        pytest.approx(2e-5)
    assert canary.describe(got) == "reverse x1.25, reverse +20 µs, cheapest +5 µs"


@pytest.mark.parametrize("arg", ["reverse=+20", "reverse=+20xs", "reverse=+0us", "reverse=+-3us",
                                 "reverse=+2s", "reverse=+us", "forward=+20 us", "cheapest=+nanus"])
def test_bad_additive_canary_is_one_line_exit_2_and_writes_nothing(write, capsys, tmp_path, arg):
    j = tmp_path / "gate.json"
    assert cli.main(["--baseline", write(make_doc()), "--inject-slowdown", arg,
                     "--json", str(j)]) == 2
    assert "--inject-slowdown" in one_line_error(capsys) and not j.exists()


def test_delayed_adds_the_amount_to_every_call(monkeypatch):
    clock = {"now": 0.0}

    def tick():
        clock["now"] += 1e-7
        return clock["now"]
    monkeypatch.setattr(measure.time, "perf_counter", tick)

    def work():  # a call of 10 µs
        clock["now"] += 10e-6
    slow = canary.delayed(work, 20e-6)
    t0 = tick()
    for _ in range(3):
        slow()
    assert tick() - t0 == pytest.approx(3 * 30e-6, abs=2e-6)
    assert canary.delayed(work, 0) is work


def test_additive_canary_reaches_the_measurement(write, fake_timing, capsys, monkeypatch):
    seen = []
    real = measure.measure

    def spy(check, mode, blocks, factor=1.0, add_s=0.0, seed=0):
        seen.append((mode, add_s))
        return real(check, mode, blocks, factor, add_s, seed)
    monkeypatch.setattr(measure, "measure", spy)
    cli.main(["--baseline", write(make_doc()), "--inject-slowdown", "forward=+20us"])
    assert all(a == pytest.approx(2e-5) for m, a in seen if m == "forward")
    assert sum(m == "forward" for m, _ in seen) == sum("forward" in c.modes for c in measure.CHECKS)
    assert {a for m, a in seen if m != "forward"} == {0.0}
    assert "canary: forward +20 µs" in capsys.readouterr().out


# -- the small checks -------------------------------------------------------------------------------
def test_small_checks_cover_both_sizes_backends_targets_and_the_canaries_modes():
    small = [c for c in measure.CHECKS if c.small]
    assert {(c.point.L, c.point.m, c.point.d, c.point.K) for c in small} == {(2, 16, 16, 10), (3, 64, 32, 1)}
    assert {(c.point.backend, c.point.target) for c in small} == {
        (b, t) for b in ("numpy", "torch") for t in ("gradient", "params")}
    assert {m for c in small for m in c.modes} == set(measure.MODES)  # every canary can be caught


def test_interleaved_min_takes_each_sides_quickest_call(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock["now"])
    order = []
    costs = {"e": iter([3.0] * 3 + [30.0, 3.0, 3.0] * 2), "r": iter([2.0] * 3 + [2.0, 20.0, 2.0] * 2)}

    def side(name):
        def run():
            order.append(name)
            clock["now"] += next(costs[name])
        return run
    ratios, te, tr = measure.interleaved_min(side("e"), side("r"), rounds=2, calls=3)
    assert ratios == [1.5, 1.5] and te == 3.0 and tr == 2.0  # the preempted calls do not count
    assert order[2 * measure.WARMUP_BLOCKS:] == list("erererrerere")  # the order flips each round


def test_a_real_additive_slowdown_moves_the_small_statistic():
    """The gate's own measurement at its smallest numpy point: +50 µs on a call of ~15 µs
    must move the quickest-call ratio several times over (measured, with a wide margin)."""
    check = next(c for c in measure.CHECKS if c.small and c.point.backend == "numpy"
                 and c.point.m == 16 and c.point.target == "gradient")
    clean = measure.measure(check, "reverse", blocks=5)
    slowed = measure.measure(check, "reverse", blocks=5, add_s=50e-6)
    med = lambda r: sorted(r)[len(r) // 2]  # noqa: E731
    assert med(slowed["ratios"]) > 1.8 * med(clean["ratios"])


def test_small_checks_get_the_wider_band():
    assert cli.stats.tolerance_for(0.0, small=True) == cli.stats.SMALL_TOL_FLOOR
    assert cli.stats.tolerance_for(1.0, small=True) == cli.stats.SMALL_TOL_CAP
    assert cli.stats.tolerance_for(0.0) == cli.stats.TOL_FLOOR


# -- machine-readable output -------------------------------------------------------------------------
def test_json_summary_and_junit_of_a_regression(write, fake_timing, tmp_path, capsys, monkeypatch):
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    fake_timing[0][MODE_KEYS[0]] = RATIO * 1.5
    paths = {k: tmp_path / f"gate.{k}" for k in ("json", "summary", "junit")}
    rc = cli.main(["--baseline", write(make_doc()), *[a for k, p in paths.items()
                                                      for a in (f"--{k}", str(p))]])
    assert rc == 1
    doc = json.loads(paths["json"].read_text())
    assert doc["verdict"] == "regressed" and doc["exit_code"] == 1
    assert doc["fingerprint"]["arch"] and len(doc["timing"]) == len(MODE_KEYS)
    bad = [t for t in doc["timing"] if t["failed"]]
    assert [(t["key"], t["mode"]) for t in bad] == [MODE_KEYS[0]]
    assert bad[0]["statistic"] > bad[0]["band"][1] and bad[0]["lo"] > bad[0]["band"][1]
    assert all(len(t["band"]) == 2 and t["band"][0] < t["statistic"] < t["band"][1]
               for t in doc["timing"] if not t["failed"])
    assert {t["small"] for t in doc["timing"]} == {True, False}
    md = paths["summary"].read_text()
    assert md.startswith("## fwdrev regress: REGRESSED (exit 1)") and "**slower**" in md
    assert md.count("\n| ") == len(MODE_KEYS) + 1  # the header row and one row per check
    assert step.read_text() == "earlier step\n" + md  # appended, not replaced
    suite = ET.parse(paths["junit"]).getroot()
    cases = suite.findall("testcase")
    n_counted = len(measure.CHECKS + measure.COUNT_ONLY)
    assert len(cases) == len(MODE_KEYS) + n_counted == int(suite.get("tests"))
    assert suite.get("failures") == "1" and len(suite.findall("testcase/failure")) == 1


def test_json_with_counts_only_holds_the_counts(write, tmp_path, capsys):
    j = tmp_path / "gate.json"
    assert cli.main(["--baseline", write(make_doc()), "--counts-only", "--json", str(j)]) == 0
    doc = json.loads(j.read_text())
    assert doc["verdict"] == "pass" and doc["exit_code"] == 0 and doc["timing"] == []
    assert len(doc["counts"]) == len(measure.CHECKS + measure.COUNT_ONLY)
    assert {c["verdict"] for c in doc["counts"]} == {"equal"}


def test_json_of_a_count_mismatch_and_of_a_missing_baseline(write, tmp_path, capsys):
    doc = make_doc()
    doc["counts"][0]["counts"]["reverse"]["mults"] -= 1
    j = tmp_path / "gate.json"
    assert cli.main(["--baseline", write(doc), "--counts-only", "--json", str(j)]) == 5
    got = json.loads(j.read_text())
    assert got["verdict"] == "exact gate failed" and got["counts"][0]["problems"]
    assert cli.main(["--baseline", str(tmp_path / "none.json"), "--json", str(j)]) == 3
    assert json.loads(j.read_text())["verdict"] == "baseline unusable"


@pytest.mark.parametrize("flag", ["--json", "--summary", "--junit"])
def test_an_output_in_a_missing_folder_is_refused_before_anything_runs(write, tmp_path, capsys,
                                                                       flag, monkeypatch):
    step = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    assert cli.main(["--baseline", write(make_doc()), flag, str(tmp_path / "no" / "x")]) == 2
    assert "no directory" in one_line_error(capsys)
    assert cli.main(["--baseline", write(make_doc()), flag, str(tmp_path)]) == 2
    assert "is a directory" in one_line_error(capsys)
    assert not step.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_an_output_through_a_planted_link_is_refused_and_its_target_kept(write, tmp_path, capsys):
    """A --json path that is a symlink someone planted: a one-line usage error before the gate
    runs, the link and its target as they were."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "gate.json"
    link.symlink_to(victim)
    assert cli.main(["--baseline", write(make_doc()), "--counts-only", "--json", str(link)]) == 2
    assert victim.read_text() == "keep me\n" and link.is_symlink()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "symbolic link" in err[0]


def test_markdown_and_junit_of_an_error_document():
    doc = output.document(3, {"arch": "x"}, [], [], error="no baseline at /x")
    assert "error: no baseline at /x" in output.markdown(doc)
    suite = ET.fromstring(output.junit(doc).split("?>", 1)[1])
    assert suite.get("errors") == "1" and suite.find("testcase/error") is not None
