"""File-system operations that never follow a link someone else planted.

Inside a run's folder (results/<run-id>/) and a report's folder (plots/<run-id>/) every
file and folder is fwdrev's own. A symbolic link where fwdrev expects one of them is
refused with one line naming it (DamagedError, exit 3): no write, truncation, append or
delete ever reaches the file or folder it points to. The results and plots roots
themselves may be links (a user's choice, e.g. to $SCRATCH); what lies under them is
checked here.
"""
from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

from bench.errors import DamagedError


def refuse_link(path) -> Path:
    """path, or a one-line DamagedError when it is a symbolic link."""
    path = Path(path)
    if path.is_symlink():
        raise DamagedError(f"{path} is a symbolic link; fwdrev never writes or deletes "
                           "through one in a run or plots folder (remove the link)")
    return path


def own_dir(path, create: bool = False) -> Path:
    """A folder of fwdrev's own (a run, its .raw, a report): refused when it is a link or
    not a folder; made (one level) when create and missing."""
    path = refuse_link(path)
    if create:
        try:
            path.mkdir(exist_ok=True)
        except FileExistsError:
            pass
        refuse_link(path)  # lost a race to a link planted between the check and mkdir
    if path.exists() and not path.is_dir():
        raise DamagedError(f"{path} is not a folder; fwdrev expects its own folder there")
    return path


def open_fd(path, flags: int, mode: int = 0o644) -> int:
    """os.open with O_NOFOLLOW: a link at path is refused in one line."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            refuse_link(path)
        raise


def open_append(path):
    """A text file opened for appending (made when missing), never through a link."""
    return os.fdopen(open_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "a",
                     encoding="utf-8")


def files(folder, pattern: str = "*") -> list:
    """The plain files (no links, no folders) matching pattern in one of fwdrev's own
    folders, sorted; [] when it does not exist; refused when the folder is a link."""
    folder = own_dir(folder)
    if not folder.exists():
        return []
    return sorted(p for p in folder.glob(pattern) if p.is_file() and not p.is_symlink())


def remove_tree(path) -> None:
    """Remove one of fwdrev's folders and what is in it; a link inside is removed, never
    followed (shutil.rmtree's rule); a link at path itself is refused."""
    shutil.rmtree(own_dir(path))


_RENAME_EXCHANGE = 2


def exchange(a, b) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the
    system cannot, and nothing moved."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new, dest) -> None:
    """Put the folder new at dest, the old dest (if any) removed after: an atomic exchange
    where the system allows, else two renames (the old folder kept until the new is in)."""
    new, dest = Path(new), own_dir(dest)
    if not dest.exists():
        os.rename(new, dest)
        return
    if exchange(new, dest):
        shutil.rmtree(new)  # now the old one
        return
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    os.rename(dest, old)
    os.rename(new, dest)
    shutil.rmtree(old)


def build_folder(dest, fill, mode: int = 0o777):
    """fill(tmp) into a new temporary folder beside dest, then swapped in whole (swap_in):
    an error or Ctrl-C in fill leaves dest as it was. Returns what fill returns."""
    dest = own_dir(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)  # mkdtemp makes 0700; results are for sharing
        result = fill(tmp)
        swap_in(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result
