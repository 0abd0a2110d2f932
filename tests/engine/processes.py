"""Process checks of the engine tests."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether PID is a live process (a zombie, which still answers kill(0), counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
