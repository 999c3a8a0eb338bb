"""The axis table (bench.axes) and the three layer axes: activation, loss and bias.

Points and rows read back the same from every schema, the README's axis table is the
table's, the grid takes the new axes, and on every (activation, loss, bias, target) the
engines' counts equal their closed forms and their answers torch.autograd's."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from bench import axes, store
from bench.errors import UsageError
from bench.points import Point, predicted_memory, predicted_ops, prepare, relerr, to_numpy_list
from bench.sweep import grid, presets
from modes import get_backend

REPO = Path(__file__).resolve().parents[1]


def test_the_keys_of_points_from_before_the_layer_axes_stay():
    old = "backend=numpy/device=cpu/dtype=float64/threads=1/target=gradient/L=1/m=16/d=16/K=1"
    assert Point().key() == old  # none, squared and off are left out of the key
    relu = Point(activation="relu", loss="softmax_ce", bias="on")
    assert relu.key() == old + "/activation=relu/loss=softmax_ce/bias=on"
    assert Point.from_dict(relu.as_dict()) == relu
    schema2 = {k: v for k, v in Point().as_dict().items() if k not in ("activation", "loss", "bias")}
    assert Point.from_dict(schema2) == Point()
    assert Point.from_dict({**schema2, "activation": "", "bias": ""}) == Point()


def test_the_committed_reference_run_and_an_older_schema_of_it_read_whole(tmp_path):
    """The reference reads with every row good and every key as written; the same rows of
    one x on a linear chain, written as schema 2 did (no activation, loss, bias or B
    column), read through the upgrade to the same keys: a missing column must read as its
    axis's default, never as empty text in a key."""
    import csv
    path = REPO / "results" / "reference" / "points.csv"
    rows, bad = store.read_checked(path)
    assert rows and not bad
    assert all(Point.of_row(r).key() == r["point_key"] for r in rows)
    newer = ("activation", "loss", "bias", "B")
    plain = [r for r in rows if (r["activation"], r["loss"], r["bias"], r["B"]) == ("none", "squared", "off", "1")]
    assert plain and len(plain) < len(rows)
    with open(path, newline="") as f:
        header = [c for c in next(csv.reader(f)) if c not in newer]
    old = tmp_path / "points.csv"
    with open(old, "w", newline="") as f:
        w = csv.DictWriter(f, header, extrasaction="ignore")
        w.writeheader()
        w.writerows(plain)
    got, bad = store.read_checked(old)
    assert len(got) == len(plain) and not bad
    assert [Point.of_row(r).key() for r in got] == [r["point_key"] for r in plain]
    assert {Point.of_row(r).activation for r in got} == {"none"} and {Point.of_row(r).B for r in got} == {1}


@pytest.mark.parametrize("axis,value,match", [("activation", "gelu", "unknown activation 'gelu'"),
                                               ("loss", "hinge", "unknown loss 'hinge'"),
                                               ("bias", "yes", "unknown bias 'yes'")])
def test_a_bad_layer_value_is_one_line(axis, value, match):
    with pytest.raises(UsageError, match=match):
        grid.check_axis(axis, [value])
    with pytest.raises(UsageError, match=match):
        Point(**{axis: value})


def test_labels_name_the_layers_once_each():
    p = Point(L=2, m=8, d=8, activation="tanh", bias="on")
    assert p.label() == "gradient L2 m8 d8 K1 tanh bias numpy/cpu/float64/1t"
    assert p.label("id") == "gradient-numpy-cpu-float64-t1-L2-m8-d8-K1-tanh-bias"
    assert p.label("short") == "numpy/gradient L=2 m=8 d=8 K=1 tanh bias"
    assert Point(L=2, m=8, d=8).label("short") == "numpy/gradient L=2 m=8 d=8 K=1"
    assert axes.words(p.as_dict()) == axes.words(p) == "gradient L2 m8 d8 K1 tanh bias"


def test_the_readme_axis_table_is_the_table():
    text = (REPO / "results" / "README.md").read_text()
    table = re.search(r"<!-- axes -->\n(.*?)\n<!-- /axes -->", text, re.S).group(1)
    assert table == axes.readme_table()
    for column in store.COLUMNS:  # and every column of points.csv is documented
        assert f"| `{column}` |" in text, column


def test_the_grid_expands_the_layer_axes_and_the_default_preset_has_activations():
    cases = grid.expand(grid.subgrids(None, {"activation": ["none", "relu", "tanh", "sigmoid"],
                                             "loss": ["squared", "softmax_ce"], "bias": ["off", "on"],
                                             "m": [4]}))
    assert len(cases) == 16 and len({p.key() for p, _, _ in cases}) == 16
    line = [g for g in presets.PRESETS["default"]["grids"] if "activation" in g]
    assert line and set(line[0]["activation"]) >= {"relu", "tanh", "sigmoid"}


SHAPES = ((2, 5, 4, 3, 0), (3, 6, 7, 4, 2), (0, 3, 5, 2, 0), (1, 4, 3, 1, 0))
"""(L, m, d, K, waist): uniform, an hourglass, no hidden layer, a scalar output."""


@pytest.mark.parametrize("activation,loss", list(itertools.product(
    ("none", "relu", "tanh", "sigmoid"), ("squared", "softmax_ce"))))
def test_counts_equal_the_closed_forms_and_answers_torch_autograd(activation, loss):
    """Catches an engine or a prediction that ignores a layer kind (a diagonal skipped, a
    bias's columns left out of the parameter count), and a chain built without the layers
    the point names (all modes would then agree, with autograd too, on the wrong function:
    the counts would still differ from the closed forms with activations)."""
    b = get_backend("numpy", "cpu", "float64")
    for bias, target, (L, m, d, K, s) in itertools.product(("off", "on"), axes.TARGETS, SHAPES):
        p = Point(target=target, L=L, m=m, d=d, K=K, waist=s, activation=activation, loss=loss,
                  bias=bias)
        _, res = prepare(p, modes=("forward", "reverse", "cheapest", "autograd"))
        ref = to_numpy_list(b, res["autograd"])
        for mode in ("forward", "reverse", "cheapest"):
            assert res[mode].ops == predicted_ops(p, mode), (p.label(), mode)
            mem = predicted_memory(p, mode)
            assert mem is None or mem == res[mode].mem["peak"], (p.label(), mode)
            assert relerr(to_numpy_list(b, res[mode]), ref) < 1e-12, (p.label(), mode)
        if activation != "none" and L and target != "params":
            linear = Point(target=target, L=L, m=m, d=d, K=K, waist=s, loss=loss, bias=bias)
            assert res["forward"].ops != predicted_ops(linear, "forward")
