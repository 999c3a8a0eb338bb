"""Named sweeps, as data: each preset is a list of sub-grids (one per line of the plots)
plus its timing settings and guards.

A sub-grid is a dict of axis → list of values; axes it leaves out take `AXIS_DEFAULTS`.
The grid of a preset is the union of its sub-grids' Cartesian products (a point listed
twice is timed once). Four special values:

- ``"d": ["m"]`` ties d to m (the d = m line, where forward mode costs ≈ 2Lm³);
- ``"device": ["auto"]`` is the CPU, plus CUDA where a GPU is present;
- ``"exec": ["auto"]`` (every preset's) is eager on the CPU, eager and graph on CUDA;
- ``"mode": ["all"]`` (ALL_MODES) is every registered mode, a plugin's too, and
  ``["fast"]`` (QUICK_MODES) every one but those that compile for seconds per shape.

Each sub-grid is a straight line through the shape space, so the report can fit a slope
on it: time against m at d = m (forward ≈ m³, reverse ≈ m²), against m at fixed d, against
d at fixed m, against L, and the Jacobian's K (and d) lines for the d ≈ K crossover.
"""
from __future__ import annotations

from bench import axes

AXES = axes.NAMES
"""Every axis of the grid (bench.axes: a new axis is a row there)."""

ALL_MODES = ["all"]
"""Every registered mode when the grid is expanded, a plugin's too (the jax ones are
skipped, said why, where JAX is not installed)."""
QUICK_MODES = ["fast"]
"""The smoke test's modes: every one but those that compile for seconds (torch-compile)."""

AXIS_DEFAULTS = {a.name: a.grid_values() for a in axes.AXES}
"""What an axis is when neither the sub-grid nor the command line names it (bench.axes:
its default; exec auto; the modes forward and reverse). One thread per pool: more threads
is an explicit axis, never inherited from the machine."""

TIMING_DEFAULTS = {"max_time": 0.25, "min_rounds": 5, "warmup_iterations": 3}
"""pytest-benchmark settings: seconds of rounds per benchmark, at least min_rounds rounds,
and a warm-up of a few calls (pytest-benchmark does none on CPython unless told)."""

GUARD_DEFAULTS = {"mem_budget_gb": 4.0, "max_point_s": 30.0, "tol": None}
"""A point is skipped when its estimated memory exceeds mem_budget_gb or its estimated
wall time (both modes, every round) exceeds max_point_s. tol None: by dtype."""


BATCHES = [1, 4, 16, 64, 256]
"""The batch line's B: one x, then batches from where reverse mode's rows stack into
matrices to where its products are GEMMs of the hidden width's size."""


def _line(**axes):
    return axes


