"""The console script's head start: router.launch begins the managed OPA's start (router.opa_prestart)
before it imports the command line, and the ManagedEngine the command builds adopts that OPA only when
it was made with the engine's own arguments. Against the real OPA."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from processes import pid_alive

from router import engine as eng
from router import launch, opa_prestart, paths
from router.config import Settings

BUNDLE = paths.ROOT / "examples" / "bundles" / "agent-routine-code-execution.json"
DEFAULT_BYTES = Settings().max_response_bytes


@pytest.fixture(autouse=True)
def nothing_pending():
    yield
    leftover = opa_prestart.take(object())  # stops whatever a failing test left pending
    assert leftover is None


def test_an_engine_with_the_same_arguments_adopts_the_prestarted_opa(project_bundle):
    opa_prestart.begin(extra_args=eng.MANAGED_OPA_ARGS, max_response_bytes=DEFAULT_BYTES)
    assert opa_prestart.pending()
    with eng.ManagedEngine(extra_args=eng.MANAGED_OPA_ARGS, max_response_bytes=DEFAULT_BYTES) as engine:
        assert not opa_prestart.pending()
        assert engine.starts == 1 and engine.alive, engine.start_error
        assert engine.supervisor.probe_timeout_s == max(engine.timeout_s, 2.0)
        answer = engine.decide(json.loads(BUNDLE.read_text()))
        assert answer.ok, answer.detail
        pid = engine.pid
    assert pid is not None and not pid_alive(pid)


def test_an_engine_with_other_arguments_stops_the_prestarted_opa_and_starts_its_own(project_bundle):
    opa_prestart.begin(extra_args=eng.MANAGED_OPA_ARGS, max_response_bytes=DEFAULT_BYTES)
    pending = opa_prestart._pending
    assert pending is not None
    pending.thread.join()
    assert pending.made is not None
    prestarted = pending.made[1]
    prestarted_pid = prestarted.pid
    assert prestarted_pid is not None and pid_alive(prestarted_pid)
    with eng.ManagedEngine(extra_args=(), max_response_bytes=DEFAULT_BYTES) as engine:  # no read-speed store
        assert not opa_prestart.pending()
        assert engine.supervisor is not prestarted
        assert not pid_alive(prestarted_pid)
        assert engine.pid != prestarted_pid and engine.alive
        assert engine.decide(json.loads(BUNDLE.read_text())).ok


def test_without_a_prestart_the_engine_starts_its_own(project_bundle):
    assert not opa_prestart.pending()
    with eng.ManagedEngine(extra_args=eng.MANAGED_OPA_ARGS, max_response_bytes=DEFAULT_BYTES) as engine:
        assert engine.alive and engine.starts == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["decide", "b.json"], True),
        (["decide", "-", "--format", "table"], True),
        (["decide", "b.json", "--opa-url", "http://127.0.0.1:8181"], False),
        (["decide", "b.json", "--opa-url=http://127.0.0.1:8181"], False),
        (["decide", "b.json", "--config", "router.yaml"], False),
        (["decide", "--help"], False),
        (["validate", "b.json"], False),
        ([], False),
    ],
)
def test_only_a_decide_with_the_embedded_opa_is_prestarted(argv, expected):
    assert launch.wants_prestart(argv) is expected


def test_settings_naming_a_remote_opa_prestart_nothing(monkeypatch):
    monkeypatch.setenv("MODEL_ROUTER_OPA_URL", "http://127.0.0.1:1")
    launch.prestart()
    pending = opa_prestart._pending
    assert pending is not None
    pending.thread.join()
    assert pending.made is None  # nothing was started
    assert opa_prestart.take(object()) is None and not opa_prestart.pending()


def test_the_console_scripts_prestart_is_adopted_by_the_routers_engine(project_bundle, monkeypatch):
    for name in ("MODEL_ROUTER_OPA_URL", "MODEL_ROUTER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    launch.prestart()
    assert opa_prestart.pending()
    from router import Router

    with Router(receipts=False) as router:
        assert not opa_prestart.pending()
        assert router.engine.starts == 1 and router.engine.alive
        assert router.decide(json.loads(BUNDLE.read_text())).fault is None


def _run_script(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "MODEL_ROUTER_RECEIPTS": "0", **env}
    return subprocess.run([sys.executable, "-m", "router.launch", *args], capture_output=True, text=True,
                          env=full_env, timeout=120, check=False)


def test_the_console_script_decides_the_same_with_and_without_the_head_start(project_bundle):
    with_head_start = _run_script(["decide", str(BUNDLE)])
    without = _run_script(["decide", str(BUNDLE)], MODEL_ROUTER_NO_PRESTART="1")
    assert with_head_start.returncode == without.returncode, with_head_start.stderr
    first, second = json.loads(with_head_start.stdout), json.loads(without.stdout)
    assert first["decisionId"] == second["decisionId"] and first["selected"] == second["selected"]


def test_a_command_that_fails_before_deciding_leaves_no_opa_behind(tmp_path, project_bundle):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    runtime = tempfile.mkdtemp(prefix="mr-prestart-", dir="/tmp")  # short: the socket path must fit
    try:
        result = _run_script(["decide", str(broken)], XDG_RUNTIME_DIR=runtime)
        assert result.returncode == 2, result.stderr
        assert _opa_serving_under(runtime) == set()
        assert os.listdir(runtime) == []  # the prestarted OPA's private folder is gone too
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def _opa_serving_under(folder: str) -> set[int]:
    """The pids of every live `opa run` whose command line names FOLDER (its socket's folder)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if b"\0run\0" in cmd and folder.encode() in cmd and pid_alive(int(entry)):
            found.add(int(entry))
    return found
