"""The parent-death wrapper the managed OPA is started through (router.opa_process.Launcher): setpriv
when it can set the signal, else a Python one-liner; either runs its command only while its parent is
the process that asked. (That the signal reaches OPA when the host is killed: test_engine.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from router import opa_process

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")

WRAPPERS = ["setpriv_wrapper", "python_wrapper"]


def wrapper_prefix(name: str) -> list[str]:
    prefix: list[str] | None = getattr(opa_process, name)()
    if not prefix:
        pytest.skip(f"{name}: not available on this machine")
    return prefix


@pytest.mark.parametrize("name", WRAPPERS)
def test_the_wrapper_runs_its_command_for_the_parent_that_asked(name, tmp_path):
    marker = tmp_path / "ran"
    done = subprocess.run([*wrapper_prefix(name), str(os.getpid()), "/bin/sh", "-c", 'echo "$0 $1" > "$2"', "one two", "three", str(marker)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "one two three\n"  # arguments arrive unchanged, spaces and all


@pytest.mark.parametrize("name", WRAPPERS)
def test_the_wrapper_runs_nothing_when_its_parent_is_not_the_one_that_asked(name, tmp_path):
    """A parent that died before the signal was set never sends it: the child must not start OPA."""
    marker = tmp_path / "ran"
    not_the_parent = "1"
    done = subprocess.run([*wrapper_prefix(name), not_the_parent, "/bin/sh", "-c", 'touch "$0"', str(marker)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()


def test_setpriv_is_preferred_when_it_sets_the_signal(monkeypatch):
    if opa_process.setpriv_wrapper() is None:
        pytest.skip("no setpriv that sets the parent-death signal on this machine")
    launcher = opa_process.Launcher()
    proc = launcher.popen(["/bin/true"])
    assert proc.wait(timeout=30) == 0
    assert launcher.wrapper is not None
    assert Path(launcher.wrapper[0]).name == "setpriv"
    assert launcher.wrapper[1:3] == ["--pdeathsig", "TERM"]


def test_without_setpriv_the_python_wrapper_is_used(monkeypatch):
    monkeypatch.setattr(opa_process, "SETPRIV", "model-router-no-such-setpriv")
    assert opa_process.setpriv_wrapper() is None
    launcher = opa_process.Launcher()
    proc = launcher.popen(["/bin/true"])
    assert proc.wait(timeout=30) == 0
    assert launcher.wrapper == opa_process.python_wrapper()


def test_a_setpriv_that_cannot_set_the_signal_is_not_used(monkeypatch, tmp_path):
    """An older setpriv (before util-linux 2.33) rejects --pdeathsig: the probe finds that out."""
    fake = tmp_path / "setpriv"
    fake.write_text('#!/bin/sh\necho "setpriv: unrecognized option \'--pdeathsig\'" >&2\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    assert opa_process.setpriv_wrapper() is None
