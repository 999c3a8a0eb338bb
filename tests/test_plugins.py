"""Modes from outside the repository: a --plugin file swept (its timed child loads it too),
reported, compared and listed with no edit in the project; an entry point of the
fwdrev.modes group; a plugin that fails is one line naming it; traits are optional."""
from __future__ import annotations

import sys
import textwrap

import pytest

from bench import compare, listing, plugins, report, store
from bench.points import Point, predicted_ops
from bench.sweep import guards
from modes import MODES, TRAITS, Chain, register_mode, traits
from sweep_helpers import MICRO, run_sweep

PEER = '''
from modes import MODES, register_mode

class Mine:  # a peer: reverse mode's answers, its counts left out
    def gradient(self, chain, x, wrt="input", dense_B=False, check=True):
        res = MODES["reverse"].gradient(chain, x, wrt=wrt, check=check)
        res.ops = res.mem = None
        return res
    def jacobian(self, chain, x, check=True):
        res = MODES["reverse"].jacobian(chain, x, check=check)
        res.ops = res.mem = None
        return res

register_mode("{name}", Mine(){traits})
'''


@pytest.fixture
def registry():
    """MODES and TRAITS as they were, after the test (a plugin registers into them)."""
    before = dict(MODES), dict(TRAITS)
    yield
    for table, old in zip((MODES, TRAITS), before):
        table.clear()
        table.update(old)


def _plugin(tmp_path, name="mine", traits=""):
    path = tmp_path / f"{name}_plugin.py"
    path.write_text(PEER.format(name=name, traits=traits))
    return path