PRESETS = {
    # Smoke and CI: a few points on every line, about half a minute.
    "quick": {
        "about": "smoke test: a few points per line (about 40 s on 2 CPU cores)",
        "timing": {"max_time": 0.05, "min_rounds": 3, "warmup_iterations": 2},
        "guards": {"mem_budget_gb": 1.0, "max_point_s": 10.0},
        "grids": [
            _line(name="m (d = m)", m=[16, 64, 256, 512, 1024, 2048], d=["m"]),
            _line(name="m (d = 16)", m=[256, 1024, 2048, 4096], d=[16]),
            _line(name="d (m = 256)", m=[256], d=[16, 256, 1024, 4096]),
            _line(name="L (m = d = 256)", m=[256], d=[256], L=[1, 2, 4, 8]),
            _line(name="params m (d = m)", target=["params"], m=[8, 16, 32, 64], d=["m"]),
            _line(name="jacobian K (m = d = 256)", target=["jacobian"], m=[256], d=[256],
                  K=[4, 64, 1024]),
            _line(name="torch m (d = m)", backend=["torch"], device=["auto"], m=[64, 256, 1024],
                  d=["m"]),
            _line(name="modes m (d = m)", mode=QUICK_MODES, m=[16, 256], d=["m"]),
            _line(name="hourglass jacobian [512, m, 8, m, 512]", target=["jacobian"], L=[3],
                  waist=[8], d=[512], K=[512], m=[512, 2048], mode=["forward", "reverse", "cheapest"]),
            _line(name="batch B (relu, m = d = 256)", activation=["relu"], m=[256], d=[256],
                  B=BATCHES),
        ],
    },
    # What `make bench` runs: wide enough for the slopes and the crossover, about 5 min.
    "default": {
        "about": "make bench: every line wide enough for slopes and the d ≈ K crossover (about "
                 "5 min on 2 idle CPU cores)",
        "timing": {"max_time": 0.5, "min_rounds": 5, "warmup_iterations": 3},
        "guards": {"mem_budget_gb": 4.0, "max_point_s": 150.0},
        "grids": [
            # Up to m = 4096 so reverse mode has points past the cache (its slope 2 needs it);
            # forward costs ≈ 4 s a call there, the one point that needs the 150 s cap.
            _line(name="m (d = m)", m=[16, 32, 64, 128, 256, 512, 1024, 2048, 3072, 4096],
                  d=["m"]),
            # Reverse mode is memory-bound: its m² slope shows once W no longer fits in cache.
            _line(name="m (d = 16)", m=[64, 128, 256, 512, 1024, 2048, 4096, 8192], d=[16]),
            _line(name="d (m = 256)", m=[256],
                  d=[16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]),
            _line(name="L (m = d = 256)", m=[256], d=[256], L=[1, 2, 4, 8, 16, 32]),
            _line(name="heatmap m × d", m=[16, 64, 256, 1024], d=[16, 64, 256, 1024]),
            # Activations (their Jacobians depend on x: a diagonal after each hidden layer) and
            # both losses, along d = m: the counts hold, and the diagonals' cost shows.
            _line(name="activations m (d = m)", activation=["none", "relu", "tanh", "sigmoid"],
                  loss=["squared", "softmax_ce"], m=[16, 64, 128], d=["m"]),
            # Forward accumulation of the parameter gradient costs ≈ m⁴ at d = m: kept small.
            _line(name="params m (d = m)", target=["params"], m=[8, 16, 32, 64, 128], d=["m"]),
            _line(name="jacobian K (m = d = 256)", target=["jacobian"], m=[256], d=[256],
                  K=[1, 4, 16, 64, 256, 1024, 4096]),
            _line(name="jacobian d (m = 256, K = 64)", target=["jacobian"], m=[256], K=[64],
                  d=[4, 16, 64, 256, 1024, 4096]),
            _line(name="torch m (d = m)", backend=["torch"], device=["auto"],
                  m=[16, 64, 256, 512, 1024, 2048], d=["m"]),
            _line(name="2 threads m (d = m)", threads=[2], m=[256, 512, 1024, 2048, 3072],
                  d=["m"]),
            # Every mode, peers and the cheapest bracketing, along the d = m line (torch-compile,
            # which compiles for seconds per shape, only with --mode all or torch-compile).
            _line(name="modes m (d = m)", mode=QUICK_MODES, m=[16, 64, 256, 1024], d=["m"]),
            # An hourglass: the cheapest bracketing multiplies through the waist first.
            _line(name="hourglass jacobian [512, m, 8, m, 512]", target=["jacobian"], L=[3],
                  waist=[8], d=[512], K=[512], m=[256, 512, 1024, 2048],
                  mode=["forward", "reverse", "cheapest"]),
            # Batches: reverse mode's rows stack into B × m matrices (GEMV becomes GEMM). On a
            # ReLU chain every Jacobian depends on its sample; on the linear chain forward
            # mode's W_L ⋯ W_0 is one product for the whole batch (docs/maths.md §7). The
            # reverse-mode peers batch as their users would (autograd on the summed loss,
            # torch.func.vmap of grad); hand is the floor of the linear chain's products.
            _line(name="batch B (relu, m = d = 256)", activation=["relu"], m=[256], d=[256],
                  B=BATCHES, mode=["forward", "reverse", "autograd", "func-rev"]),
            _line(name="batch B (linear, m = d = 256)", m=[256], d=[256], B=BATCHES,
                  mode=["forward", "reverse", "hand"]),
        ],
    },
    # For a GPU (chosen for --device cuda): sizes where a GPU leaves its per-call floor.
    "gpu": {
        "about": "CUDA: m to 16384 at d = m, d to 16384 at m = 4096, L to 16, the Jacobian "
                 "crossover at m = 4096, float32 and float64, each engine eager and replayed "
                 "from a CUDA graph (exec auto; not yet run: an estimated 15-20 min on an "
                 "H100/H200)",
        "timing": {"max_time": 0.25, "min_rounds": 5, "warmup_iterations": 5},
        "guards": {"mem_budget_gb": 60.0, "max_point_s": 60.0},
        "grids": [
            _line(name="m (d = m)", backend=["torch"], device=["cuda"], dtype=["float32", "float64"],
                  m=[256, 512, 1024, 2048, 4096, 8192, 16384], d=["m"]),
            _line(name="m (d = 16)", backend=["torch"], device=["cuda"], dtype=["float32"],
                  m=[1024, 2048, 4096, 8192, 16384, 32768], d=[16]),
            _line(name="d (m = 4096)", backend=["torch"], device=["cuda"], dtype=["float32"],
                  m=[4096], d=[16, 64, 256, 1024, 4096, 16384]),
            _line(name="L (m = d = 4096)", backend=["torch"], device=["cuda"], dtype=["float32"],
                  m=[4096], d=[4096], L=[1, 2, 4, 8, 16]),
            _line(name="jacobian K (m = d = 4096)", target=["jacobian"], backend=["torch"],
                  device=["cuda"], dtype=["float32"], m=[4096], d=[4096],
                  K=[16, 256, 1024, 4096, 16384]),
            _line(name="params m (d = m)", target=["params"], backend=["torch"], device=["cuda"],
                  dtype=["float32"], m=[16, 32, 64, 128, 256], d=["m"]),
            _line(name="modes m (d = m)", backend=["torch"], device=["cuda"], dtype=["float32"],
                  mode=ALL_MODES, m=[64, 1024, 4096], d=["m"]),
            # A GPU leaves its per-call floor only when a call has work for its cores: batches.
            _line(name="batch B (relu, m = d = 1024)", backend=["torch"], device=["cuda"],
                  dtype=["float32"], activation=["relu"], m=[1024], d=[1024],
                  B=[1, 16, 256, 1024, 4096]),
        ],
    },
    # Hours are fine: both backends and dtypes, 1 and 2 threads, larger sizes, longer rounds.
    "full": {
        "about": "everything: both backends and dtypes, 1–2 threads, larger sizes (hours)",
        "timing": {"max_time": 1.0, "min_rounds": 10, "warmup_iterations": 5},
        "guards": {"mem_budget_gb": 16.0, "max_point_s": 600.0},
        "grids": [
            _line(name="m (d = m)", backend=["numpy", "torch"], device=["auto"],
                  dtype=["float64", "float32"], threads=[1, 2],
                  m=[16, 32, 64, 128, 256, 512, 1024, 2048, 4096], d=["m"]),
            _line(name="m (d = 16)", backend=["numpy", "torch"], device=["auto"],
                  dtype=["float64", "float32"], m=[64, 128, 256, 512, 1024, 2048, 4096, 8192],
                  d=[16]),
            _line(name="d (m = 256)", backend=["numpy", "torch"], device=["auto"],
                  m=[256], d=[16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]),
            _line(name="L (m = d = 256)", backend=["numpy", "torch"], device=["auto"],
                  m=[256], d=[256], L=[0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]),
            _line(name="heatmap m × d", backend=["numpy", "torch"], device=["auto"],
                  m=[16, 32, 64, 128, 256, 512, 1024, 2048],
                  d=[16, 32, 64, 128, 256, 512, 1024, 2048]),
            _line(name="params m (d = m)", target=["params"], backend=["numpy", "torch"],
                  device=["auto"], L=[2, 3], m=[8, 16, 32, 64, 128, 192, 256], d=["m"]),
            _line(name="jacobian K (m = d = 256)", target=["jacobian"], backend=["numpy", "torch"],
                  device=["auto"], m=[256], d=[256], K=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
                                                       1024, 2048, 4096, 8192]),
            _line(name="jacobian d (m = 256, K = 64)", target=["jacobian"],
                  backend=["numpy", "torch"], device=["auto"], m=[256], K=[64],
                  d=[1, 4, 16, 64, 256, 1024, 4096, 16384]),
        ],
    },
}
"""name → {about, timing, guards, grids}. Edit here to change what a preset sweeps."""
