"""The errors a bench command reports as one line (`<command>: error: …`), each with the
exit status it returns. modes.FwdrevError (bad input to the engines or the grid) is a
usage error too."""
from __future__ import annotations


class BenchError(Exception):
    """A failure reported as one line; `code` is the exit status."""

    code = 1


class UsageError(BenchError):
    """A bad argument or path, or a run that may not be written this way (exit 2)."""

    code = 2


class DamagedError(BenchError):
    """A results file that is damaged, foreign or unreadable (exit 3); the message names
    it and says what to do."""

    code = 3


class BusyError(BenchError):
    """Another sweep is writing this run now (exit 4)."""

    code = 4


class AxisError(UsageError, ValueError):
    """A bad value of an axis or a point (exit 2): a ValueError too, as modes.FwdrevError is,
    for the callers that read a point from a file and catch bad values as ValueError."""
