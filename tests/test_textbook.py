"""docs/maths.md §5: the textbook's exact numbers, from the engines and from the CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from modes import MODES, Chain, predict, textbook

# Written out here from docs/maths.md §5, independently of modes/textbook.py's own table.
SPEC = {
    "z1": [1, 1], "z2": [-1, 1], "f": 0.5,
    "F0": [[0, 1, -1], [2, 0, 1]], "F1": [[0, -1, 1], [-2, 2, -3]],
    "G2": [-1, 0], "G1": [1, 0], "grad_forward": [0, 1, -1], "grad_reverse": [0, 1, -1],
    "dW0": [[1, 0, -1], [0, 0, 0]], "dW1": [[-1, -1], [0, 0]],
    "q0": [1, 0, -1, 0, 0, 0], "q1": [-1, -1, 0, 0], "ops_forward": 27, "ops_reverse": 15,
}


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_number_of_section_5(backend, dtype):
    got = textbook.compute(backend=backend, dtype=dtype)
    for name, want in SPEC.items():
        assert np.array_equal(np.asarray(got[name], dtype=float), np.asarray(want, dtype=float)), name
    assert got["params_agree"] is True


def test_counts_are_the_closed_forms_at_the_textbook_shape():
    assert predict.gradient_ops("forward", 1, 2, 3, 2).total == 27
    assert predict.gradient_ops("reverse", 1, 2, 3, 2).total == 15


def test_engines_directly_on_the_textbook_chain():
    c = Chain.from_matrices([textbook.W0, textbook.W1], textbook.Y)
    fw = MODES["forward"].gradient(c, textbook.X)
    assert (fw.ops.mults, fw.ops.adds) == (3 * 2 * 2 + 2 * 3, 3 * 2 * 1 + 3 * 1)  # 18 + 9
    rv = MODES["reverse"].gradient(c, textbook.X)
    assert (rv.ops.mults, rv.ops.adds) == (2 * 2 + 2 * 3, 2 * 1 + 3 * 1)            # 6 + 9


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "modes", "textbook", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_prints_every_number_and_exits_zero():
    out = _cli()
    assert out.returncode == 0, out.stderr
    for name in SPEC:
        sym, words = textbook.NAMES[name]
        assert any(sym in ln and words in ln for ln in out.stdout.splitlines()), name
    assert "DIFFERS" not in out.stdout and "all equal" in out.stdout


def test_cli_prints_the_inputs_before_the_numbers():
    """x, W₀, W₁, y with their values (written out here from §5), above the first result."""
    lines = _cli().stdout.splitlines()
    first = next(n for n, ln in enumerate(lines) if "z₁" in ln and "hidden" in ln)
    for sym, value in (("x", "[1, 0, -1]"), ("W₀", "[[0, 1, -1], [2, 0, 1]]"),
                       ("W₁", "[[-1, 0], [2, -1]]"), ("y", "[0, 1]")):
        at = [n for n, ln in enumerate(lines) if ln.split("=")[0].strip() == sym and value in ln]
        assert at and at[0] < first, sym


def test_fwdrev_textbook_help_names_the_command_and_every_flag(capsys):
    from bench.__main__ import main
    assert main(["textbook", "--help"], prog="fwdrev") == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: fwdrev textbook")
    for flag in ("--json", "--backend", "--device", "--dtype"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(flag))
        assert len(line.split(None, 2)) == 3 or flag == "--json", flag  # it says what it does


def test_cli_json():
    out = _cli("--json")
    assert out.returncode == 0
    data = json.loads(out.stdout)
    assert data["ok"] is True
    rows = {r["name"]: r for r in data["rows"]}
    assert rows["ops_forward"]["computed"] == 27 and rows["ops_reverse"]["computed"] == 15
    assert all(r["equal"] for r in rows.values())


def test_cli_exits_nonzero_when_a_number_differs(monkeypatch, capsys):
    from modes.__main__ import main
    monkeypatch.setitem(textbook.EXPECTED, "ops_forward", 28)
    assert main(["textbook"]) == 1
    assert "DIFFERS" in capsys.readouterr().out


def test_cli_bad_backend_is_one_line():
    out = _cli("--backend", "jax")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "unknown backend 'jax'" in out.stderr
