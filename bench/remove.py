"""fwdrev rm RUN…: remove runs from the results directory.

Each RUN is a run id, latest or latest~N (bench.store.resolve_run). Every run named is
checked before anything is removed: the committed reference run is refused (exit 2), so
is a name that is no run; a run a sweep is writing now (its lock is held) is refused with
exit 4. On any refusal nothing is removed. A run's folder goes with what is in it, links
inside removed and never followed (bench.safefs); `latest` then names the newest run left,
or goes when none is left."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from bench import cmdline as cli


def main(argv=None, command="rm") -> int:
    """Entry point of `fwdrev rm`; returns the exit status (bench.cmdline)."""
    return cli.entry(command, "bench.remove", argv)


def run_command(argv, command="rm") -> int:
    from bench import store
    from bench.errors import UsageError
    from bench.safefs import remove_tree
    from bench.sweep.runlock import ReadLock
    ap = cli.Parser(prog=cli.prog(command), description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", metavar="RUN", help="run id, latest or latest~N")
    ap.add_argument("--results-dir", default=os.environ.get("FWDREV_RESULTS_DIR", "results"),
                    help="where runs live (default: $FWDREV_RESULTS_DIR, else ./results)")
    args = ap.parse_args(argv)
    root = Path(args.results_dir)
    dirs = {}
    for name in args.runs:  # every check first: a refusal removes nothing
        d = store.resolve_run(root, name)
        if d.name == store.REFERENCE:
            raise UsageError(f"run {d.name!r} is the committed reference; fwdrev never removes it")
        if d.parent.resolve() != root.resolve() or d not in store.run_dirs(root):
            raise UsageError(f"no run {name!r} under {root} (fwdrev list shows them)")
        dirs[d.name] = d
    locks = [ReadLock(d) for d in dirs.values()]
    try:
        for lock in locks:  # BusyError (exit 4) while a sweep writes one
            lock.__enter__()
        for d in dirs.values():
            remove_tree(d)
            print(f"{command}: removed {d}")
    finally:
        for lock in locks:
            lock.__exit__()
    _repoint_latest(root, set(dirs))
    return 0


def _repoint_latest(root: Path, removed: set) -> None:
    """latest names the newest run left when it named one removed; goes when none is left."""
    from bench import store
    link = root / store.LATEST
    try:
        target = os.readlink(link) if link.is_symlink() else (
            link.read_text().strip() if link.is_file() else None)
    except OSError:
        return
    if target is None or Path(target).name not in removed:
        return
    left = [p for p in store.run_dirs(root) if p.name != store.REFERENCE]
    if left:
        store.set_latest(root, left[-1])
    else:
        link.unlink()


if __name__ == "__main__":
    sys.exit(main())
