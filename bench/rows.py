"""points.csv, the tidy table of a run: its columns, the statuses a row may have, and
reading it back checked.

A row that does not check out — a line cut short by a crash or a copy, a field that is
not a number, a point key that does not match its columns — is never used as a result:
`read_checked` returns the good rows and, apart, where the bad ones were, so a sweep
measures those points again and a report leaves them out, saying so. A file that is not
a points.csv at all (binary, a foreign or cut header) raises DamagedError naming it.
"""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from modes import traits

from bench import axes
from bench.errors import DamagedError, UsageError
from bench.points import Point

CORE = [
    "run_id", "point_key", "backend", "device", "dtype", "threads", "target", "mode",
    "L", "m", "d", "K", "ops_mults", "ops_adds", "ops_total", "ops_predicted", "ops_exact",
    "time_median_s", "time_iqr_s", "time_min_s", "time_mean_s", "time_stddev_s", "rounds",
    "iterations", "grad_relerr", "tol", "status", "reason", "lines", "mem_estimate_bytes",
    "time_estimate_s", "thread_pools", "finished_utc",
]
"""The columns every points.csv has had (schema 1): a file without one is not ours."""
ADDED = [a for a in axes.POINT_FIELDS if a not in CORE] + [
    "time_model_s", "mem_counted_bytes", "mem_predicted_bytes", "mem_measured_bytes",
    "mem_reason", "flops_torch", "compile_s", "floor_s"]
"""The columns added since schema 1 (every axis of bench.axes beyond schema 1's, then the
measurements): written always, read as empty from an older file (the committed reference
run is schema 1) and an empty axis as its default (bench.axes.upgrade), so older runs stay
readable."""
SCHEMA = "fwdrev-run/4"
"""meta.json's `schema`: the layout of a run directory (results/README.md). 1: CORE; 2:
waist, exec and the memory, model and peer columns; 3: activation, loss and bias; 4: B."""
COLUMNS = CORE[:-1] + ADDED + CORE[-1:]
"""The columns of points.csv, in order (results/README.md says what each holds).
finished_utc stays last: a line cut short anywhere fails its timestamp check."""

CONFIG = axes.CONFIG_AXES
"""The configuration columns of a row: what a point is run on (its shape aside)."""

STATUSES = ("ok", "disagree", "skipped", "error")
"""ok: checked and timed; disagree: the modes' answers differ beyond tol (not timed);
skipped: a guard or a missing GPU (reason says which); error: the engine raised."""

DONE = ("ok", "disagree")
"""Rows a resumed run keeps; skipped and error rows are planned again."""

POINT_FIELDS = axes.POINT_FIELDS
INTS = ("mem_estimate_bytes",)
OK_TIMES = ("time_median_s", "time_iqr_s", "time_min_s")
POSITIVE_TIMES = ("time_median_s", "time_min_s")
MODE_NAME = re.compile(r"[A-Za-z0-9][\w.+-]*")
"""A mode's name as a row may carry it: a row of a mode this process has not registered
(from a plugin) is still a result."""
UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
FIX = "move it aside, or redo the run with `python -m bench sweep … --force`"


def row_problem(r: dict):
    """Why row r (a dict of strings) is not a usable result, or None when it is."""
    if r["status"] not in STATUSES:
        return f"unknown status {r['status']!r}"
    if not UTC.fullmatch(r["finished_utc"]):
        return "cut short"
    try:
        key = Point.of_row(r).key()
    except (ValueError, TypeError, UsageError):
        return "bad point columns"
    if key != r["point_key"] or not MODE_NAME.fullmatch(r["mode"]):
        return "point key or mode does not match the columns"
    # an ok row's rounds, and a counting mode's total, are integers; a prediction or a
    # count is an integer where given (a peer's are empty, as are a plugin's predictions)
    ok = r["status"] == "ok"
    need = INTS + ((("rounds", "ops_total") if traits(r["mode"]).counts else ("rounds",)) if ok else ())
    if not all(_is_int(r[c]) for c in need) or \
            not all(_is_int(r[c]) for c in ("ops_predicted", "ops_total") if r[c] != ""):
        return "a count is not an integer"
    if r["status"] == "ok" and not (all(_is_time(r[c]) for c in OK_TIMES) and
                                    all(_is_time(r[c], positive=True) for c in POSITIVE_TIMES)):
        return "a time is not a number"
    return None


def _is_int(text) -> bool:
    """A count: an integer ≥ 0 (no count, size or estimate is negative)."""
    return re.fullmatch(r"\d+", text) is not None


def _is_time(text, positive=False) -> bool:
    """A finite number ≥ 0 (an IQR of 0, rounds alike to the clock's resolution, is one);
    positive: > 0 (a call's median or quickest time, which a log axis and a ratio take)."""
    try:
        v = float(text)
    except ValueError:
        return False
    return math.isfinite(v) and (v > 0 if positive else v >= 0)


def read_checked(path) -> tuple:
    """(good rows as dicts of strings, [(line, problem)] of the rows left out) of a
    points.csv; ([], []) when there is no file or it is empty. One row per (point, mode):
    a later row replaces an earlier one."""
    path = Path(path)
    if not path.exists():
        return [], []
    text = _text(path)
    if not text.strip():
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    missing = [c for c in CORE if c not in header]
    if missing:
        raise DamagedError(f"{path} is damaged or not a fwdrev points.csv (its header lacks "
                           f"{len(missing)} of {len(CORE)} columns); {FIX}")
    good, bad = {}, []
    for fields in reader:
        if not fields:
            continue
        r = {**dict.fromkeys(ADDED, ""), **dict(zip(header, fields))}
        why = "wrong number of fields" if len(fields) != len(header) else row_problem(r)
        if why:
            bad.append((reader.line_num, why))
        else:
            good[(r["point_key"], r["mode"])] = r
    return list(good.values()), bad


def _text(path: Path) -> str:
    """The file as text; DamagedError when it is not UTF-8 text."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:
        raise DamagedError(f"{path} is not a text file (damaged?); {FIX}")
    return text


def damage_note(path, bad) -> str:
    """One line saying which rows of path were left out, and why."""
    lines = ", ".join(str(n) for n, _ in bad[:5]) + (", …" if len(bad) > 5 else "")
    return (f"{path}: {len(bad)} damaged row(s) left out (line {lines}: {bad[0][1]}); "
            "a sweep of this run measures them again")


def format_rows(rows) -> str:
    """rows (dicts of values) as the text of a points.csv, header first."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: _cell(r.get(c)) for c in COLUMNS})
    return buf.getvalue()


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return ";".join(map(str, v))
    return v
