"""fwdrev COMMAND [options] (also `python -m bench COMMAND`): each command lives in its own
module, and `fwdrev COMMAND --help` shows its options, allowed values and defaults."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "sweep": ("bench.sweep", "time the modes over a grid of shapes; write results/<run-id>/"),
    "report": ("bench.report", "plot a run: plots/<run-id>/*.png and REPORT.md"),
    "compare": ("bench.compare", "two runs side by side: time ratios, medians and IQRs, "
                "forward/reverse ratios, count differences, unpaired points"),
    "list": ("bench.listing", "the runs under results/: date, preset, machine, points, status"),
    "rm": ("bench.remove", "remove runs (never the reference, nor a run being written)"),
    "merge": ("bench.merge", "join runs of one grid (shards, several machines) into a new run"),
    "regress": ("bench.gate.cli", "CI gate: each engine against the same products written "
                "directly, and exact counts, vs results/baseline.json"),
    "baseline": ("bench.gate.cli", "re-record results/baseline.json on purpose"),
    "overhead": ("bench.overhead", "per-call cost of the engines against the same arithmetic "
                 "by hand and torch.autograd"),
    "textbook": ("bench.textbook", "reproduce the textbook's worked example (docs/maths.md §5); "
                 "exit 1 on any difference"),
}


def usage(prog) -> str:
    lines = [f"usage: {prog} {{{','.join(COMMANDS)}}} [options]   ({prog} COMMAND --help for one)", ""]
    lines += [f"  {name:9} {what}" for name, (_, what) in COMMANDS.items()]
    lines += ["", "  --version  print fwdrev's version"]
    return "\n".join(lines)


def main(argv=None, prog="python -m bench") -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "--version":
        from bench.meta import fwdrev_version
        print(f"fwdrev {fwdrev_version()}")
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(prog))
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"{prog}: error: unknown command {argv[0][:40]!r} (one of {', '.join(COMMANDS)}; "
              f"{prog} --help)", file=sys.stderr)
        return 2
    try:  # Ctrl-C while the command's module still imports is one line too
        from bench.cmdline import Command  # the commands' --help says what was typed
        module = importlib.import_module(COMMANDS[argv[0]][0])
        return module.main(argv[1:], command=Command(argv[0], prog))
    except KeyboardInterrupt:
        print(f"{prog} {argv[0]}: interrupted", file=sys.stderr)
        return 130


def console() -> int:
    """The `fwdrev` console script."""
    return main(prog="fwdrev")


if __name__ == "__main__":
    sys.exit(main())
