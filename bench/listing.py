"""fwdrev list: the runs under the results directory, one line each — id, date, preset,
machine, points (ok / rows) and status (complete, incomplete, damaged). A damaged run is
listed as such, with what is wrong, and never stops the listing."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from bench import cmdline as cli

SKIP = {"calibration", "latest"}


def describe(run_dir: Path) -> dict:
    """What `list` shows of one run directory."""
    from bench import store
    from bench.errors import BenchError
    out = {"id": run_dir.name, "date": "", "preset": "", "machine": "", "points": "", "status": ""}
    try:
        meta = store.read_meta(run_dir / "meta.json", {})
    except (OSError, BenchError) as e:  # any damage is shown, never raised
        out["status"] = f"damaged meta.json ({_why(e)})"
        meta = {}
    m = meta.get("machine") or {}
    fp = (meta.get("fingerprint") or {}).get("cpu") or {}
    fam = f" fam {fp['family']} model {fp['model']}" if fp.get("family") else ""
    out.update(date=str(meta.get("date", ""))[:16], preset=str(meta.get("preset") or ""),
               machine=f"{m.get('cpu', '')}{fam}" + (f", {m['gpu']}" if m.get("gpu") else ""))
    try:
        rows = store.read_rows(run_dir / "points.csv")
        ok = sum(r.get("status") == "ok" for r in rows)
        out["points"] = f"{ok}/{len(rows)}"
    except (OSError, BenchError) as e:
        out["status"] = out["status"] or f"damaged points.csv ({_why(e)})"
    if not out["status"]:
        out["status"] = "complete" if meta.get("complete") is True else "incomplete"
    return out


def _why(e) -> str:
    """What is wrong with a file, short: the parenthesis of its one-line error."""
    text = str(e)
    return (text.partition("(")[2].partition(")")[0] or type(e).__name__)[:60]


def runs(root: Path) -> list:
    root = Path(root)
    if not root.is_dir():
        return []
    dirs = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and p.name not in SKIP
            and ((p / "meta.json").exists() or (p / "points.csv").exists())]
    return sorted((describe(p) for p in dirs), key=lambda r: (r["date"], r["id"]))


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
    print(f"{'run':{w}}  {'date':16}  {'preset':8}  {'points':>9}  {'status':10}  machine")
    for r in rows:
        print(f"{r['id']:{w}}  {r['date']:16}  {r['preset']:8}  {r['points']:>9}  {r['status']:10}  {r['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
