"""fwdrev merge RUN RUN … --run-id NEW: join runs of one grid into a new run.

    fwdrev sweep --preset default --shard 1/2      # on one machine
    fwdrev sweep --preset default --shard 2/2      # on another
    # copy both run directories into one results directory, then
    fwdrev merge <run-1> <run-2> --run-id default-all
    fwdrev report default-all

The runs must have the same grid, timing and guards (their shards may differ). The new
run holds every row of every run (a (point, mode) in two runs is an error naming it,
unless --prefer-last keeps the later run's), pytest-benchmark.json's benchmarks of those
rows, and a meta.json with the first run's environment, every run's meta.json under
"sources", and complete: true when the runs were complete and cover the whole grid.
`report`, `compare` and `list` read it as any other run; the sources are left as they are.
"""
from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from bench import cmdline as cli


def parser(command="merge") -> argparse.ArgumentParser:
    """The command line of the merge."""
    p = cli.Parser(prog=cli.prog(command),
                   description="join runs of one grid (shards, or runs made on several "
                   "machines and copied into one results directory) into a new run")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run ids, 'latest', or run directories")
    p.add_argument("--run-id", required=True, help="the new run's id (it must not exist)")
    p.add_argument("--results-dir", default=os.environ.get("FWDREV_RESULTS_DIR", "results"),
                   help="where the runs are and the new one goes (default: "
                   "$FWDREV_RESULTS_DIR, else ./results)")
    p.add_argument("--prefer-last", action="store_true",
                   help="a (point, mode) in several runs: keep the last run's row "
                   "(default: refuse)")
    return p


def main(argv=None, command="merge") -> int:
    """Entry point of `fwdrev merge`; returns the exit status (bench.cmdline)."""
    return cli.entry(command, "bench.merge", argv)


def run_command(argv, command="merge") -> int:
    """Check the runs, join them, write the new run and point latest at it."""
    from bench import store
    from bench.sweep import runs
    from bench.sweep.runlock import ReadLock
    args = parser(command).parse_args(argv)
    root = cli.check_dir("--results-dir", args.results_dir).absolute()
    runs.check_run_id(root, args.run_id)
    out = root / args.run_id
    if out.exists() or out.is_symlink():
        raise _usage(f"run {args.run_id} exists already; choose another --run-id")
    with contextlib.ExitStack() as locks:  # no source changes while it is read
        dirs = [store.resolve_run(root, n) for n in args.runs]
        for d in dict.fromkeys(dirs):
            locks.enter_context(ReadLock(d))
        sources = read_sources(dirs, cli.warner(command))
        rows, keep = union(sources, args.prefer_last)
        root.mkdir(parents=True, exist_ok=True)
        write_run(root, out, sources, rows, keep)
    store.set_latest(root, out)
    names = ", ".join(s["id"] for s in sources)
    print(f"{command}: {len(rows)} rows from {len(sources)} runs ({names}) → {out / 'points.csv'}")
    return 0


def write_run(root, out, sources, rows, keep) -> None:
    """The new run, written whole into a temporary folder beside it and renamed into
    place: a merge that fails or is killed leaves no run behind (and nothing that blocks
    a retry)."""
    import shutil
    import tempfile

    from bench import store
    tmp = Path(tempfile.mkdtemp(prefix=f".merge-{out.name}.", dir=root))
    try:
        os.chmod(tmp, 0o777 & ~store.UMASK)  # mkdtemp makes 0700; runs are for sharing
        store.atomic_write(tmp / "points.csv", store.format_rows(rows))
        write_benchmarks(tmp, sources, keep)
        store.write_json(tmp / "meta.json", merged_meta(out.name, sources, rows))
        try:
            os.rename(tmp, out)  # refused when out appeared meanwhile and is not empty
        except OSError:
            raise _usage(f"run {out.name} exists already; choose another --run-id") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _usage(text):
    from bench.errors import UsageError
    return UsageError(text)


