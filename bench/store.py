"""Where a run lives and how it is written: results/<run-id>/{points.csv, meta.json,
pytest-benchmark.json}, every write atomic (a temporary file, then os.replace), so a
killed sweep leaves either the old file or the new one, never half of one.

points.csv is tidy: one row per (point, mode), every parameter a column (bench.rows). A
row is identified by (point_key, mode); writing a row again replaces it (no duplicates).
Every read is checked: a damaged file raises DamagedError naming it, a damaged row is
left out (bench.rows.read_checked says which).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from bench.errors import DamagedError, UsageError
from bench.safefs import own_dir, refuse_link
from bench.rows import COLUMNS, DONE, FIX, STATUSES, format_rows, read_checked  # noqa: F401

LATEST = "latest"
REFERENCE = "reference"
"""The committed reference run: written by `report --reference` only, never by a sweep."""
UMASK = os.umask(0)
os.umask(UMASK)


def atomic_write(path: Path, text: str) -> None:
    """Write text to path all at once: a temporary file beside it, then os.replace. A
    link at path is refused (bench.safefs); a failure names the file."""
    path = refuse_link(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not e.filename:  # ENOSPC, EIO: say which file
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise


def write_json(path: Path, obj) -> None:
    """obj as indented JSON, atomically."""
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path, default=None):
    """The JSON object (a dict) at path, or default when there is no such file;
    DamagedError, naming the file, when it is not a JSON object."""
    path = Path(path)
    if not path.exists():
        return default
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        why = f"not JSON: {e.msg if isinstance(e, json.JSONDecodeError) else 'binary'}"
        raise DamagedError(f"{path} is damaged ({why}); {FIX}") from None
    if not isinstance(obj, dict):
        raise DamagedError(f"{path} is damaged (not a JSON object); {FIX}")
    return obj


def read_meta(path: Path, default=None):
    """A run's meta.json (path: the file), checked field by field (bench.meta.META_TYPES),
    or default when there is none; DamagedError, naming the file, when it does not check."""
    from bench.meta import meta_problem
    doc = read_json(path, default)
    why = meta_problem(doc) if doc else None
    if why:
        raise DamagedError(f"{path} is damaged ({why}); {FIX}")
    return doc


def read_rows(path: Path) -> list:
    """The good rows of a points.csv as dicts of strings ([] when there is none yet)."""
    return read_checked(path)[0]


def upsert_rows(path: Path, rows) -> None:
    """Add rows to points.csv, replacing any with the same (point_key, mode); atomic.
    Damaged rows already in the file are dropped.

    The whole file is rewritten each time: a few thousand rows at most, and it is what
    makes every point's write all-or-nothing.
    """
    new = {(r["point_key"], r["mode"]): r for r in rows}
    kept = [r for r in read_rows(path) if (r["point_key"], r["mode"]) not in new]
    atomic_write(path, format_rows(kept + list(new.values())))


def done_keys(path: Path) -> set:
    """{(point_key, mode)} already measured (ok) or checked and refused (disagree)."""
    return {(r["point_key"], r["mode"]) for r in read_rows(path) if r["status"] in DONE}


STALE = ("points", "meta", "pytest-benchmark", "rounds", "plan-")
"""How the temporary files of a run begin (after the dot): atomic writes and sweep plans."""


def remove_stale(run_dir: Path) -> None:
    """Remove the temporary files of writers that were killed (call with the run locked)."""
    for p in Path(run_dir).glob(".*.*"):
        if p.is_file() and p.name[1:].startswith(STALE):
            p.unlink(missing_ok=True)


def set_latest(root: Path, run_dir: Path) -> None:
    """Point root/latest at run_dir: a relative symlink swapped in atomically, or a small
    text file naming the run where symlinks are not allowed."""
    root, link = Path(root), Path(root) / LATEST
    tmp = root / f".{LATEST}.{os.getpid()}.{os.urandom(4).hex()}"
    try:
        os.symlink(run_dir.name, tmp, target_is_directory=True)
        if link.is_dir() and not link.is_symlink():
            raise OSError("latest is a real directory")  # never replace one
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        if not (link.is_dir() and not link.is_symlink()):
            atomic_write(link, run_dir.name + "\n")


NOT_RUNS = {"calibration", LATEST}
"""Names under the results directory that are never runs."""
BACK = re.compile(rf"{LATEST}~(\d+)")
"""latest~N: the run N places before the latest, in the order the runs were started."""


def started(run_dir: Path) -> str:
    """When a run was started (its first session's UTC date; "" when unreadable)."""
    try:
        info = read_json(Path(run_dir) / "meta.json", {}) or {}
    except (OSError, DamagedError):
        return ""
    first = (info.get("sessions") or [{}])[0]
    return str(first.get("date") if isinstance(first, dict) and first.get("date")
               else info.get("date", ""))


def run_dirs(root: Path) -> list:
    """The run folders under root (no links, not calibration/ nor latest), oldest first:
    by the date each was started, then by id."""
    root = Path(root)
    if not root.is_dir():
        return []
    dirs = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
            and p.name not in NOT_RUNS
            and ((p / "meta.json").exists() or (p / "points.csv").exists())]
    return sorted(dirs, key=lambda p: (started(p), p.name))


