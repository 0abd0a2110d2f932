"""Read a user-named file without ever blocking on it: only a regular file is read, and at most LIMIT + 1
bytes of it (so a caller can tell "too large" from "exactly the limit")."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class SpecialFileError(OSError):
    """The path names a FIFO, device or socket, which is refused before anything is read."""


def read_regular_file(path: str | Path, limit: int) -> bytes:
    """Up to LIMIT + 1 bytes of the regular file at PATH. Raises FileNotFoundError, IsADirectoryError,
    SpecialFileError, or another OSError."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; anything but a regular file is refused
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory")
        if not stat.S_ISREG(mode):
            raise SpecialFileError("a special file (FIFO, device or socket)")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            return fh.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