def read_sources(dirs, warn) -> list:
    """[{id, dir, meta, rows, bad}] of the run directories, checked: each readable, each
    named once, all of one grid, timing and guards (bad: its damaged rows, left out)."""
    from bench import store
    from bench.sweep import runs
    from bench.errors import DamagedError
    from bench.rows import damage_note
    out = []
    for d in dirs:
        info = store.read_meta(d / "meta.json")
        if info is None or "spec_hash" not in info:
            raise DamagedError(f"{d / 'meta.json'} is missing or not a fwdrev meta.json")
        rows, bad = store.read_checked(d / "points.csv")
        if bad:
            warn(damage_note(d / "points.csv", bad) + "; the merge is not complete")
        out.append({"id": d.name, "dir": d, "meta": info, "rows": rows, "bad": bad})
    ids = [s["id"] for s in out]
    if len(set(ids)) != len(ids) or len(ids) < 2:
        raise _usage(f"merge needs two or more different runs, got {', '.join(ids)}")
    for s in out[1:]:
        what = runs.changed(s["meta"], out[0]["meta"])  # "?": none of them differs
        if what != "?":
            raise _usage(f"runs {out[0]['id']} and {s['id']} differ in {what}; only runs of "
                         "one grid, timing and guards merge")
    return out


def union(sources, prefer_last=False) -> tuple:
    """(rows, {(point_key, mode): source id kept}): every source's rows; a (point, mode)
    in two runs raises a one-line UsageError naming it, unless prefer_last."""
    kept, keep = {}, {}
    for s in sources:
        for r in s["rows"]:
            k = (r["point_key"], r["mode"])
            if k in keep and not prefer_last:
                raise _usage(f"point {k[0]} ({k[1]}) is in both {keep[k]} and {s['id']}; "
                             "use --prefer-last to keep the later run's row")
            kept[k], keep[k] = r, s["id"]
    return list(kept.values()), keep


def write_benchmarks(out, sources, keep) -> None:
    """pytest-benchmark.json: the sources' benchmarks of the rows kept, concatenated,
    under the first source's machine and commit info."""
    from bench import store
    from bench.sweep import raw
    docs = [(s["id"], raw.read_benchmarks(s["dir"] / raw.NAME)) for s in sources]
    docs = [(i, d) for i, d in docs if d]
    if not docs:
        return
    benchmarks = [b for i, d in docs for b in d.get("benchmarks", [])
                  if keep.get((b.get("group"), b.get("extra_info", {}).get("mode"))) == i]
    head = {k: docs[0][1].get(k) for k in raw.HEAD}
    store.write_json(out / raw.NAME, {**head, "benchmarks": benchmarks})


def merged_meta(run_id, sources, rows) -> dict:
    """The new run's meta.json: the first source's, renamed and unsharded, its machine
    naming every machine when they differ, every source's meta under "sources"."""
    from collections import Counter

    from bench.meta import machine_label, utc_now
    from bench.rows import SCHEMA
    from bench.sweep.shard import run_hash
    first = sources[0]["meta"]
    metas = [s["meta"] for s in sources]
    labels = list(dict.fromkeys(machine_label(m.get("machine", {})) for m in metas))
    machine = first.get("machine", {}) if len(labels) == 1 else \
        {"cpu": f"{len(labels)} machines: " + " | ".join(labels), "cores": "various"}
    return {**first, "schema": SCHEMA, "run_id": run_id, "shard": None,
            "spec_hash": run_hash({**first, "shard": None}), "machine": machine,
            "sessions": [x for m in metas for x in m.get("sessions", [])],
            "complete": complete(metas) and not any(s.get("bad") for s in sources), "counts": dict(Counter(r["status"] for r in rows)),
            "finished": utc_now(), "merged_from": [s["id"] for s in sources],
            "sources": {s["id"]: s["meta"] for s in sources}}


def complete(metas) -> bool:
    """Whether the runs were each complete and together cover the grid: one of them
    unsharded, or shards 1/N … N/N all there."""
    if not all(m.get("complete") for m in metas):
        return False
    shards = {m.get("shard") for m in metas}
    if None in shards:
        return True
    ns = {s.split("/")[1] for s in shards}
    if len(ns) != 1:
        return False
    n = int(ns.pop())
    return shards == {f"{i}/{n}" for i in range(1, n + 1)}
