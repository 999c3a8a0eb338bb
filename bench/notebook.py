"""A run as a pandas DataFrame, for a notebook: `from bench import load_run`.

    df = load_run("latest")                      # or a run id, latest~1, or a run's folder
    df.attrs["meta"]["machine"]["cpu"]           # the run's meta.json, as a dict
    ok = df[df.status == "ok"]
    ok.pivot_table("time_median_s", ["target", "m", "d"], "mode")

One row per (point, mode), the columns of points.csv (results/README.md), read by the
loader the report and compare share (bench.frame.load: damaged rows left out, numbers as
numbers), with every axis typed from the axis table (bench.axes): an int axis as pandas
Int64, a word axis as string; `config` and `noisy` are the report's derived columns.
"""
from __future__ import annotations

import os
from pathlib import Path


def load_run(run_or_path, results_dir=None):
    """The rows of a run as a DataFrame, its meta.json as df.attrs["meta"] (a dict; {}
    when the run has none). run_or_path: a run's folder, or a run id, "latest" or
    "latest~N" under results_dir (default: $FWDREV_RESULTS_DIR, else ./results).
    FileNotFoundError when there is no such run."""
    from bench import axes, store
    from bench.frame import load
    root = Path(results_dir or os.environ.get("FWDREV_RESULTS_DIR", "results"))
    run_dir = store.resolve_run(root, str(run_or_path))
    if not (run_dir / "points.csv").is_file():
        raise FileNotFoundError(f"no run {run_or_path!s} (no points.csv in {run_dir})")
    df = load(run_dir)
    for a in axes.AXES:
        if a.name in df:
            df[a.name] = df[a.name].astype("Int64" if a.type is int else "string")
    for c in ("status", "mode", "run_id", "point_key"):
        df[c] = df[c].astype("string")
    df.attrs["meta"] = store.read_meta(run_dir / "meta.json", {}) or {}
    df.attrs["run_dir"] = str(run_dir)
    return df
