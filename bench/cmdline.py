"""What the bench commands share: one-line usage errors, the exit statuses, signals, and
checking a directory option before anything is written.

Exit statuses: 0 done; 1 a benchmark disagreed or failed (with --strict) or the benchmark
process failed; 2 usage (a bad argument or path, or a run that may not be written that
way); 3 a results file is damaged, unreadable or unwritable (the message names it); 4
another sweep is writing the run; 130 interrupted (Ctrl-C, SIGINT or SIGTERM).
"""
from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import math
import os
import signal
import sys
import threading
from pathlib import Path

from bench.errors import BenchError, DamagedError, UsageError


DEFAULT_PROG = "python -m bench"


class Command(str):
    """A command's name ("sweep", what messages and run metadata say) that also knows how
    its user typed it (`typed`: "fwdrev sweep" from the console script). bench.__main__
    makes one and passes it to the command's main, which hands it on as its `command`: the
    context travels with the call, and nothing is set in a module."""

    def __new__(cls, name: str, prog: str = DEFAULT_PROG):
        self = super().__new__(cls, name)
        self.typed = f"{prog} {name}"
        return self


def prog(command: str) -> str:
    """A command's name as its user typed it, for its --help and usage lines (a plain name,
    from a main called directly, is `python -m bench NAME`)."""
    return getattr(command, "typed", f"{DEFAULT_PROG} {command}")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (raised, so the command can return 2)."""

    def error(self, message):
        raise UsageError(message)


def entry(command: str, module: str, argv=None, interrupted: str = "interrupted") -> int:
    """Run `module`.run_command(argv, command) under `run`: the module (and all it imports:
    numpy, torch, pandas, …) is imported inside, so Ctrl-C at start-up is one line too."""
    argv = sys.argv[1:] if argv is None else list(argv)

    def body():
        work = importlib.import_module(module)
        checkpoint()
        return work.run_command(argv, command)
    return run(command, body, interrupted)


def bounded(kind, low, high):
    """An argparse type: a number of kind (int or float) from low to high, finite; NaN,
    inf and anything out of range are a one-line usage error."""
    def parse(text):
        try:
            v = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"not a number: {str(text)[:40]!r}") from None
        if not (math.isfinite(v) and low <= v <= high):
            raise argparse.ArgumentTypeError(f"{str(text)[:40]} is not from {low:g} to {high:g}")
        return v
    parse.__name__ = kind.__name__
    return parse


PLAIN = {"≈": "~", "–": "-", "—": "-", "→": "->", "←": "<-", "×": "x", "≤": "<=", "≥": ">=",
         "…": "...", "·": ".", "ℓ": "l", "²": "^2", "±": "+-", "’": "'", "“": '"', "”": '"'}
"""What a character fwdrev prints becomes on a terminal that cannot show it."""


def _plain(err: UnicodeEncodeError):
    bad = err.object[err.start:err.end]
    return "".join(PLAIN.get(c, "?") for c in bad), err.end


codecs.register_error("fwdrev-plain", _plain)


def plain_output() -> None:
    """stdout and stderr survive an ASCII-only (or other narrow) encoding: what they cannot
    encode is written in plain characters (PLAIN) instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="fwdrev-plain")


def run(command: str, body, interrupted: str = "interrupted") -> int:
    """body() → exit status, with every failure a command can meet turned into one line
    on stderr and its status; SIGINT and SIGTERM stop it as Ctrl-C does."""
    plain_output()
    with _signals():
        try:
            _PENDING.clear()
            return body()
        except SystemExit as e:  # --help
            return int(e.code or 0)
        except (KeyboardInterrupt, Exception) as e:
            if isinstance(e, KeyboardInterrupt) or _PENDING:  # or what an interruption broke
                print(f"{command}: {interrupted}", file=sys.stderr)
                return 130
            code, text = _failure(e)
            print(f"{command}: error: {text}", file=sys.stderr)
            return code


def _failure(e: Exception) -> tuple:
    """(exit status, one line) of a failure a command reports; re-raise a bug."""
    if isinstance(e, BenchError):
        return e.code, str(e)
    if isinstance(e, OSError):
        return DamagedError.code, os_message(e)
    from modes import FwdrevError  # loaded already when one was raised
    if isinstance(e, FwdrevError):
        return UsageError.code, str(e)
    raise e  # a bug, not bad input: keep its traceback


def os_message(e: OSError) -> str:
    """An OSError in one line: what failed, and on which file."""
    where = f": {e.filename}" if e.filename else ""
    return f"{e.strerror or e}{where}"


_PENDING = set()
"""The signals received: some C code (an extension's import, for one) swallows the
KeyboardInterrupt a signal raised, so `checkpoint` raises it again where it is safe."""


def _interrupt(signum, frame):
    _PENDING.add(signum)
    raise KeyboardInterrupt


def checkpoint() -> None:
    """Raise KeyboardInterrupt if SIGINT or SIGTERM came and was swallowed on the way."""
    if _PENDING:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _signals():
    """SIGINT and SIGTERM raise KeyboardInterrupt (even where SIGINT was inherited
    ignored, as in a script's background job); the old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def warner(command: str):
    """A function printing `<command>: warning: …` on stderr."""
    return lambda text: print(f"{command}: warning: {text}", file=sys.stderr)


def check_dir(option: str, text, write: bool = True) -> Path:
    """The directory an option names, checked before anything is written: not empty, not
    a file nor under one, and (write) writable. It need not exist yet."""
    if not str(text).strip():
        raise UsageError(f"{option} is empty")
    path = probe = Path(text)
    while not (probe.exists() or probe.is_symlink()):
        probe = probe.parent
    if not probe.is_dir():
        what = "a broken link" if probe.is_symlink() else "not a directory"
        raise UsageError(f"{option} {text}: {probe} is {what}")
    if write and not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {text}: {probe} is not writable")
    return path


def check_file(option: str, text) -> Path:
    """A file an option names, checked before anything is written: not empty, not a
    symbolic link (fwdrev never writes through one), not a directory, in a directory that
    exists and is writable."""
    if not str(text).strip():
        raise UsageError(f"{option} is empty")
    path = Path(text)
    folder = path.parent
    if path.is_symlink():
        raise UsageError(f"{option} {text} is a symbolic link; fwdrev never writes through one "
                         "(remove the link or name another file)")
    if path.is_dir():
        raise UsageError(f"{option} {text} is a directory; give a file name")
    if not folder.is_dir():
        raise UsageError(f"{option} {text}: no directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {text}: {folder} is not writable")
    return path
