"""The public API at its edges: absurd widths and seeds, tensors without values, arrays
swapped for ones of another shape, an overflow inside the chain: each is one FwdrevError
and nothing printed beside it."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from modes import MODES, Chain, FwdrevError


@pytest.mark.parametrize("make, words", [
    (lambda: Chain.random([10 ** 20, 2]), "at most"),
    (lambda: Chain.random([10 ** 7, 10 ** 7]), "does not fit in memory"),
    (lambda: Chain.random([2, 2], seed=-1), "seed"),
    (lambda: Chain.random([2, 2]).random_x(seed=-3), "seed"),
    (lambda: Chain.from_matrices([torch.zeros(2, 2, device="meta")], [0, 0]), "meta device"),
])
def test_edges_raise_fwdrev_error(make, words):
    with pytest.raises(FwdrevError, match=words):
        make()


def test_a_meta_device_x_is_refused():
    c = Chain.random([2, 2], backend="torch")
    with pytest.raises(FwdrevError, match="meta device"):
        MODES["reverse"].gradient(c, torch.zeros(2, device="meta"))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_assigning_an_array_checks_its_shape(backend):
    c = Chain.random([3, 4, 2], backend=backend, bias=True)
    be, lin = c.backend, c.linear_layers[0]
    for obj, name, shape in ((lin, "W", (3, 3)), (lin, "b", (3,)), (c.loss, "y", (3,))):
        with pytest.raises(FwdrevError, match=f"{name} has shape"):
            setattr(obj, name, be.asarray(np.zeros(shape)))
    lin.W = be.asarray(np.ones((4, 3)))          # the same shape is fine, and used
    lin.b = None
    got = MODES["forward"].gradient(c, c.random_x()).grad
    want = MODES["reverse"].gradient(c, c.random_x()).grad
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12)


OVERFLOW = """
import numpy as np
from modes import MODES, Chain, FwdrevError
c = Chain.from_matrices([np.eye(2) * 1e60, np.eye(2) * 1e60], [0, 0])
for mode in ("forward", "reverse"):
    try:
        MODES[mode].gradient(c, np.array([1e100, 1e100]))
    except FwdrevError as e:
        print(e)
"""


def test_an_overflow_in_the_chain_is_one_error_and_no_warning():
    p = subprocess.run([sys.executable, "-c", OVERFLOW], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1])
    assert p.stderr == "", p.stderr                      # numpy's RuntimeWarning was here
    assert p.stdout.count("not finite") == 2, p.stdout