def _back(root: Path, n: int) -> Path:
    """The run n places before the latest (latest~n), or a one-line UsageError."""
    order = [p for p in run_dirs(root) if p.name != REFERENCE]
    latest = resolve_run(root)
    at = next((i for i, p in enumerate(order) if p.name == latest.name), len(order) - 1)
    if at - n < 0:
        raise UsageError(f"no run {LATEST}~{n} under {root}: {at + 1} run(s) up to the latest "
                         "(fwdrev list shows them)")
    return order[at - n]


def resolve_run(root: Path, name=None) -> Path:
    """The run directory for `name` (a run id, "latest", "latest~N", or a path); None →
    latest. DamagedError when latest is a broken link or a damaged pointer file;
    UsageError when there is no run latest~N."""
    root = Path(root)
    name = name or LATEST
    back = BACK.fullmatch(str(name))
    if back:
        return _back(root, int(back.group(1)))
    p = Path(name)
    if not (p.is_dir() and (p / "points.csv").exists()):
        p = root / name
    if p.is_file() and p.name == LATEST:  # the no-symlink form of latest
        p = root / _pointer(p)
    if not p.is_symlink():
        return p
    try:
        return p.resolve(strict=True)  # latest → the run it names
    except (OSError, RuntimeError) as e:
        why = "a symlink loop" if isinstance(e, RuntimeError) or e.errno == 40 else "dangling"
        raise DamagedError(f"{p} is a broken link ({why}); remove it") from None


def _pointer(path: Path) -> str:
    """The run a text-file `latest` names."""
    try:
        name = path.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    if not name or "/" in name or "\0" in name or len(name.splitlines()) != 1:
        raise DamagedError(f"{path} is damaged (not the name of a run); remove it")
    return name


def copy_run(src: Path, dst: Path) -> None:
    """Copy a run's points.csv and meta.json to dst, and its pytest-benchmark JSON without
    the per-round timings (the statistics stay): small enough to commit as a reference."""
    src, dst = Path(src), own_dir(dst)
    from bench.sweep.raw import read_benchmarks
    info, raw = read_meta(src / "meta.json"), read_benchmarks(src / "pytest-benchmark.json")
    atomic_write(dst / "points.csv", format_rows(read_rows(src / "points.csv")))
    if info is not None:
        write_json(dst / "meta.json", info)
    if raw:
        for b in raw.get("benchmarks", []):
            b.get("stats", {}).pop("data", None)
        write_json(dst / "pytest-benchmark.json", raw)