def test_a_plugin_mode_is_swept_reported_compared_and_listed(tmp_path, registry, capsys):
    """Catches a child that does not load the plugin (its rows would be errors), a report or
    compare that needs the mode registered to read its rows, and a peer estimated as if it
    counted."""
    path = _plugin(tmp_path)
    root = tmp_path / "results"
    assert run_sweep(root, *MICRO, "--plugin", str(path), "--mode", "reverse,mine",
                     "--run-id", "a") == 0
    rows = store.read_rows(root / "a" / "points.csv")
    mine = [r for r in rows if r["mode"] == "mine"]
    assert len(mine) == 2 and {r["status"] for r in mine} == {"ok"}
    assert all(r["ops_total"] == "" and r["ops_predicted"] == "" for r in mine)
    assert all(float(r["grad_relerr"]) < 1e-12 for r in mine)  # checked against reverse mode
    for name in ("mine",):  # the report and compare run as a user's would: no plugin loaded
        MODES.pop(name), TRAITS.pop(name)
    assert report.main(["a", "--results-dir", str(root), "--plots-dir", str(tmp_path / "p"),
                        "--table"]) == 0
    assert " mine " in capsys.readouterr().out
    assert compare.main(["a", "a", "--results-dir", str(root),
                         "--plots-dir", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert sum(" mine " in line for line in out.splitlines()) == 2
    assert listing.main(["--results-dir", str(root)]) == 0
    assert "a " in capsys.readouterr().out


def test_a_counting_mode_without_a_prediction_is_swept(tmp_path, registry):
    """A counting engine that predicts nothing: its rows carry counts and no prediction
    (the sweep used to stop at "unknown mode")."""
    path = _plugin(tmp_path, "counter", ", counts=True")
    (tmp_path / "counter_plugin.py").write_text(path.read_text().replace(
        "res.ops = res.mem = None", "pass"))
    root = tmp_path / "results"
    assert run_sweep(root, *MICRO, "--plugin", str(path), "--mode", "reverse,counter") == 0
    rows = [r for r in store.read_rows(root / "latest" / "points.csv") if r["mode"] == "counter"]
    ref = {r["point_key"]: r for r in store.read_rows(root / "latest" / "points.csv")
           if r["mode"] == "reverse"}
    assert rows and all(r["status"] == "ok" and r["ops_predicted"] == r["ops_exact"] == ""
                        for r in rows)
    assert all(r["ops_total"] == ref[r["point_key"]]["ops_total"] for r in rows)
    assert predicted_ops(Point(), "counter") is None


@pytest.mark.parametrize("text,why", [
    ("import no_such_package_at_all\n", "ModuleNotFoundError: No module named"),
    ("from modes import register_mode\nregister_mode('half', object())\n",
     "TypeError: mode 'half' has no gradient() function"),
    ("raise RuntimeError('broken\\nsecond line')\n", "RuntimeError: broken"),
])
def test_a_failing_plugin_is_one_line_naming_it(tmp_path, registry, capsys, text, why):
    path = tmp_path / "bad_plugin.py"
    path.write_text(text)
    root = tmp_path / "results"
    assert run_sweep(root, *MICRO, "--plugin", str(path)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"plugin {path} failed to load" in err and why in err
    assert not root.exists()  # nothing written
    assert run_sweep(root, *MICRO, "--plugin", str(tmp_path / "none.py")) == 2
    assert "no such file" in capsys.readouterr().err


def test_an_entry_point_registers_its_modes(tmp_path, registry, monkeypatch):
    """A package declaring a fwdrev.modes entry point (a dist-info on sys.path, as pip
    installs one) is loaded: its function is called and its mode registered."""
    (tmp_path / "ep_mode.py").write_text(textwrap.dedent('''
        def register():
            from modes import MODES, register_mode
            register_mode("ep-mode", MODES["reverse"], counts=True, direction="reverse")
    '''))
    info = tmp_path / "ep_mode-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-mode\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[fwdrev.modes]\nep = ep_mode:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "ep" in plugins.load_entry_points() and "ep-mode" in MODES
    assert traits("ep-mode").counts and traits("ep-mode").execs == ("eager", "graph")


def test_register_mode_without_traits_is_a_peer(registry):
    class Bare:
        def gradient(self, chain, x, wrt="input", dense_B=False, check=True):
            return MODES["autograd"].gradient(chain, x, wrt=wrt, check=check)

        def jacobian(self, chain, x, check=True):
            return MODES["autograd"].jacobian(chain, x, check=check)
    register_mode("bare", Bare())
    t = traits("bare")
    assert not t.counts and t.predict is None and t.execs == ("eager",) and t.missing() is None
    assert guards.kind(Point(), "bare") == "reverse" and predicted_ops(Point(), "bare") is None
    c = Chain.random([3, 4, 2])
    assert MODES["bare"].gradient(c, c.random_x()).ops is None
    with pytest.raises(TypeError, match="direction must be one of"):
        register_mode("sideways", Bare(), direction="sideways")
    register_mode("needs", Bare(), requires=("no_such_package_at_all",))
    assert guards.mode_skip_reason("needs") == "no_such_package_at_all not installed"
    assert sys.modules.get("no_such_package_at_all") is None


BROKEN = '''
from modes import FwdrevError, register_mode

class Broken:  # refuses every chain, as a mode written for other chains would
    def gradient(self, chain, x, wrt="input", dense_B=False, check=True):
        raise FwdrevError("broken: not this chain")
    jacobian = gradient

register_mode("broken", Broken())
'''


def test_a_failing_mode_fails_its_own_rows_and_a_chain_a_mode_is_not_written_for_is_skipped(
        tmp_path, registry):
    """Catches one mode's failure written into every later mode's row of the point (the
    modes were prepared together), and a mode's `handles` trait ignored: hand, written for
    linear chains, must be skipped with its reason on a ReLU point, not fail there."""
    path = tmp_path / "broken_plugin.py"
    path.write_text(BROKEN)
    root = tmp_path / "results"
    run_sweep(root, *MICRO, "--plugin", str(path), "--mode", "forward,reverse,broken,hand",
              "--activation", "none,relu", "--run-id", "a")
    rows = {(r["mode"], r["activation"]): r for r in store.read_rows(root / "a" / "points.csv")}
    assert {rows[("broken", a)]["status"] for a in ("none", "relu")} == {"error"}
    assert "broken: not this chain" in rows[("broken", "none")]["reason"]
    assert rows[("hand", "none")]["status"] == "ok"
    assert rows[("hand", "relu")]["status"] == "skipped"
    assert "activation none only" in rows[("hand", "relu")]["reason"]
    for a in ("none", "relu"):
        assert rows[("forward", a)]["status"] == rows[("reverse", a)]["status"] == "ok"


def test_handles_names_the_layer_kinds_a_mode_refuses():
    t = traits("hand")
    assert t.refuses({"activation": "none", "loss": "squared", "bias": "off"}) is None
    assert "bias" in t.refuses({"activation": "none", "loss": "squared", "bias": "on"})
    assert "loss" in t.refuses({"activation": "none", "loss": "softmax_ce", "bias": "off"})
    assert traits("reverse").refuses({"activation": "relu"}) is None
