"""Which run a sweep writes, and the rules that keep a run what it is.

A run is defined by its grid, timing settings and guards (the tolerance among them):
spec_hash in meta.json fingerprints them. Resuming a run with other settings is refused
(its rows would no longer be one experiment); so is writing the committed reference run,
a run whose meta.json is damaged, or a run another sweep is writing (bench.sweep.runlock).
--force empties the run first. A damaged latest run never blocks a new one.
"""
from __future__ import annotations

import csv
import datetime as _dt
import re
import shutil
from pathlib import Path

from bench import axes, store
from bench.sweep import raw
from bench.errors import BenchError, DamagedError, UsageError
from bench.rows import COLUMNS, FIX, damage_note, read_checked
from bench.safefs import own_dir, refuse_link
from bench.sweep.runlock import LOCK

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""A run id: letters, digits, . _ -; at most 100 characters (it names a directory)."""
OWN = ("meta.json", "points.csv", raw.NAME, raw.RAW_DIR, "pytest.log")
"""The files and folders of a run that a sweep writes (besides its lock)."""
DEFINING = {"grids": "grid", "timing": "timing", "guards": "guards or tolerance"}


def check_run_id(root: Path, run_id: str) -> None:
    """A one-line UsageError unless run_id may name a run a sweep writes."""
    if not RUN_ID.fullmatch(run_id) or run_id == store.LATEST:
        raise UsageError(f"bad --name {run_id[:40]!r}: letters, digits, . _ - only (no "
                         "slash, no '..', not empty), at most 100, not 'latest'")
    if run_id == store.REFERENCE:
        raise UsageError(f"run {run_id!r} is the committed reference; a sweep never writes it "
                         "(use another --run-id)")
    p = Path(root) / run_id
    if p.is_symlink() or (p.exists() and not p.is_dir()):
        raise UsageError(f"{p} exists and is not a run directory")


def choose_run(root: Path, spec: dict, args, warn) -> tuple:
    """(run id, new?): the given id; else the latest run when it is this grid and
    unfinished (never with --new); else a new id from the UTC time and the preset."""
    if args.run_id is not None:  # --run-id= (empty) is refused, never "the latest"
        check_run_id(root, args.run_id)
        if args.new and (Path(root) / args.run_id).exists():
            raise UsageError(f"run {args.run_id} exists and --new starts a new run; "
                             "choose another --run-id")
        return args.run_id, False
    latest = None if args.new else _resumable(root, spec["hash"], warn)
    if latest:
        return latest, False
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{run_label(spec)}", True


def run_label(spec: dict) -> str:
    """What a new run id says after its time: the preset (custom when none) and what the
    command line changed, each axis it gives — a word axis's values as themselves (-torch),
    a number axis's after its name (-m64_256, -dm for d tied to m); at most 80 characters."""
    parts = [spec.get("preset") or "custom"]
    for axis, values in (spec.get("axes") or {}).items():
        text = "_".join(str(v) for v in values)
        parts.append(f"{axis}{text}" if axes.axis(axis).type is int else text)
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))
    return label[:80].rstrip("._-") or "custom"


def _resumable(root, spec_hash, warn):
    """The latest run's id when it is unfinished and of this spec; a damaged latest is
    named in a warning and passed over."""
    try:
        latest = store.resolve_run(root)
        m = store.read_meta(latest / "meta.json") if latest.is_dir() else None
    except DamagedError as e:
        warn(f"{e}; starting a new run")
        return None
    if m and latest.name != store.REFERENCE and m.get("spec_hash") == spec_hash \
            and m.get("complete") is not True and "merged_from" not in m:
        return latest.name
    return None


def claim(root: Path, run_id: str, new: bool) -> Path:
    """Create the run's directory; a new id already taken (another sweep started in the
    same second) gets a suffix, -2, -3, …"""
    root.mkdir(parents=True, exist_ok=True)
    if not new:
        return own_dir(root / run_id, create=True)
    for n in range(1, 1000):
        p = root / (run_id if n == 1 else f"{run_id}-{n}")
        try:
            p.mkdir()
            return p
        except FileExistsError:
            continue
    raise BenchError(f"no free run id like {run_id} in {root}")


def open_run(run_dir: Path, spec: dict, force: bool, warn) -> bool:
    """Make a locked run ready to write: emptied with --force; else checked (meta.json
    readable and of this spec, points.csv readable, damaged rows named) and the leftovers
    of a killed sweep folded in or removed. Returns whether there is a run to resume."""
    for name in OWN:  # before anything is written: a planted link is refused, not followed
        refuse_link(run_dir / name)
    if force:
        _empty(run_dir)
    store.remove_stale(run_dir)
    info = store.read_meta(run_dir / "meta.json")
    rows, bad = read_checked(run_dir / "points.csv")
    _no_foreign_columns(run_dir / "points.csv")
    if info is None and (rows or bad):
        raise DamagedError(f"{run_dir / 'meta.json'} is missing, so the rows beside it cannot "
                           f"be checked against these settings; {FIX}")
    if info is not None and "spec_hash" not in info:
        raise DamagedError(f"{run_dir / 'meta.json'} is not a fwdrev meta.json; {FIX}")
    if info is not None and info["spec_hash"] != spec["hash"]:
        raise UsageError(f"run {run_dir.name} was made with other settings ({changed(info, spec)}"
                         "); use a new --run-id, or --force to discard it")
    if bad:
        warn(damage_note(run_dir / "points.csv", bad))
    raw.fold(run_dir)
    return info is not None


def _no_foreign_columns(path: Path) -> None:
    """A DamagedError when points.csv has columns fwdrev does not write: a resume rewrites
    the file, and would drop them."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        header = next(csv.reader(fh), [])
    extra = [c for c in header if c not in COLUMNS]
    if extra:
        raise DamagedError(f"{path} has columns fwdrev does not write ({', '.join(extra)[:60]}); "
                           f"a resume would drop them: {FIX}")


def refuse_merged(run_dir: Path) -> None:
    """A UsageError when run_dir is a run `fwdrev merge` made: no sweep writes it."""
    if "merged_from" in (store.read_meta(Path(run_dir) / "meta.json") or {}):
        raise UsageError(f"run {Path(run_dir).name} was made by `fwdrev merge` and is never "
                         "rewritten by a sweep; use a new --run-id")


def settled(run_dir: Path, spec_hash: str, want: set) -> bool:
    """Whether run_dir is complete, of this spec, and whole: its points.csv reads without a
    damaged row and has a final row for every (point, mode) in want, and no killed
    writer's leftovers wait to be folded in. Such a run is never written again."""
    info = store.read_meta(Path(run_dir) / "meta.json")
    if not info or info.get("complete") is not True or info.get("spec_hash") != spec_hash:
        return False
    rows, bad = read_checked(Path(run_dir) / "points.csv")
    have = {(r["point_key"], r["mode"]) for r in rows if r["status"] in (*store.DONE, "skipped")}
    leftovers = (Path(run_dir) / raw.RAW_DIR).exists() or any(
        p.name[1:].startswith(store.STALE + ("session-",)) for p in Path(run_dir).glob(".*.*"))
    return not bad and want <= have and not leftovers


def changed(info: dict, spec: dict) -> str:
    """Which defining settings differ between a run's meta.json and a spec."""
    return ", ".join(w for k, w in DEFINING.items() if info.get(k) != spec.get(k)) or "?"


def _empty(run_dir: Path) -> None:
    """Remove everything in a run directory but its lock."""
    for p in run_dir.iterdir():
        if p.name == LOCK:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
