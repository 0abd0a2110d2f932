"""The engine against a real OPA: the managed process (start, auth, restart, stop) and every fault
mapped to its fail-closed reason code."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
from faulty_policy import agent_bundle
from opa_server import rest
from processes import pid_alive

from router import bundle as bundle_mod
from router import engine as eng
from router import opa_binary, opa_process, paths


@pytest.fixture(scope="module")
def managed(project_bundle):
    with eng.ManagedEngine(timeout_s=2.0) as engine:
        yield engine


@pytest.fixture(scope="module")
def faulty(faulty_bundle):
    with eng.ManagedEngine(faulty_bundle, timeout_s=5.0) as engine:
        yield engine


# -- the bundle -------------------------------------------------------------------------------


def test_bundle_has_roots_revision_and_no_test_modules(project_bundle):
    with tarfile.open(project_bundle.path) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith(".manifest"))))
    assert manifest["roots"] == ["model_router", "model_router_data"]
    assert manifest["revision"] == project_bundle.revision
    assert manifest["revision"].startswith("sha256:") and len(manifest["revision"]) == 71
    assert not [n for n in names if n.endswith("_test.rego")]
    assert any(n.endswith("model_router/decision.rego") for n in names)
    assert any(n.endswith("model_router/batch/batch.rego") for n in names)


def test_bundle_rebuilds_only_when_content_changes(project_bundle):
    again = bundle_mod.ensure_bundle()
    assert again.revision == project_bundle.revision
    assert again.rebuilt is False
    files = bundle_mod.staged_files()
    assert bundle_mod.content_digest(files) == project_bundle.revision
    changed = [(rel, content + b"\n# changed\n" if rel.endswith("decision.rego") else content) for rel, content in files]
    assert bundle_mod.content_digest(changed) != project_bundle.revision


def test_bundle_build_error_names_the_problem(tmp_path):
    files = [("model_router/broken.rego", b"package model_router\n\nx := \n")]
    with pytest.raises(bundle_mod.BundleBuildError, match="opa build"):
        bundle_mod.build_from_files(files, tmp_path / "b.tar.gz")


# -- the managed process --------------------------------------------------------------------


def test_managed_opa_listens_on_its_socket_and_reports_the_bundle_revision(managed, project_bundle):
    assert managed.alive and managed.url == f"unix://{managed.socket_path}"
    answer = managed.query({}, "model_router_data", "active")
    assert answer.ok, answer.detail
    assert answer.revision == project_bundle.revision
    assert answer.result["policy"].startswith("urn:socioprophet:model-routing-policy:")


def test_managed_opa_rejects_requests_without_its_token(managed):
    intruder = eng.RemoteEngine(managed.url, timeout_s=2.0)
    answer = intruder.query({}, "model_router_data", "active")
    assert answer.fault == eng.ENGINE_ERROR and "401" in answer.detail
    wrong = eng.RemoteEngine(managed.url, timeout_s=2.0, token="not-the-token")
    assert wrong.query({}, "model_router_data", "active").fault == eng.ENGINE_ERROR
    assert rest(managed.url, "GET", "/v1/data/model_router_data/active").status_code == 401


def test_managed_opa_without_auth_answers_anyone(project_bundle):
    with eng.ManagedEngine(timeout_s=2.0, auth=False) as engine:
        remote = eng.RemoteEngine(engine.url, timeout_s=2.0)
        assert remote.query({}, "model_router_data", "active").ok


def test_close_stops_the_process_group_and_removes_its_files(project_bundle):
    engine = eng.ManagedEngine(timeout_s=2.0)
    pid, tmpdir = engine.pid, engine.log_path.parent
    assert pid_alive(pid) and tmpdir.exists()
    engine.close()
    assert not pid_alive(pid)
    assert not tmpdir.exists()
    answer = engine.query({}, "model_router_data", "active")
    assert answer.fault == eng.ENGINE_UNAVAILABLE  # a closed engine never restarts


def test_interpreter_exit_stops_managed_opa(project_bundle, tmp_path):
    script = (
        "from router.engine import ManagedEngine\n"
        "e = ManagedEngine(timeout_s=2.0)\n"
        "print(e.pid, flush=True)\n"
        "assert e.query({}, 'model_router_data', 'active').ok\n"
        # no close(): atexit must stop it
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=paths.ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
@pytest.mark.parametrize("wrapper", ["setpriv_wrapper", "python_wrapper"])
def test_host_process_killed_with_sigkill_leaves_no_opa_behind(project_bundle, wrapper):
    if wrapper == "setpriv_wrapper" and opa_process.setpriv_wrapper() is None:
        pytest.skip("no setpriv that sets the parent-death signal on this machine")
    script = (
        "import os, signal, threading\n"
        "from router import opa_process\n"
        "from router.engine import ManagedEngine\n"
        f"opa_process.LAUNCHER.wrapper = opa_process.{wrapper}()\n"
        "assert opa_process.LAUNCHER.wrapper\n"
        "box = []\n"
        # started from a short-lived thread: the OPA must not die with that thread, only with the process
        "t = threading.Thread(target=lambda: box.append(ManagedEngine(timeout_s=2.0)))\n"
        "t.start(); t.join()\n"
        "e = box[0]\n"
        "assert e.query({}, 'model_router_data', 'active').ok\n"
        "print(e.pid, e.runtime_dir, flush=True)\n"
        "import time; time.sleep(0.5)\n"
        "assert e.alive and e.starts == 1\n"
        "print('alive', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=paths.ROOT, timeout=60)
    assert out.returncode == -signal.SIGKILL, out.stderr
    pid_text, folder, state = out.stdout.split()[:3]
    assert state == "alive"
    pid = int(pid_text)
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)
    # its runtime folder outlived it (no atexit after SIGKILL); the next engine to start sweeps it
    assert Path(folder).is_dir()
    with eng.ManagedEngine(timeout_s=2.0) as successor:
        assert successor.alive
        assert not Path(folder).exists()


def test_killed_opa_fails_closed_or_restarts_and_answers_correctly(project_bundle):
    with eng.ManagedEngine(timeout_s=2.0) as engine:
        before = engine.query({}, "model_router_data", "active")
        assert before.ok
        old_pid = engine.pid
        os.killpg(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while engine.alive and time.monotonic() < deadline:
            time.sleep(0.01)
        after = engine.query({}, "model_router_data", "active")
        assert after.fault in (None, eng.ENGINE_UNAVAILABLE)
        if after.fault:
            after = engine.query({}, "model_router_data", "active")
        assert after.ok and after.result == before.result and after.revision == before.revision
        assert engine.pid != old_pid and engine.starts == 2


def test_opa_that_cannot_start_fails_closed_without_raising(tmp_path, project_bundle):
    fake = tmp_path / "opa"
    version = opa_binary.pinned_version().lstrip("v")
    fake.write_text(f"#!/bin/sh\nif [ \"$1\" = version ]; then echo 'Version: {version}'; exit 0; fi\necho 'cannot start' >&2\nexit 7\n")
    fake.chmod(0o755)
    engine = eng.ManagedEngine(project_bundle.path, timeout_s=0.5, opa=fake, restart_backoff_s=60)
    try:
        assert engine.start_error and "cannot start" in engine.start_error
        answer = engine.decide(agent_bundle())
        assert answer.fault == eng.ENGINE_UNAVAILABLE and "cannot start" in answer.detail
        with pytest.raises(eng.EngineStartError):
            engine.start()
    finally:
        engine.close()


def test_a_background_start_returns_at_once_and_the_first_query_waits_for_it_outside_its_timeout(tmp_path, project_bundle):
    # `opa run` is held back 1 s by a wrapper: the engine is made at once, and the first query, whose
    # timeout (0.5 s) begins only once OPA is ready, answers
    slow = tmp_path / "opa"
    slow.write_text(f'#!/bin/sh\nif [ "$1" = run ]; then sleep 1; fi\nexec "{opa_binary.find_opa()}" "$@"\n', encoding="utf-8")
    slow.chmod(0o755)
    engine = eng.ManagedEngine(project_bundle.path, timeout_s=0.5, opa=slow, background_start=True)
    try:
        socket_path = engine.supervisor.socket_path
        assert socket_path is not None and not socket_path.exists()  # spawned, not listening yet
        answer = engine.query({}, "model_router_data", "active")
        assert answer.ok and answer.revision == project_bundle.revision
        assert engine.starts == 1 and engine.start_error is None and engine.alive
    finally:
        engine.close()


# -- faults -----------------------------------------------------------------------------------


def test_closed_port_is_engine_unavailable():
    port = eng.free_port()
    answer = eng.RemoteEngine(f"http://127.0.0.1:{port}", timeout_s=0.5).decide(agent_bundle())
    assert answer.fault == eng.ENGINE_UNAVAILABLE and answer.result is None


def test_timeout_is_engine_timeout_and_the_engine_keeps_working(faulty_bundle):
    with eng.ManagedEngine(faulty_bundle, timeout_s=0.1) as impatient:
        started = time.monotonic()
        answer = impatient.decide(agent_bundle("slow"))
        assert answer.fault == eng.ENGINE_TIMEOUT and "100 ms" in answer.detail
        assert time.monotonic() - started < 2.0
        impatient.timeout_s = 5.0  # the same process answers the next query
        assert impatient.decide(agent_bundle("string")).ok


def test_builtin_error_under_strict_mode_is_engine_error(faulty):
    answer = faulty.decide(agent_bundle("error"))
    assert answer.fault == eng.ENGINE_ERROR
    assert "500" in answer.detail and "to_number" in answer.detail


def test_no_result_key_is_policy_undefined(faulty):
    answer = faulty.decide(agent_bundle("nothing-defined-for-this"))
    assert answer.fault == eng.POLICY_UNDEFINED
    assert answer.revision and answer.revision.startswith("sha256:")


def test_garbage_is_returned_for_the_caller_to_reject(faulty):
    answer = faulty.decide(agent_bundle("garbage"))
    assert answer.ok and answer.result == {"kind": "nonsense", "selected": 42}


def test_batch_is_one_query_keyed_by_index(faulty):
    answer = faulty.decide_many([agent_bundle("string"), agent_bundle("undefined"), agent_bundle("garbage")])
    assert answer.ok
    assert answer.result == {"0": "just a string", "2": {"kind": "nonsense", "selected": 42}}


def test_non_json_answer_is_engine_error(tmp_path):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not OPA</html>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = eng.RemoteEngine(f"http://127.0.0.1:{server.server_port}", timeout_s=1).decide(agent_bundle())
        assert answer.fault == eng.ENGINE_ERROR
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1:1", "http://", "http://127.0.0.1:8181/v1/data", "127.0.0.1:8181"],
)
def test_unusable_opa_url_is_refused(url):
    with pytest.raises(ValueError, match="OPA URL"):
        eng.RemoteEngine(url)


def test_revision_from_provenance():
    assert eng.revision_from_provenance(None) is None
    assert eng.revision_from_provenance({"bundles": {}}) is None
    one = {"bundles": {"b.tar.gz": {"revision": "sha256:ab"}, "authz": {"revision": eng.AUTHZ_BUNDLE_REVISION}}}
    assert eng.revision_from_provenance(one) == "sha256:ab"
    two = {"bundles": {"x": {"revision": "r2"}, "y": {"revision": "r1"}}}
    assert eng.revision_from_provenance(two) == "r1,r2"
