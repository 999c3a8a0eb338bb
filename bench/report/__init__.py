"""python -m bench report [RUN]: plots and REPORT.md for a sweep's results.

RUN is a run id under the results directory, "latest" (the default), or a path to a run
directory. The figures and REPORT.md go to plots/<run>/; reporting the latest run also
points plots/latest at them. Ends with a one-screen summary and the report's path.

With --reference, the run is first copied to results/reference/ (points.csv, meta.json, the
pytest-benchmark JSON without per-round data) and reported to plots/reference/: the
committed reference run, replaced only when asked like this.

The work is in bench.report.document, imported only once Ctrl-C is one line (bench.cmdline).
"""
from __future__ import annotations

from bench import cmdline as cli


def main(argv=None, command="report") -> int:
    """Entry point of `python -m bench report`; returns the exit status (bench.cmdline)."""
    return cli.entry(command, "bench.report.document", argv)
