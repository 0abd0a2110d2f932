"""The engine channel's guarantees, each shown against the attack or fault that broke it before:
the router talks only to its own OPA (no port to squat), serving a verified bundle within the
capabilities, under the expected revision, within one deadline per call, with a size cap, no
redirects and no proxy from the environment; a result must answer the request that was sent."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
from fake_opa import FakeOpa, http_response, json_answer

from router import Router, approvals, bundle_record, opa_process, paths
from router import bundle as bundle_mod
from router import engine as eng
from router.bundle_input import load
from router.config import load_settings

EXAMPLE = paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json"  # selected, lane high-end
PERSONAL = paths.EXAMPLES / "bundles" / "personal-battery-critical.json"
BOUND_S = 5.0  # far above every timeout used here, far below a hang


@pytest.fixture(scope="module")
def real_answers(project_bundle):
    """What the real OPA answers (the whole response body) for the agent and the personal example."""
    with eng.ManagedEngine(timeout_s=10.0, auth=False) as engine:
        out = {}
        for name, path in (("agent", EXAMPLE), ("personal", PERSONAL)):
            body = eng.Channel(engine.url).post_json(eng.rule_path("model_router.projection", "result"), {"input": {**load(path).bundle, "evaluation": approvals.fixed_evaluation()}}, 10.0)
            out[name] = body
        return out


def serving(body: dict):
    return lambda conn, request, stop: conn.sendall(json_answer(body))


# -- 1. the managed OPA: no port to squat -------------------------------------------------------


def test_a_squatter_on_the_chosen_port_is_never_trusted(project_bundle, monkeypatch):
    """The old port model: a process that binds the port first and answers /health with 200 received
    the token and its forged answer was accepted. With the explicit TCP transport the router first
    checks (via /proc) that the listener belongs to its child; the squatter is never asked anything."""
    forged = {"result": {"kind": "AgentExecutionRouteDecision", "selected": {"status": "selected", "lane": "high-end"}}}
    with FakeOpa(serving(forged)) as squatter:
        monkeypatch.setattr(opa_process, "free_port", lambda: squatter.port)
        engine = eng.ManagedEngine(timeout_s=1.0, transport="tcp", startup_timeout_s=3.0, restart_backoff_s=60)
        try:
            answer = engine.decide(load(EXAMPLE).bundle)
            assert answer.fault == eng.ENGINE_UNAVAILABLE
            assert squatter.requests == []  # no health check, no token, no query went to it
        finally:
            engine.close()


def test_tcp_transport_works_when_the_port_is_its_own(project_bundle):
    with eng.ManagedEngine(timeout_s=5.0, transport="tcp") as engine:
        assert engine.url.startswith("http://127.0.0.1:")
        assert eng.listener_belongs_to(engine.pid, int(engine.url.rsplit(":", 1)[1]))
        assert engine.decide(load(EXAMPLE).bundle).ok


# -- 2. integrity of what OPA serves ------------------------------------------------------------


def _tampered_copy(src, out):
    manifest, files = bundle_mod.read_archive(src)
    files = [(rel, content.replace(b'"high-end"', b'"high-end" ') if rel.endswith("data.json") else content) for rel, content in files]
    files.append(("model_router/extra.rego", b"package model_router.extra\n\nx := 1\n"))
    bundle_mod._write_archive(files, manifest, out)  # the legitimate revision in the manifest
    return out


def test_a_tampered_bundle_is_not_served_under_the_legitimate_revision(project_bundle, tmp_path):
    tampered = _tampered_copy(project_bundle.path, tmp_path / "tampered.tar.gz")
    assert bundle_mod.revision_of(tampered) == project_bundle.revision
    with pytest.raises(bundle_mod.BundleIntegrityError, match="digest of the archive's contents"):
        bundle_mod.verify(tampered)
    engine = eng.ManagedEngine(tampered, timeout_s=2.0, restart_backoff_s=60)
    try:
        assert engine.pid is None and "cannot be served" in engine.start_error
        assert engine.decide(load(EXAMPLE).bundle).fault == eng.ENGINE_UNAVAILABLE
    finally:
        engine.close()


def _build_in(build, monkeypatch) -> None:
    """The project bundle built into and recorded in BUILD: for the builder (router.bundle) and for the
    managed OPA's first start, which spawns OPA on the recorded archive (router.bundle_record)."""
    for name, file in (("BUNDLE_FILE", "bundle.tar.gz"), ("REVISION_FILE", "bundle.revision"), ("STAGE_DIR", "bundle"),
                       ("LOCK_FILE", ".bundle.lock")):
        monkeypatch.setattr(bundle_mod, name, build / file)
    for name, file in (("BUNDLE_FILE", "bundle.tar.gz"), ("REVISION_FILE", "bundle.revision")):
        monkeypatch.setattr(bundle_record, name, build / file)


