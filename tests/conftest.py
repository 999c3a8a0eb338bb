"""Shared test helpers: an independent float64 torch re-implementation of the chain (the
oracle), and conversions. Nothing here calls the engines."""
import os

import numpy as np
import pytest
import torch

from modes import cuda_available

# Sweeps in the tests (in-process and in subprocesses) skip the time model's ~10 s
# calibration; tests/test_model.py and tests/test_sweep_modes.py test it directly.
os.environ.setdefault("FWDREV_NO_MODEL", "1")

TORCH_ACT = {None: None, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def params_numpy(chain):
    """[(W, b or None)] as float64 numpy arrays, read from the chain's layers."""
    b = chain.backend
    out = []
    for ps in chain.params():
        W = b.to_numpy(ps[0]).astype(np.float64)
        out.append((W, b.to_numpy(ps[1]).astype(np.float64) if len(ps) > 1 else None))
    return out


def target_numpy(chain):
    return chain.backend.to_numpy(chain.loss.y).astype(np.float64)


def torch_h(chain, params=None):
    """h as a float64 torch function of x (and optionally of the parameters)."""
    act = TORCH_ACT[chain.activation]
    fixed = [(torch.tensor(W), None if b is None else torch.tensor(b)) for W, b in params_numpy(chain)]

    def h(x, ps=None):
        ps = fixed if ps is None else ps
        z = x
        for i, (W, b) in enumerate(ps):
            z = W @ z + (b if b is not None else 0)
            if act is not None and i < len(ps) - 1:
                z = act(z)
        return z
    return h


def torch_loss(chain):
    y = torch.tensor(target_numpy(chain))
    if chain.loss_name == "squared":
        return lambda yhat: 0.5 * ((y - yhat) ** 2).sum()
    return lambda yhat: -(y * torch.log_softmax(yhat, dim=0)).sum()


def torch_f(chain):
    h, loss = torch_h(chain), torch_loss(chain)
    return lambda x, ps=None: loss(h(x, ps))


WORST = {"relerr": 0.0, "where": ""}


def relerr(a, b):
    """‖a − b‖ / ‖b‖; the largest seen in the session is printed at the end."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    e = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
    if e > WORST["relerr"]:
        WORST.update(relerr=e, where=os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0])
    return e


def pytest_terminal_summary(terminalreporter):
    if WORST["where"]:
        terminalreporter.write_line(
            f"largest relative error seen: {WORST['relerr']:.3g} ({WORST['where']})")


def as_np(chain, a):
    return chain.backend.to_numpy(a).astype(np.float64)


requires_cuda = pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU on this machine")
