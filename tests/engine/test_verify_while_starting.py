"""The project bundle's first start without waiting: OPA is spawned on the archive build/ records and
the bundle is verified while OPA compiles it (router.opa_supervisor). Nothing is sent to that OPA
until `ensure_bundle` has given the same bytes and revision; when it gives others, the child is stopped
unasked and OPA is started again on the verified bytes; when the bundle cannot be verified, the child
is stopped and the start fails as a start that verifies first fails."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from processes import pid_alive

from router import bundle as bundle_mod
from router import bundle_record, opa_process, opa_supervisor
from router.opa_client import OpaClient
from router.opa_supervisor import OpaSupervisor


@pytest.fixture
def events(monkeypatch) -> list[str]:
    """The order of the supervisor's verifications of the project bundle and its spawns (with the
    launch each spawn made), and every launch that was waited for (a wait sends OPA its first requests)."""
    seen: list[Any] = []
    verify, spawn, wait = opa_supervisor._project_bundle, opa_process.OpaProcess.spawn, opa_process.Launch.wait

    def verifying() -> bundle_mod.BuiltBundle:
        seen.append("verify")
        return verify()

    def spawning(*args: Any, **kwargs: Any) -> opa_process.Launch:
        launch = spawn(*args, **kwargs)
        seen.append(("spawn", launch))
        return launch

    def waiting(self: opa_process.Launch) -> opa_process.OpaProcess:
        seen.append(("wait", self))
        return wait(self)

    monkeypatch.setattr(opa_supervisor, "_project_bundle", verifying)
    monkeypatch.setattr(opa_process.OpaProcess, "spawn", staticmethod(spawning))
    monkeypatch.setattr(opa_process.Launch, "wait", waiting)
    return seen


def _kinds(seen: list[Any]) -> list[str]:
    return [e if isinstance(e, str) else e[0] for e in seen]


def _launches(seen: list[Any], kind: str) -> list[opa_process.Launch]:
    return [e[1] for e in seen if not isinstance(e, str) and e[0] == kind]


def _other_archive(revision: str) -> bytes:
    """A bundle OPA would serve, claiming REVISION, with other content than the project's."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, doc in (("/.manifest", {"revision": revision, "roots": [""]}), ("/data.json", {"model_router_data": {"active": "other"}})):
            raw = json.dumps(doc).encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def _archive_active(archive: bytes) -> Any:
    """data.model_router_data.active as the ARCHIVE holds it."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.lstrip("/") == "model_router_data/data.json")
        handle = tar.extractfile(member)
        assert handle is not None
        return json.load(handle)["active"]


def _active(served: opa_supervisor.Served) -> Any:
    with OpaClient(served.url, token=served.token) as client:
        answer = client.ask({}, "model_router_data", "active", 5.0, expected_revision=served.revision)
    assert answer.ok, answer
    return answer.result


def test_the_first_start_without_waiting_spawns_before_it_verifies_and_asks_only_after(project_bundle, events):
    with OpaSupervisor() as supervisor:
        assert supervisor.try_start(wait=False)
        assert _kinds(events) == ["spawn"]  # the recorded archive, not yet verified
        served = supervisor.served  # the first look: verified, then ready and proven
        assert _kinds(events) == ["spawn", "verify", "wait"]
        assert _launches(events, "spawn") == _launches(events, "wait")
        assert served is not None and served.revision == project_bundle.revision and served.start == 1
        assert supervisor.start_error is None and supervisor.starts == 1
        assert _active(served) == _archive_active(project_bundle.archive)


def test_a_waiting_start_verifies_before_it_spawns(project_bundle, events):
    with OpaSupervisor() as supervisor:
        supervisor.start()
        assert _kinds(events) == ["verify", "spawn", "wait"]
        assert supervisor.served is not None and supervisor.served.revision == project_bundle.revision


def test_without_a_recorded_archive_the_bundle_is_verified_before_the_spawn(project_bundle, events, monkeypatch):
    monkeypatch.setattr(bundle_record, "recorded_bundle", lambda: None)
    with OpaSupervisor() as supervisor:
        assert supervisor.try_start(wait=False)
        assert _kinds(events) == ["verify", "spawn"]
        assert supervisor.served is not None and supervisor.served.revision == project_bundle.revision


def test_a_recorded_archive_other_than_the_verified_one_is_never_asked_and_opa_starts_again(project_bundle, events, monkeypatch):
    # a tampered build/bundle.tar.gz that claims the recorded revision: OPA would load and serve it
    monkeypatch.setattr(bundle_record, "recorded_bundle", lambda: (_other_archive(project_bundle.revision), project_bundle.revision))
    with OpaSupervisor() as supervisor:
        assert supervisor.try_start(wait=False)
        (first,) = _launches(events, "spawn")
        served = supervisor.served
        assert _kinds(events) == ["spawn", "verify", "verify", "spawn", "wait"]
        second = _launches(events, "spawn")[1]
        assert _launches(events, "wait") == [second]  # the first child was never sent a request
        assert first.proc.poll() is not None and not pid_alive(first.proc.pid)
        assert served is not None and served.revision == project_bundle.revision and supervisor.pid == second.proc.pid
        assert supervisor.start_error is None and supervisor.starts == 1
        assert _active(served) == _archive_active(project_bundle.archive) != "other"


def test_a_recorded_revision_other_than_the_verified_one_starts_opa_again(project_bundle, events, monkeypatch):
    monkeypatch.setattr(bundle_record, "recorded_bundle", lambda: (project_bundle.archive, "sha256:" + "0" * 64))
    with OpaSupervisor() as supervisor:
        assert supervisor.try_start(wait=False)
        (first,) = _launches(events, "spawn")
        served = supervisor.served
        assert _launches(events, "wait") == [_launches(events, "spawn")[1]]
        assert not pid_alive(first.proc.pid)
        assert served is not None and served.revision == project_bundle.revision


def test_a_bundle_that_cannot_be_verified_stops_the_child_and_fails_the_start(project_bundle, events, monkeypatch):
    def tampered() -> bundle_mod.BuiltBundle:
        events.append("verify")
        raise bundle_mod.BundleIntegrityError("build/bundle.tar.gz: the archive does not match revision x")

    monkeypatch.setattr(opa_supervisor, "_project_bundle", tampered)
    with OpaSupervisor(restart_backoff_s=60.0) as supervisor:
        assert supervisor.try_start(wait=False)
        (child,) = _launches(events, "spawn")
        assert supervisor.served is None
        assert supervisor.start_error == ("EngineStartError: the bundle cannot be served: "
                                          "build/bundle.tar.gz: the archive does not match revision x")
        assert _launches(events, "wait") == []
        assert child.proc.poll() is not None and not pid_alive(child.proc.pid)
        assert supervisor.pid is None and supervisor.starts == 0 and not supervisor.alive


def test_closing_before_the_first_look_stops_the_unverified_child_without_verifying(project_bundle, events):
    supervisor = OpaSupervisor()
    assert supervisor.try_start(wait=False)
    (child,) = _launches(events, "spawn")
    supervisor.close()
    assert _kinds(events) == ["spawn"]
    assert child.proc.poll() is not None and not pid_alive(child.proc.pid)


def test_recorded_bundle_reads_what_build_records(project_bundle, tmp_path, monkeypatch):
    assert bundle_record.recorded_bundle() == (project_bundle.archive, project_bundle.revision)
    monkeypatch.setattr(bundle_record, "REVISION_FILE", tmp_path / "missing.revision")
    assert bundle_record.recorded_bundle() is None
    empty = tmp_path / "empty.revision"
    empty.write_text("\n", encoding="utf-8")
    monkeypatch.setattr(bundle_record, "REVISION_FILE", empty)
    assert bundle_record.recorded_bundle() is None
    monkeypatch.setattr(bundle_record, "REVISION_FILE", Path(bundle_mod.paths.BUILD) / "bundle.revision")
    monkeypatch.setattr(bundle_record, "BUNDLE_FILE", tmp_path / "missing.tar.gz")
    assert bundle_record.recorded_bundle() is None