def _project_archive_tampered_on_disk(tmp_path, monkeypatch):
    """A project build folder under TMP_PATH whose archive was edited under the legitimate manifest
    (the revision file still names the sources' revision); returns the legitimate build."""
    build = tmp_path / "build"
    build.mkdir()
    _build_in(build, monkeypatch)
    built = bundle_mod.ensure_bundle()
    _tampered_copy(built.path, build / "t.tar.gz")
    os.replace(build / "t.tar.gz", built.path)
    return built


def test_a_tampered_project_bundle_on_disk_is_rebuilt_from_the_sources(project_bundle, tmp_path, monkeypatch):
    built = _project_archive_tampered_on_disk(tmp_path, monkeypatch)
    again = bundle_mod.ensure_bundle()
    assert again.rebuilt and again.revision == built.revision
    assert bundle_mod.verify(again.path, built.revision) == built.revision


def test_the_managed_engine_serves_the_sources_revision_when_the_project_archive_was_tampered(project_bundle, tmp_path, monkeypatch):
    """The managed engine's start checks the copy it serves (in its private folder) against the revision
    of the sources: a project archive edited on disk under the legitimate manifest is rebuilt, and OPA
    serves what the sources give, never the edited copy."""
    built = _project_archive_tampered_on_disk(tmp_path, monkeypatch)
    with eng.ManagedEngine(timeout_s=10.0, restart_backoff_s=60) as engine:
        assert engine.start_error is None and engine.pid is not None
        assert engine.bundle_revision == built.revision
        served = opa_process.served_revision(eng.Channel(engine.url, token=engine.token), 5.0)
        assert served == built.revision
        pinned = engine.supervisor._private_dir() / "bundle.tar.gz"
        assert bundle_mod.verify(pinned, built.revision) == built.revision
        _, files = bundle_mod.read_archive(pinned)
        assert not any(rel == "model_router/extra.rego" for rel, _ in files)
    assert bundle_mod.verify(built.path, built.revision) == built.revision  # rebuilt on disk too


def test_the_managed_engine_serves_the_verified_bytes_even_when_the_project_archive_changes_right_after(project_bundle, tmp_path,
                                                                                                           monkeypatch):
    """The private copy is written from the bytes ensure_bundle verified: an archive edited on disk between
    that check and the copy never reaches OPA."""
    build = tmp_path / "build"
    build.mkdir()
    _build_in(build, monkeypatch)
    ensure = bundle_mod.ensure_bundle

    def ensure_then_tamper(force: bool = False) -> bundle_mod.BuiltBundle:
        built = ensure(force)
        _tampered_copy(built.path, build / "t.tar.gz")
        os.replace(build / "t.tar.gz", built.path)
        return built

    monkeypatch.setattr(bundle_mod, "ensure_bundle", ensure_then_tamper)
    legitimate = ensure()
    with eng.ManagedEngine(timeout_s=10.0, restart_backoff_s=60) as engine:
        assert engine.start_error is None and engine.bundle_revision == legitimate.revision
        pinned = engine.supervisor._private_dir() / "bundle.tar.gz"
        assert pinned.read_bytes() == legitimate.archive
        _, files = bundle_mod.read_archive(pinned)
        assert not any(rel == "model_router/extra.rego" for rel, _ in files)


