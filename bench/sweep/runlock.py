"""One writer per run: an exclusive lock (fcntl.flock) on results/<run-id>/.lock, held by
the sweep for as long as it works on the run and by its pytest child (which inherits the
descriptor), so a second sweep of the same run is refused at once instead of mixing its
rows, meta and raw JSON into the first one's. The kernel drops the lock when the
holders exit, however they exit: a killed sweep never leaves a stale lock behind."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from bench.errors import BusyError
from bench.safefs import open_fd

LOCK = ".lock"
WAIT_S = 2.0
"""How long to wait for a lock that a killed sweep's processes are still letting go of."""


class RunLock:
    """`with RunLock(run_dir) as lock:` — lock.fd is the descriptor to pass to a child."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.fd = None

    def __enter__(self) -> "RunLock":
        fd = open_fd(self.run_dir / LOCK, os.O_RDWR | os.O_CREAT)  # never through a link
        if not _take(fd, WAIT_S):
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise BusyError(f"run {self.run_dir.name} is being written by another sweep "
                            f"(pid {holder}); wait for it to end, or use another --run-id") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as e:  # a full disk: say which file
            os.close(fd)
            raise OSError(e.errno, e.strerror, str(self.run_dir / LOCK)) from None
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)
        self.fd = None


class ReadLock:
    """`with ReadLock(run_dir):` — the run's lock, held without creating or writing its
    .lock (a reader such as `fwdrev merge` leaves the run byte for byte as it was); a
    run another sweep is writing is refused at once (BusyError)."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.fd = None

    def __enter__(self) -> "ReadLock":
        path = self.run_dir / LOCK
        if not (path.exists() or path.is_symlink()):
            return self  # no sweep ever locked it: a copied or committed run
        fd = open_fd(path, os.O_RDONLY)
        if not _take(fd, 0):
            os.close(fd)
            raise BusyError(f"run {self.run_dir.name} is being written by a sweep now; "
                            "wait for it to end") from None
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
        self.fd = None


def _take(fd: int, wait_s: float) -> bool:
    """Lock fd exclusively, trying for up to wait_s seconds; whether it was locked."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
