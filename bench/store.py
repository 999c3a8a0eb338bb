"""Where a run lives and how it is written: results/<run-id>/{points.csv, meta.json,
pytest-benchmark.json}, every write atomic (a temporary file, then os.replace), so a
killed sweep leaves either the old file or the new one, never half of one.

points.csv is tidy: one row per (point, mode), every parameter a column. A row is
identified by (point_key, mode); writing a row again replaces it (no duplicates).
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

COLUMNS = [
    "run_id", "point_key", "backend", "device", "dtype", "threads", "target", "mode",
    "L", "m", "d", "K", "ops_mults", "ops_adds", "ops_total", "ops_predicted", "ops_exact",
    "time_median_s", "time_iqr_s", "time_min_s", "time_mean_s", "time_stddev_s", "rounds",
    "iterations", "grad_relerr", "tol", "status", "reason", "lines", "mem_estimate_bytes",
    "time_estimate_s", "thread_pools", "finished_utc",
]
"""The columns of points.csv, in order."""

STATUSES = ("ok", "disagree", "skipped", "error")
"""ok: checked and timed; disagree: the modes' answers differ beyond tol (not timed);
skipped: a guard or a missing GPU (reason says which); error: the engine raised."""

DONE = ("ok", "disagree")
"""Rows a resumed run keeps; skipped and error rows are planned again."""

LATEST = "latest"
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, text: str) -> None:
    """Write text to path all at once: a temporary file beside it, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    """obj as indented JSON, atomically."""
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path, default=None):
    """The JSON at path, or default when there is no such file."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def read_rows(path: Path) -> list:
    """The rows of a points.csv as dicts of strings ([] when there is none yet)."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def upsert_rows(path: Path, rows) -> None:
    """Add rows to points.csv, replacing any with the same (point_key, mode); atomic.

    The whole file is rewritten each time: a few thousand rows at most, and it is what
    makes every point's write all-or-nothing.
    """
    new = {(r["point_key"], r["mode"]): r for r in rows}
    kept = [r for r in read_rows(path) if (r["point_key"], r["mode"]) not in new]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in kept + list(new.values()):
        w.writerow({c: _cell(r.get(c)) for c in COLUMNS})
    atomic_write(path, buf.getvalue())


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return ";".join(map(str, v))
    return v


def done_keys(path: Path) -> set:
    """{(point_key, mode)} already measured (ok) or checked and refused (disagree)."""
    return {(r["point_key"], r["mode"]) for r in read_rows(path) if r["status"] in DONE}


def set_latest(root: Path, run_dir: Path) -> None:
    """Point root/latest at run_dir: a relative symlink swapped in atomically, or a small
    text file naming the run where symlinks are not allowed."""
    root, link = Path(root), Path(root) / LATEST
    tmp = root / f".{LATEST}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(run_dir.name, tmp, target_is_directory=True)
        if link.exists() and not link.is_symlink() and link.is_dir():
            raise OSError("latest is a real directory")  # never replace one
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        if not (link.is_dir() and not link.is_symlink()):
            atomic_write(link, run_dir.name + "\n")


def resolve_run(root: Path, name=None) -> Path:
    """The run directory for `name` (a run id, "latest", or a path); None → latest."""
    root = Path(root)
    name = name or LATEST
    p = Path(name)
    if not (p.is_dir() and (p / "points.csv").exists()):
        p = root / name
    if p.is_file():  # the no-symlink form of latest
        p = root / p.read_text(encoding="utf-8").strip()
    return p.resolve() if p.is_symlink() else p  # latest → the run it names


def copy_run(src: Path, dst: Path) -> None:
    """Copy a run's points.csv and meta.json to dst, and its pytest-benchmark JSON without
    the per-round timings (the statistics stay): small enough to commit as a reference."""
    src, dst = Path(src), Path(dst)
    for name in ("points.csv", "meta.json"):
        atomic_write(dst / name, (src / name).read_text(encoding="utf-8"))
    raw = read_json(src / "pytest-benchmark.json")
    if raw:
        for b in raw.get("benchmarks", []):
            b.get("stats", {}).pop("data", None)
        write_json(dst / "pytest-benchmark.json", raw)
