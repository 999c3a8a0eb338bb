"""python -m bench {sweep,report,regress,baseline} … — each subcommand lives in its own module."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "sweep": ("bench.sweep", "time both modes over a grid of shapes; write results/<run-id>/"),
    "report": ("bench.report", "plot a run: plots/<run-id>/*.png and REPORT.md"),
    "regress": ("bench.gate.cli", "CI gate: engine time vs the same products written directly, and exact counts, vs results/baseline.json"),
    "baseline": ("bench.gate.cli", "re-record results/baseline.json on purpose"),
    "overhead": ("bench.overhead", "per-call cost of the engines against the same arithmetic by hand and torch.autograd"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: python -m bench {" + ",".join(COMMANDS) + "} [options]\n")
        for name, (_, what) in COMMANDS.items():
            print(f"  {name:9} {what}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:], command=argv[0])


if __name__ == "__main__":
    sys.exit(main())