def test_a_policy_using_http_send_is_refused_before_it_is_served(tmp_path):
    """opa run does not apply the capabilities file: a bundle built without it ran http.send and
    posted the input to a listener. Every bundle the router serves is checked against it first."""
    hits = []
    with FakeOpa(lambda conn, request, stop: (hits.append(request), conn.sendall(json_answer({})))) as listener:
        leak = f'package model_router\n\ndecision := http.send({{"method": "POST", "url": "{listener.url}", "body": input}})\n'
        files = [*bundle_mod.staged_files(), ("model_router/leak.rego", leak.encode())]
        files = [(rel, content) for rel, content in files if rel != "model_router/decision.rego"]
        bundle_mod.build_from_files(files, tmp_path / "leak.tar.gz", capabilities=None)
        engine = eng.ManagedEngine(tmp_path / "leak.tar.gz", timeout_s=2.0, restart_backoff_s=60)
        try:
            assert engine.start_error and "http.send" in engine.start_error
            assert engine.decide(load(EXAMPLE).bundle).fault == eng.ENGINE_UNAVAILABLE
        finally:
            engine.close()
        assert hits == []


def test_a_remote_engine_pinned_to_a_revision_refuses_another(project_bundle, tmp_path):
    with eng.ManagedEngine(timeout_s=5.0) as managed:
        pinned = eng.RemoteEngine(managed.url, 5.0, token=managed.token, expected_revision=project_bundle.revision)
        assert pinned.decide(load(EXAMPLE).bundle).ok
        other = eng.RemoteEngine(managed.url, 5.0, token=managed.token, expected_revision="sha256:" + "0" * 64)
        answer = other.decide(load(EXAMPLE).bundle)
        assert answer.fault == eng.ENGINE_REVISION_MISMATCH and project_bundle.revision in answer.detail
        with Router(opa_url=managed.url, opa_token=managed.token, receipts=False, config_file=None) as plain:
            pass
        del plain
        settings = load_settings(env={"MODEL_ROUTER_OPA_URL": managed.url, "MODEL_ROUTER_OPA_TOKEN": managed.token,
                                      "MODEL_ROUTER_OPA_REVISION": "sha256:" + "1" * 64, "MODEL_ROUTER_RECEIPTS": "off"})
        with Router(settings=settings) as router:
            decision = router.decide(EXAMPLE)
        assert decision.status == "denied" and decision.reason == eng.ENGINE_REVISION_MISMATCH
        assert decision.to_guardrail()["decision"] == "deny"


def test_the_managed_engine_checks_the_served_revision_before_the_first_decision(project_bundle, monkeypatch):
    monkeypatch.setattr(opa_process, "served_revision", lambda channel, timeout_s: "sha256:" + "2" * 64)
    engine = eng.ManagedEngine(timeout_s=2.0, restart_backoff_s=60)
    try:
        assert eng.ENGINE_REVISION_MISMATCH in engine.start_error
        assert engine.decide(load(EXAMPLE).bundle).fault == eng.ENGINE_UNAVAILABLE
    finally:
        engine.close()


# -- 3. one deadline per call, size cap, no redirects, no proxy --------------------------------


def _drip(interval_s: float, total: int):
    def handler(conn, request, stop):
        body = b'{"result": {}}'.ljust(total)
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n".encode())
        for i in range(len(body)):
            if stop.wait(interval_s):
                return
            conn.sendall(body[i : i + 1])
    return handler


@pytest.mark.parametrize("interval_s", [0.05, 0.25])
def test_a_dripped_answer_is_engine_timeout_within_one_deadline(interval_s):
    """Each byte arrives well within the timeout, the whole answer never does: one deadline bounds the call."""
    with FakeOpa(_drip(interval_s, 400)) as slow:
        engine = eng.RemoteEngine(slow.url, timeout_s=0.3)
        started = time.monotonic()
        answer = engine.decide(load(EXAMPLE).bundle)
        assert answer.fault == eng.ENGINE_TIMEOUT
        assert time.monotonic() - started < BOUND_S
        engine.close()


