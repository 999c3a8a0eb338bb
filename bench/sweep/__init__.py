"""python -m bench sweep: time the modes over a grid of shapes; write results/<run-id>/.

    python -m bench sweep --preset default
    python -m bench sweep --L 2 --m 16,64,256 --d m --target gradient,jacobian --K 1,64
    python -m bench sweep --preset quick --backend torch --device cuda --run-id gpu-try

A run is resumable: the same run id (given, or the unfinished latest run of the same grid)
skips what is done; --force starts it again from nothing; --new always starts a new run.
The work is in bench.sweep.command, imported only once Ctrl-C is one line (bench.cmdline).
"""
from __future__ import annotations

from bench import cmdline as cli


def main(argv=None, command="sweep") -> int:
    """Entry point of `python -m bench sweep`; returns the exit status (bench.cmdline)."""
    return cli.entry(command, "bench.sweep.command", argv,
                     "interrupted; run the same command again to resume")
