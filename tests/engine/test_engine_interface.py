"""The engine split at its seam: one interface (router.engine_interface.Engine) that the managed,
remote and fleet engines implement; an OPA client (router.opa_client) that queries an OPA it did not
start; a process supervisor (router.opa_supervisor) that runs OPA without any client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from processes import pid_alive

from router import approvals, opa_http, opa_process, opa_supervisor, paths
from router import expected as expected_mod
from router.bundle import BuiltBundle
from router.bundle_input import load
from router.config import Settings
from router.engine import ManagedEngine, RemoteEngine
from router.engine_fleet import FleetEngine
from router.engine_interface import Engine
from router.opa_binary import find_opa
from router.opa_client import (
    DECISION_PACKAGE,
    DECISION_RULE,
    ENGINE_ERROR,
    ENGINE_REVISION_MISMATCH,
    ENGINE_UNAVAILABLE,
    OpaClient,
)
from router.opa_http import Channel, ChannelError
from router.opa_process import kill_process_group
from router.opa_supervisor import OpaSupervisor

EXAMPLE = paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json"
EVALUATION = approvals.parse_evaluation_time("2026-06-01T12:00:00Z")


def example_input() -> dict[str, Any]:
    return {**load(EXAMPLE).bundle, "evaluation": EVALUATION}


def expected_outcome() -> dict[str, Any]:
    return json.loads(EXAMPLE.with_name(EXAMPLE.stem + ".expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def outside_opa(project_bundle: BuiltBundle) -> Iterator[str]:
    """An OPA this test starts itself (no supervisor, no router code): the project bundle activated
    under the name `model_router`, as a deployed replica has it, on a unix socket."""
    folder = Path(tempfile.mkdtemp(prefix="iface-opa-", dir="/tmp"))
    config = folder / "opa.yaml"
    config.write_text(f"bundles:\n  model_router:\n    resource: file://{project_bundle.path.resolve()}\n", encoding="utf-8")
    url = f"unix://{folder / 'opa.sock'}"
    with open(folder / "opa.log", "ab") as log:
        proc = subprocess.Popen(
            [str(find_opa()), "run", "--server", "--addr", url, "--unix-socket-perm", "600", "--config-file", str(config),
             "--log-level", "error", "--skip-version-check"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
    channel, deadline = Channel(url), time.monotonic() + 30
    try:
        while True:
            try:
                channel.request("GET", "/health?bundles", None, 1.0)
                break
            except ChannelError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "opa.log").read_text(errors="replace")[-500:]) from None
                time.sleep(0.05)
        yield url
    finally:
        channel.close()
        kill_process_group(proc)
        shutil.rmtree(folder, ignore_errors=True)


def _engine(kind: str, outside_opa: str, project_bundle: BuiltBundle) -> Engine:
    if kind == "managed":
        return ManagedEngine(timeout_s=5.0)
    if kind == "remote":
        return RemoteEngine(outside_opa, 5.0, expected_revision=project_bundle.revision)
    return FleetEngine([outside_opa], 5.0, health_interval_s=60.0)


# -- one interface -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["managed", "remote", "fleet"])
def test_every_engine_implements_the_interface_and_decides_an_example(kind, outside_opa, project_bundle):
    with _engine(kind, outside_opa, project_bundle) as engine:
        assert isinstance(engine, Engine)
        assert isinstance(engine.describe, str) and engine.describe
        answer = engine.decide(example_input())
        assert answer.ok, answer.detail
        assert answer.revision == project_bundle.revision == engine.last_revision
        # the example's expected outcome, compared by the policy's own comparison, asked of the same engine
        assert expected_mod.problems(engine, answer.result, expected_outcome()) == []
        batch = engine.decide_many([example_input(), example_input()])
        assert batch.ok, batch.detail
        assert batch.result == {"0": answer.result, "1": answer.result}
        undefined = engine.query({}, "model_router", "no_such_rule")
        assert undefined.fault == "policy-undefined"


def test_the_interface_check_refuses_an_object_that_lacks_part_of_it(project_bundle):
    class Partial:
        timeout_s = 1.0
        last_revision = None
        describe = "partial"

        def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
                  decisions: int = 1) -> Any:
            return None

        def close(self) -> None:
            pass

    assert not isinstance(Partial(), Engine)  # no decide, decide_many or context manager


def test_a_closed_engine_fails_closed(outside_opa, project_bundle):
    for kind in ("managed", "fleet"):
        engine = _engine(kind, outside_opa, project_bundle)
        engine.close()
        assert engine.decide(example_input()).fault == ENGINE_UNAVAILABLE, kind


# -- the client: queries, no process ----------------------------------------------------------


def test_the_client_queries_an_opa_it_did_not_start(outside_opa, project_bundle):
    with OpaClient(outside_opa) as client:
        assert client.check(2.0) == {"model_router": project_bundle.revision}
        answer = client.ask(example_input(), DECISION_PACKAGE, DECISION_RULE, 5.0,
                            expected_revision=project_bundle.revision)
        assert answer.ok and answer.revision == project_bundle.revision
        expected = expected_outcome()
        assert (answer.result["selected"]["status"], answer.result["selected"]["lane"]) == (expected["status"], expected["lane"])
        other = "sha256:" + "0" * 64
        pinned = client.ask(example_input(), DECISION_PACKAGE, DECISION_RULE, 5.0, expected_revision=other)
        assert (pinned.fault, pinned.revision, pinned.result) == (ENGINE_REVISION_MISMATCH, other, None)


def test_the_client_maps_nothing_listening_to_engine_unavailable(tmp_path):
    with OpaClient(f"unix://{tmp_path / 'nobody.sock'}") as client:
        answer = client.ask({}, DECISION_PACKAGE, DECISION_RULE, 1.0)
    assert answer.fault == ENGINE_UNAVAILABLE and answer.refused


def test_the_client_module_knows_no_process():
    code = "import sys, router.opa_client; print(sorted(m for m in sys.modules if m in ('router.opa_process', 'router.opa_supervisor', 'subprocess')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=paths.ROOT,
                         env={**os.environ, "PYTHONPATH": str(paths.ROOT)})
    assert out.stdout.strip() == "[]"


# -- the supervisor: a process, no query --------------------------------------------------------


def test_the_supervisor_starts_checks_restarts_and_stops_opa_without_a_client(project_bundle):
    with OpaSupervisor() as supervisor:
        assert supervisor.served is None and not supervisor.alive
        supervisor.start()
        served = supervisor.served
        assert served is not None and served.start == 1 and served.revision == project_bundle.revision
        assert supervisor.alive and supervisor.healthy(2.0)
        assert served.url == f"unix://{supervisor.socket_path}" and served.token  # auth on by default
        first = supervisor.pid
        assert first is not None
        folder = supervisor.runtime_dir
        assert folder is not None and (folder.stat().st_mode & 0o777) == 0o700

        supervisor.stop()
        assert not supervisor.alive and not supervisor.healthy(0.5) and not pid_alive(first)
        assert supervisor.ensure_running()  # a stopped (or dead) OPA is started again
        assert supervisor.pid != first and supervisor.served is not None and supervisor.served.start == 2
        assert supervisor.served.token != served.token and supervisor.healthy(2.0)

        # the two halves compose: a client of what the supervisor serves (with its token, and without)
        current = supervisor.served
        with OpaClient(current.url, token=current.token) as client:
            assert client.ask(example_input(), DECISION_PACKAGE, DECISION_RULE, 5.0,
                              expected_revision=current.revision).ok
        with OpaClient(current.url) as anonymous:
            assert anonymous.ask(example_input(), DECISION_PACKAGE, DECISION_RULE, 5.0).fault == ENGINE_ERROR

        # an explicit start while running replaces the process: the old one is gone, the new one answers
        replaced = supervisor.pid
        assert replaced is not None
        supervisor.start()
        assert supervisor.served is not None and supervisor.served.start == 3 and supervisor.pid != replaced
        assert not pid_alive(replaced) and supervisor.healthy(2.0)
        second = supervisor.pid
    assert supervisor.closed and not supervisor.ensure_running()
    assert second is not None and not pid_alive(second) and not folder.exists()


def _slow_opa(folder: Path, delay_s: float) -> Path:
    """The pinned OPA behind a wrapper whose `opa run` waits DELAY_S seconds before OPA itself starts."""
    wrapper = folder / "opa"
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = run ]; then sleep {delay_s}; fi\nexec "{find_opa()}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def test_a_start_begun_without_waiting_returns_before_opa_is_ready_and_the_first_look_waits(tmp_path, project_bundle):
    # OPA cannot listen before the wrapper's sleep ends, so the socket is absent when try_start returns
    with OpaSupervisor(opa=_slow_opa(tmp_path, 1.0)) as supervisor:
        assert supervisor.try_start(wait=False)
        socket_path = supervisor.socket_path
        assert socket_path is not None and not socket_path.exists()
        served = supervisor.served  # the first look finishes the start: ready and proven
        assert served is not None and served.start == 1 and served.revision == project_bundle.revision
        assert supervisor.starts == 1 and supervisor.start_error is None
        assert supervisor.alive and supervisor.healthy(2.0) and socket_path.exists()
        with OpaClient(served.url, token=served.token) as client:
            assert client.ask(example_input(), DECISION_PACKAGE, DECISION_RULE, 5.0, expected_revision=served.revision).ok


def test_readers_in_several_threads_all_wait_for_a_start_begun_without_waiting(tmp_path, project_bundle):
    with OpaSupervisor(opa=_slow_opa(tmp_path, 0.5)) as supervisor:
        assert supervisor.try_start(wait=False)
        with ThreadPoolExecutor(max_workers=4) as pool:
            seen = list(pool.map(lambda _: (supervisor.served, supervisor.alive), range(4)))
        assert {served for served, _ in seen} == {supervisor.served} and all(alive for _, alive in seen)
        assert supervisor.starts == 1 and supervisor.served is not None and supervisor.served.start == 1


def test_a_start_begun_without_waiting_that_fails_is_recorded_as_a_waiting_start_records_it():
    with OpaSupervisor(extra_args=["--no-such-flag"], restart_backoff_s=60.0) as supervisor:
        assert supervisor.try_start(wait=False)  # verified and spawned; OPA then refuses its arguments
        assert supervisor.start_error and "OPA exited with status" in supervisor.start_error
        assert supervisor.served is None and supervisor.pid is None and supervisor.starts == 0
        assert not supervisor.ensure_running()  # within the back-off: no new attempt


def test_stopping_a_start_in_progress_kills_the_child_without_waiting_for_it(tmp_path):
    with OpaSupervisor(opa=_slow_opa(tmp_path, 30.0)) as supervisor:
        assert supervisor.try_start(wait=False)
        pending = supervisor._pending
        assert pending is not None
        child = pending.launch.proc
        supervisor.close()  # does not wait out the wrapper's 30 s
        assert child.wait(timeout=10) is not None and not pid_alive(child.pid)
        assert supervisor.served is None and not supervisor.alive and supervisor.starts == 0


def test_an_engine_adopts_a_supervisor_its_caller_started_without_starting_it_again(project_bundle):
    settings = Settings(timeout_ms=2000)
    supervisor = opa_supervisor.for_settings(settings)
    assert supervisor.try_start(wait=False)
    pending = supervisor._pending
    assert pending is not None
    with ManagedEngine(timeout_s=settings.timeout_s, supervisor=supervisor, background_start=True) as engine:
        assert engine.supervisor is supervisor
        answer = engine.query({}, "model_router_data", "active")
        assert answer.ok and answer.revision == project_bundle.revision
        assert engine.starts == 1 and engine.pid == pending.launch.proc.pid  # the caller's OPA, not a second one
    assert supervisor.closed and not pid_alive(pending.launch.proc.pid)


def test_a_spawn_that_fails_after_its_child_started_stops_the_child(project_bundle, monkeypatch):
    children: list[subprocess.Popen[bytes]] = []
    popen = opa_process.LAUNCHER.popen

    def recording(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        children.append(popen(*args, **kwargs))
        return children[-1]

    def no_channel(*args: Any, **kwargs: Any) -> Channel:
        raise RuntimeError("no channel")

    monkeypatch.setattr(opa_process.LAUNCHER, "popen", recording)
    monkeypatch.setattr(opa_http, "Channel", no_channel)
    folder = opa_process.runtime_dir()
    try:
        with pytest.raises(RuntimeError, match="no channel"):
            opa_process.OpaProcess.spawn(opa=find_opa(), bundle=project_bundle.path, revision=project_bundle.revision,
                                         folder=folder, log_path=folder / "opa.log", auth=False)
        assert len(children) == 1 and children[0].wait(timeout=10) is not None and not pid_alive(children[0].pid)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_supervisor_that_cannot_start_records_why(tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a bundle")
    with OpaSupervisor(broken, restart_backoff_s=60.0) as supervisor:
        assert not supervisor.try_start()
        assert supervisor.start_error and supervisor.served is None and supervisor.pid is None
        assert not supervisor.ensure_running()  # within the back-off: no new attempt