def test_a_huge_answer_is_refused_without_reading_it():
    declared = lambda conn, request, stop: conn.sendall(  # noqa: E731
        b"HTTP/1.1 200 OK\r\nContent-Length: 400000000\r\nContent-Type: application/json\r\n\r\n{")
    with FakeOpa(declared) as huge:
        answer = eng.RemoteEngine(huge.url, timeout_s=2.0).decide(load(EXAMPLE).bundle)
        assert answer.fault == eng.ENGINE_ERROR and "limit" in answer.detail

    def chunked(conn, request, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")
        piece = b" " * 65536
        try:
            for _ in range(200):  # 13 MB if it were read whole
                if stop.is_set():
                    return
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        except OSError:
            return

    with FakeOpa(chunked) as streaming:
        answer = eng.RemoteEngine(streaming.url, timeout_s=5.0, max_response_bytes=1024 * 1024).decide(load(EXAMPLE).bundle)
        assert answer.fault == eng.ENGINE_ERROR and "1048576-byte limit" in answer.detail


def test_a_redirect_is_never_followed(real_answers):
    with FakeOpa(serving(real_answers["agent"])) as elsewhere:
        moved = lambda conn, request, stop: conn.sendall(  # noqa: E731
            http_response("307 Temporary Redirect", b"", {"Location": elsewhere.url + "/v1/data/model_router/decision"}))
        with FakeOpa(moved) as redirecting:
            answer = eng.RemoteEngine(redirecting.url, timeout_s=2.0, token="secret").decide(load(EXAMPLE).bundle)
            assert answer.fault == eng.ENGINE_ERROR and "redirect" in answer.detail
        assert elsewhere.requests == []


def test_proxy_settings_in_the_environment_are_never_used(project_bundle, real_answers, monkeypatch, tmp_path):
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{dead.getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    started = time.monotonic()
    with Router(receipts=False, timeout_ms=5000) as router:
        assert router.decide(EXAMPLE).fault is None
    with FakeOpa(serving(real_answers["agent"])) as remote:
        with Router(opa_url=remote.url, receipts=False, timeout_ms=5000) as router:
            assert router.decide(EXAMPLE).fault is None
        assert len(remote.requests) >= 1
    assert time.monotonic() - started < 20


def test_an_explicit_proxy_is_used_for_a_remote_engine(real_answers):
    with FakeOpa(serving(real_answers["agent"])) as proxy:
        engine = eng.RemoteEngine("http://opa.invalid:8181", timeout_s=2.0, proxy=proxy.url)
        assert engine.decide(load(EXAMPLE).bundle).ok
        assert proxy.requests[0].startswith(b"POST http://opa.invalid:8181/v1/data/model_router/decision?")


def test_decide_many_gets_one_deadline_per_batch(real_answers):
    with FakeOpa(_drip(0.05, 400)) as slow, Router(opa_url=slow.url, receipts=False, timeout_ms=100) as router:
        started = time.monotonic()
        decisions = router.decide_many([EXAMPLE, EXAMPLE])
        assert {d.reason for d in decisions} == {eng.ENGINE_TIMEOUT}
        assert time.monotonic() - started < BOUND_S


# -- 5. results checked against the request -----------------------------------------------------


def _altered(answer: dict, change) -> dict:
    body = json.loads(json.dumps(answer))
    change(body["result"]["decision"])  # the decision the router asks for, beside its projections
    return body


@pytest.mark.parametrize(
    ("name", "which", "change"),
    [
        ("another requestId", "agent", lambda r: r["input"].update(requestId="req-someone-else")),
        ("another task class", "agent", lambda r: r["input"].update(taskClass="formatting")),
        ("selected with lane null", "agent", lambda r: r["selected"].update(lane=None)),
        ("another binding", "personal", lambda r: r.update(bindingRef="urn:socioprophet:model-router-binding:other")),
        ("selected with target null", "personal", lambda r: r["selected"].update(status="selected", target=None, reason="target-selected")),
    ],
)
def test_a_result_that_does_not_answer_the_request_is_invalid(real_answers, name, which, change):
    body = _altered(real_answers[which], change)
    with FakeOpa(serving(body)) as forged, Router(opa_url=forged.url, receipts=False, timeout_ms=2000) as router:
        decision = router.decide(EXAMPLE if which == "agent" else PERSONAL)
    assert decision.status == "denied" and decision.reason == eng.INVALID_POLICY_RESULT, (name, decision.detail)
    assert decision.permitted is False and decision.to_guardrail()["decision"] == "deny"


# every way a JSON number can reach Python as NaN or an infinity: the constants Python's parser accepts,
# and literals beyond the float range
NON_FINITE_LITERALS = ["NaN", "Infinity", "-Infinity", "1e999", "-1.5E+400"]


@pytest.mark.parametrize("literal", NON_FINITE_LITERALS)
def test_a_non_finite_number_in_a_result_is_invalid(real_answers, literal):
    text = json.dumps(real_answers["agent"]).replace('"estimatedCost": 0.33', f'"estimatedCost": {literal}', 1)
    assert literal in text
    answer = http_response("200 OK", text.encode())
    with FakeOpa(lambda conn, request, stop: conn.sendall(answer)) as forged, \
            Router(opa_url=forged.url, receipts=False, timeout_ms=2000) as router:
        decision = router.decide(EXAMPLE)
    assert decision.reason == eng.INVALID_POLICY_RESULT and "$.candidateSet" in decision.detail and "finite" in decision.detail


@pytest.mark.parametrize("literal", NON_FINITE_LITERALS)
def test_a_non_finite_number_in_one_decision_of_a_batch_fails_that_decision_alone(real_answers, literal):
    """The batch answer is screened as a whole by the decoder; the decision holding the number is refused
    with its path, the other one of the same answer is decided."""
    one = real_answers["agent"]["result"]
    text = json.dumps({"result": {"0": one, "1": one}, "provenance": real_answers["agent"].get("provenance")})
    text = text.replace('"estimatedCost": 0.33', f'"estimatedCost": {literal}', 1)
    assert literal in text
    answer = http_response("200 OK", text.encode())
    with FakeOpa(lambda conn, request, stop: conn.sendall(answer)) as forged, \
            Router(opa_url=forged.url, receipts=False, timeout_ms=2000) as router:
        first, second = router.decide_many([EXAMPLE, EXAMPLE])
    assert first.reason == eng.INVALID_POLICY_RESULT and "finite" in first.detail
    assert second.fault is None and second.lane == "high-end"


def test_the_unaltered_answer_is_accepted_from_the_same_fake(real_answers):
    """The control for the tests above: the fake server itself is not what gets refused."""
    with FakeOpa(serving(real_answers["agent"])) as honest, Router(opa_url=honest.url, receipts=False, timeout_ms=2000) as router:
        decision = router.decide(EXAMPLE)
    assert decision.fault is None and decision.lane == "high-end"


# -- 6. IPv6 ---------------------------------------------------------------------------------


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_an_ipv6_url_is_accepted_and_reached(real_answers):
    with FakeOpa(serving(real_answers["agent"]), host="::1") as v6:
        assert v6.url.startswith("http://[::1]:")
        with Router(opa_url=v6.url, receipts=False, timeout_ms=2000) as router:
            assert router.decide(EXAMPLE).fault is None


def test_threads_share_one_engine_safely(project_bundle):
    with eng.ManagedEngine(timeout_s=5.0) as engine:
        results = []

        def work():
            results.extend(engine.decide(load(EXAMPLE).bundle).ok for _ in range(10))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert results == [True] * 40


# -- TLS: the same deadline, and certificates are verified ---------------------------------------


@pytest.fixture
def loopback_cert(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return key, cert


def _tls(handler, key, cert):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return FakeOpa(handler, tls=context)


def test_tls_answers_are_verified_and_bounded_by_the_same_deadline(loopback_cert, real_answers, monkeypatch):
    key, cert = loopback_cert
    with _tls(serving(real_answers["agent"]), key, cert) as untrusted:
        answer = eng.RemoteEngine(untrusted.url, timeout_s=2.0).decide(load(EXAMPLE).bundle)
        assert answer.fault in (eng.ENGINE_ERROR, eng.ENGINE_UNAVAILABLE) and "certificate" in answer.detail.lower()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    with _tls(serving(real_answers["agent"]), key, cert) as trusted:
        assert eng.RemoteEngine(trusted.url, timeout_s=5.0).decide(load(EXAMPLE).bundle).ok
    with _tls(_drip(0.05, 400), key, cert) as slow:
        started = time.monotonic()
        answer = eng.RemoteEngine(slow.url, timeout_s=0.3).decide(load(EXAMPLE).bundle)
        assert answer.fault == eng.ENGINE_TIMEOUT
        assert time.monotonic() - started < BOUND_S
