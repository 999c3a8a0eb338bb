"""Properties the oracle and count tests do not pin down, each written against a specific
wrong implementation that would otherwise pass the whole suite."""
import numpy as np
import pytest

from modes import Chain

from conftest import params_numpy


@pytest.mark.parametrize("widths", [[1024, 4, 1024, 3], [3, 2048, 2]], ids=str)
def test_random_weights_have_variance_one_over_fan_in(widths):
    """W_i ~ N(0, 1/n_i) with n_i the layer's input width (W_i is n_{i+1} × n_i). The widths
    are far from square, so scaling by 1/√n_{i+1} instead is off by a factor ≥ 256 in the
    variance, while each empirical variance (≥ 3000 samples) is within 20% of 1/n_i."""
    chain = Chain.random(widths, seed=2)
    for i, (W, _) in enumerate(params_numpy(chain)):
        n_out, n_in = W.shape
        assert (n_out, n_in) == (widths[i + 1], widths[i])
        assert abs(W.var() * n_in - 1) < 0.2, (i, W.var(), 1 / n_in)
        assert abs(W.mean()) < 4 / np.sqrt(W.size * n_in), i
