"""A run as a typed DataFrame: the good rows of its points.csv, numbers as numbers, every
axis filled with its default where a row predates it (bench.axes), the configuration's
label, the per-call floor as read back, and whether a row's timing is noisy. What the
report, compare and `load_run` read runs with."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import axes, noise, store

NUMBERS = ("ops_mults", "ops_adds", "ops_total", "ops_predicted", "time_median_s", "time_iqr_s",
           "time_min_s", "rounds", "grad_relerr", "tol", "time_estimate_s", "time_model_s",
           "mem_counted_bytes", "mem_predicted_bytes", "mem_measured_bytes", "flops_torch",
           "compile_s", "floor_s")
"""The measured columns that are numbers (the integer axes are too)."""
def load(run_dir, rows=None) -> pd.DataFrame:
    """The good rows of points.csv (or `rows`, already read) as a typed DataFrame (numbers
    as numbers, booleans as booleans); damaged rows are left out (bench.rows)."""
    rows = store.read_rows(Path(run_dir) / "points.csv") if rows is None else rows
    df = pd.DataFrame(rows, columns=store.COLUMNS)
    for a in axes.POINT_AXES:  # an axis a row predates reads as its default (bench.axes)
        df[a.name] = df[a.name].fillna(a.default).replace("", a.default)
    for c in (*axes.INT_AXES, *NUMBERS):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["ops_exact"] = df["ops_exact"].astype(str).eq("True")
    df["reason"] = df["reason"].fillna("")
    df["lines"] = df["lines"].fillna("")
    df["config"] = df.apply(config_label, axis=1)
    df["floor_s"] = df.floor_s.clip(upper=_fastest_sharing_the_floor(df))
    df["noisy"] = (df.status == "ok") & noise.noisy(df.time_median_s, df.time_iqr_s,
                                                    df.rounds)  # unknown IQR or rounds: not flagged
    return df


def _fastest_sharing_the_floor(df):
    """Per row, the fastest ok call among the rows whose floor is the same measurement
    (configuration, mode, target, L, hourglass or not: bench.sweep.floor.floor_point). A
    call cannot cost less than its floor, so a floor above it was measured high — torch's
    1 × 1 products take longer than its 8 × 8 ones — and the fastest call bounds it."""
    key = [df.config, df["mode"], df.target, df.L, df.waist > 0]
    return df.time_median_s.where(df.status == "ok").groupby(key).transform("min")


def config_label(row) -> str:
    """backend/device[ graph]/dtype/N thread(s), the label of a configuration: a CUDA graph's
    replays are a configuration of their own (their own floor, lines and fits)."""
    t = int(row["threads"])
    ex = f" {row['exec']}" if row.get("exec", "eager") not in ("eager", "", None) else ""
    return f"{row['backend']}/{row['device']}{ex}/{row['dtype']}/{t} thread{'s' if t > 1 else ''}"
