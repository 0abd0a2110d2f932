"""Stopping a managed process (router.opa_process.kill_process_group): SIGTERM to its process group,
SIGKILL after the grace period, the child reaped; the wait wakes when the child exits (a pidfd) rather
than polling with growing sleeps, which a command that stops its OPA waited for (about 7 ms after OPA's
exit on average, docs/performance.md)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
import types

import pytest
from processes import pid_alive

from router import opa_process
from router.opa_process import kill_process_group

# exits 50 ms after SIGTERM (as OPA does after its graceful shutdown), and only then
_SLOW_TO_EXIT = 'trap "sleep 0.05; exit 0" TERM; while :; do sleep 0.01; done'
_IGNORES_TERM = 'trap "" TERM; while :; do sleep 0.01; done'


def _child(script: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["/bin/sh", "-c", script], start_new_session=True)
    time.sleep(0.1)  # the trap is set
    return proc


@pytest.fixture(params=["pidfd", "without pidfd"])
def pidfd(request, monkeypatch) -> bool:
    """Each test with the kernel's pidfd and without it (an older kernel: Popen.wait alone)."""
    if request.param == "without pidfd":
        def unsupported(pid: int, flags: int = 0) -> int:
            raise OSError(errno.ENOSYS, "pidfd_open")

        monkeypatch.setattr(os, "pidfd_open", unsupported, raising=False)
        return False
    if not hasattr(os, "pidfd_open"):
        pytest.skip("no os.pidfd_open here")
    return True


@pytest.fixture
def polling_sleeps(monkeypatch) -> list[float]:
    """The sleeps of Popen.wait's polling loop (subprocess's `time.sleep`), recorded."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(subprocess, "time", types.SimpleNamespace(sleep=sleep, monotonic=time.monotonic))
    return sleeps


def test_a_child_that_exits_on_sigterm_is_reaped(pidfd, polling_sleeps) -> None:
    proc = _child(_SLOW_TO_EXIT)
    kill_process_group(proc)
    assert proc.returncode == 0 and not pid_alive(proc.pid)
    if pidfd:
        assert polling_sleeps == []  # woken by the exit itself, not by a poll that came after it
    else:
        assert polling_sleeps  # Popen.wait's own polling


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(pidfd, monkeypatch) -> None:
    monkeypatch.setattr(opa_process, "STOP_GRACE_S", 0.3)
    proc = _child(_IGNORES_TERM)
    kill_process_group(proc)
    assert proc.returncode == -signal.SIGKILL and not pid_alive(proc.pid)


def test_a_child_already_gone_is_left_alone(pidfd) -> None:
    proc = subprocess.Popen(["/bin/sh", "-c", "exit 3"], start_new_session=True)
    proc.wait()
    kill_process_group(proc)
    assert proc.returncode == 3
