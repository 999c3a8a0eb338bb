"""python -m modes textbook: the textbook's worked example (maths §5) recomputed by the
engines and printed beside the numbers the chapter gives; exit 1 on any difference."""
from __future__ import annotations

import argparse
import json
import sys

from .errors import FwdrevError

DESCRIPTION = ("Reproduce the textbook's worked example (docs/maths.md §5): a two-layer "
               "linear chain with d = 3, m = 2, K = 2 and the squared loss. Prints the inputs "
               "(x, W₀, W₁, y), then every number the chapter gives — the forward pass, "
               "forward mode's Jacobians F₀, F₁, reverse mode's rows G₂, G₁, both gradients, "
               "the parameter gradients and the operation counts — computed by the engines, "
               "beside the chapter's value. Exit status 0 when all are equal, 1 otherwise, 2 "
               "on a bad option.")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line and exit 2 (no usage block)."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def textbook_parser(prog: str) -> argparse.ArgumentParser:
    ap = _Parser(prog=prog, description=DESCRIPTION)
    ap.add_argument("--json", action="store_true",
                    help="print one JSON object (ok, the configuration, the inputs and every "
                    "row with its name, symbol, meaning, computed and textbook values) instead "
                    "of the table")
    ap.add_argument("--backend", default="numpy", metavar="NAME",
                    help="array library the engines compute with: numpy or torch (default numpy)")
    ap.add_argument("--device", default="cpu", metavar="DEV",
                    help="where they compute: cpu, or cuda with torch on a GPU (default cpu)")
    ap.add_argument("--dtype", default="float64", metavar="T",
                    help="float64 or float32; the example's numbers are small integers, exact in "
                    "both (default float64)")
    return ap


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] != "textbook":
        print("usage: python -m modes textbook [options]   (python -m modes textbook --help)",
              file=sys.stderr if argv[:1] not in (["-h"], ["--help"]) else sys.stdout)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    return textbook_main(argv[1:], "python -m modes textbook")


def textbook_main(argv, prog: str) -> int:
    """The textbook command under `prog` (its --help names it as typed)."""
    for stream in (sys.stdout, sys.stderr):  # an ASCII-only terminal gets "?" for "§"
        getattr(stream, "reconfigure", lambda **k: None)(errors="replace")
    try:
        args = textbook_parser(prog).parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    from . import textbook
    try:
        rows = textbook.compare(textbook.compute(args.backend, args.device, args.dtype))
    except FwdrevError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    ok = all(r[3] for r in rows)
    if args.json:
        print(json.dumps({"ok": ok, "backend": args.backend, "device": args.device,
                          "dtype": args.dtype,
                          "inputs": {n: v for n, _, _, v in textbook.INPUTS},
                          "rows": [{"name": n, "symbol": textbook.NAMES[n][0],
                                    "meaning": textbook.NAMES[n][1], "computed": c,
                                    "textbook": e, "equal": q} for n, c, e, q in rows]},
                         indent=1))
    else:
        print("maths §5, the textbook's worked example")
        print("inputs:")
        for _, sym, words, v in textbook.INPUTS:
            print(f"  {sym:3} = {_fmt(v):28} {words}")
        print(f"computed by the engines ({args.backend}, {args.device}, {args.dtype}):")
        print(f"  {'':10} {'':42} {'computed':26} {'textbook':26}")
        for n, c, e, q in rows:
            sym, words = textbook.NAMES[n]
            print(f"  {sym:10} {words:42} {_fmt(c):26} {_fmt(e):26} {'ok' if q else 'DIFFERS'}")
        print("all equal" if ok else "SOME DIFFER")
    return 0 if ok else 1


def _fmt(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(u) for u in v) + "]"
    return str(v)


if __name__ == "__main__":
    sys.exit(main())
