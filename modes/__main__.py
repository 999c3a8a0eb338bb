"""python -m modes textbook [--json] [--backend numpy|torch] [--device cpu|cuda] [--dtype …]"""
from __future__ import annotations

import argparse
import json
import sys

from .errors import FwdrevError


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line and exit 2 (no usage block)."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv=None) -> int:
    for stream in (sys.stdout, sys.stderr):  # an ASCII-only terminal gets "?" for "§"
        getattr(stream, "reconfigure", lambda **k: None)(errors="replace")
    ap = _Parser(prog="python -m modes", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    tb = sub.add_parser("textbook", help="reproduce maths §5 with the engines; exit 1 on any difference")
    tb.add_argument("--json", action="store_true", help="print JSON instead of a table")
    tb.add_argument("--backend", default="numpy")
    tb.add_argument("--device", default="cpu")
    tb.add_argument("--dtype", default="float64")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    from . import textbook
    try:
        rows = textbook.compare(textbook.compute(args.backend, args.device, args.dtype))
    except FwdrevError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ok = all(r[3] for r in rows)
    if args.json:
        print(json.dumps({"ok": ok, "backend": args.backend, "device": args.device,
                          "dtype": args.dtype,
                          "rows": [{"name": n, "computed": c, "textbook": e, "equal": q}
                                   for n, c, e, q in rows]}, indent=1))
    else:
        print(f"maths §5, computed by the engines ({args.backend}, {args.device}, {args.dtype})")
        print(f"{'':14} {'computed':34} {'textbook':34}")
        for n, c, e, q in rows:
            print(f"{n:14} {_fmt(c):34} {_fmt(e):34} {'ok' if q else 'DIFFERS'}")
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
