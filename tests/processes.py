"""Process checks shared by the test suites (engine, reliability)."""

from __future__ import annotations


def pid_alive(pid: int) -> bool:
    """True while PID exists and is not a zombie (a zombie still answers kill(0))."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
