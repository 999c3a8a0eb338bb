"""fwdrev list: the runs under the results directory, one line each — id, start date, grid
(preset and the axes given), rows and points done / planned, status (complete, incomplete,
damaged) and machine. A damaged run is
listed as such, with what is wrong, and never stops the listing."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from bench import cmdline as cli

def describe(run_dir: Path) -> dict:
    """What `list` shows of one run directory."""
    from bench import store
    from bench.errors import BenchError
    out = {"id": run_dir.name, "date": "", "preset": "", "machine": "", "rows": "",
           "points": "", "status": ""}
    try:
        meta = store.read_meta(run_dir / "meta.json", {})
    except (OSError, BenchError) as e:  # any damage is shown, never raised
        out["status"] = f"damaged meta.json ({_why(e)})"
        meta = {}
    m = meta.get("machine") or {}
    fp = (meta.get("fingerprint") or {}).get("cpu") or {}
    fam = f" fam {fp['family']} model {fp['model']}" if fp.get("family") else ""
    out.update(date=store.started(run_dir)[:16], preset=grid_of(meta),
               machine=f"{m.get('cpu', '')}{fam}" + (f", {m['gpu']}" if m.get("gpu") else ""))
    try:
        rows = store.read_rows(run_dir / "points.csv")
        planned = meta.get("planned") or {}
        final = [r for r in rows if r.get("status") in (*store.DONE, "skipped")]
        out["rows"] = f"{len(final)}/{planned.get('rows', '?')}"
        out["points"] = f"{len({r['point_key'] for r in final})}/{planned.get('points', '?')}"
    except (OSError, BenchError) as e:
        out["status"] = out["status"] or f"damaged points.csv ({_why(e)})"
    if not out["status"]:
        out["status"] = "complete" if meta.get("complete") is True else "incomplete"
    return out


def grid_of(meta: dict) -> str:
    """A run's grid in a few words: its preset, with the axes the command line gave
    (quick, quick backend=torch; a custom run's axes alone: L=1 m=8,16)."""
    axes = " ".join(f"{a}={','.join(map(str, v))}" for a, v in (meta.get("axes") or {}).items())
    preset = meta.get("preset") or ("merged" if "merged_from" in meta else "")
    return " ".join(x for x in (preset, axes) if x)[:40]


def _why(e) -> str:
    """What is wrong with a file, short: the parenthesis of its one-line error."""
    text = str(e)
    return (text.partition("(")[2].partition(")")[0] or type(e).__name__)[:60]


def runs(root: Path) -> list:
    """What `list` shows of every run under root, oldest first (bench.store.run_dirs: the
    order latest~N counts in)."""
    from bench import store
    return [describe(p) for p in store.run_dirs(root)]


def main(argv=None, command="list") -> int:
    """Entry point of `fwdrev list`; returns the exit status (bench.cmdline)."""
    return cli.entry(command, "bench.listing", argv)


def run_command(argv, command="list") -> int:
    ap = cli.Parser(prog=cli.prog(command), description=__doc__.split("\n\n")[0])
    ap.add_argument("--results-dir", default=os.environ.get("FWDREV_RESULTS_DIR", "results"),
                    help="where runs live (default: $FWDREV_RESULTS_DIR, else ./results)")
    args = ap.parse_args(argv)
    rows = runs(Path(args.results_dir))
    if not rows:
        print(f"no runs under {Path(args.results_dir).absolute()}")
        return 0
    w = max(len(r["id"]) for r in rows)
    g = max(8, *(len(r["preset"]) for r in rows))
    print(f"{'run':{w}}  {'started (UTC)':16}  {'grid':{g}}  {'rows':>9}  {'points':>9}  "
          f"{'status':10}  machine")
    for r in rows:
        print(f"{r['id']:{w}}  {r['date']:16}  {r['preset']:{g}}  {r['rows']:>9}  "
              f"{r['points']:>9}  {r['status']:10}  {r['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
