"""Lock-down of the managed OPA: loopback only; without the token nothing can be queried or changed;
with the token the server is still read-only; the policies and data are a bundle with declared roots,
so even an OPA without the authorization policy refuses REST writes to them; the token is never on a
command line or on disk; network and environment built-ins cannot get into a bundle."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from reliability_support import listening_addresses, personal_bundle, rest

from router import bundle as bundle_mod
from router import engine as eng

EVIL_POLICY = "package model_router\n\ndecision := {\"kind\": \"AgentExecutionRouteDecision\", \"selected\": {\"status\": \"selected\", \"lane\": \"pro\"}}\n"
OUTSIDE_POLICY = "package outside_policy\n\nx := 1\n"


def write_attempts(url: str) -> list[tuple[str, str, dict]]:
    """Every REST call that would change policies or data (method, path, keyword arguments)."""
    return [
        ("PUT", "/v1/policies/evil", {"data": EVIL_POLICY, "headers": {"Content-Type": "text/plain"}}),
        ("PUT", "/v1/policies/outside", {"data": OUTSIDE_POLICY, "headers": {"Content-Type": "text/plain"}}),
        ("DELETE", "/v1/policies/model_router/decision.rego", {}),
        ("PUT", "/v1/data/model_router_data/active", {"json": {"policy": "urn:evil"}}),
        ("PUT", "/v1/data/model_router/decision", {"json": {"selected": {"lane": "pro"}}}),
        ("PUT", "/v1/data/outside_data", {"json": {"x": 1}}),
        ("PATCH", "/v1/data", {"json": [{"op": "add", "path": "/model_router_data/active/policy", "value": "urn:evil"}]}),
        ("PATCH", "/v1/data/model_router_data", {"json": [{"op": "remove", "path": "/reasons"}]}),
        ("DELETE", "/v1/data/model_router_data", {}),
        ("PUT", "/v1/data/system/model_router_auth", {"json": {"token_sha256": "0" * 64}}),
        ("PUT", "/v1/policies/system/authz.rego", {"data": "package system.authz\n\nallow := true\n", "headers": {"Content-Type": "text/plain"}}),
    ]


def read_attempts() -> list[tuple[str, str, dict]]:
    return [
        ("POST", "/v1/data/model_router/decision", {"json": {"input": personal_bundle()}}),
        ("GET", "/v1/data/model_router_data/active", {}),
        ("GET", "/v1/data", {}),
        ("POST", "/v1/query", {"json": {"query": "data.model_router_data.active"}}),
        ("GET", "/v1/policies", {}),
        ("GET", "/v1/config", {}),
        ("GET", "/v1/status", {}),
        ("GET", "/health", {}),
    ]


def snapshot(engine: eng.ManagedEngine) -> tuple:
    """What the policy decides and which data it holds, through the router's own client."""
    decision = engine.decide(personal_bundle())
    active = engine.query({}, "model_router_data", "active")
    assert decision.ok and active.ok, (decision.detail, active.detail)
    return decision.result["selected"], active.result, decision.revision


@pytest.fixture(scope="module")
def locked(project_bundle):
    with eng.ManagedEngine(timeout_s=10.0) as engine:
        yield engine


def test_managed_opa_listens_on_no_tcp_port_only_on_its_private_socket(locked):
    """The managed OPA has no TCP listener at all: only a unix socket (mode 0600) inside a private 0700
    folder owned by this user, so no other local user can bind its address first or reach it."""
    assert listening_addresses(locked.pid) == set()
    assert locked.url == f"unix://{locked.socket_path}"
    folder = os.lstat(locked.runtime_dir)
    assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()
    sock = os.lstat(locked.socket_path)
    assert stat.S_ISSOCK(sock.st_mode) and sock.st_uid == os.getuid() and stat.S_IMODE(sock.st_mode) & 0o077 == 0
    with open(f"/proc/{locked.pid}/cmdline", "rb") as fh:
        args = fh.read().split(b"\0")
    assert args[args.index(b"--addr") + 1] == f"unix://{locked.socket_path}".encode()


@pytest.mark.parametrize("attempt", range(len(write_attempts("")) + len(read_attempts())))
def test_without_the_token_nothing_can_be_read_or_changed(locked, attempt):
    before = snapshot(locked)
    method, path, kwargs = (write_attempts(locked.url) + read_attempts())[attempt]
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        merged = {**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}
        response = rest(locked.url, method, path, **merged)
        assert response.status_code == 401, (method, path, headers, response.status_code, response.text[:200])
    assert snapshot(locked) == before


@pytest.mark.parametrize("attempt", range(len(write_attempts(""))))
def test_with_the_token_the_server_is_still_read_only(locked, attempt):
    before = snapshot(locked)
    method, path, kwargs = write_attempts(locked.url)[attempt]
    headers = {**kwargs.get("headers", {}), "Authorization": f"Bearer {locked.token}"}
    response = rest(locked.url, method, path, **{**kwargs, "headers": headers})
    assert response.status_code in (401, 403), (method, path, response.status_code, response.text[:200])
    assert snapshot(locked) == before


def test_with_the_token_only_health_and_data_reads_answer(locked):
    headers = {"Authorization": f"Bearer {locked.token}"}
    allowed = {("POST", "/v1/data/model_router/decision"), ("GET", "/v1/data/model_router_data/active"), ("GET", "/v1/data"), ("GET", "/health")}
    for method, path, kwargs in read_attempts():
        response = rest(locked.url, method, path, **{**kwargs, "headers": headers})
        if (method, path) in allowed:
            assert response.status_code == 200, (method, path, response.text[:200])
        else:
            assert response.status_code in (401, 403), (method, path, response.status_code)


@pytest.fixture(scope="module")
def open_opa(project_bundle):
    with eng.ManagedEngine(timeout_s=10.0, auth=False) as engine:
        yield engine


@pytest.mark.parametrize("attempt", range(len(write_attempts(""))))
def test_bundle_roots_refuse_rest_writes_even_without_authorization(open_opa, attempt):
    """An OPA serving the bundle with no authorization at all (auth=False): the declared roots still
    make every write to the policies and data fail; writes outside the roots change nothing the
    router reads."""
    engine = open_opa
    before = snapshot(engine)
    method, path, kwargs = write_attempts(engine.url)[attempt]
    response = rest(engine.url, method, path, **kwargs)
    # this OPA has no authorization bundle, so system/... and outside_.../ are outside every bundle root
    outside = path in ("/v1/policies/outside", "/v1/data/outside_data") or "system" in path
    if outside:
        assert response.status_code in (200, 204)
    else:
        assert response.status_code >= 400, (method, path, response.status_code, response.text[:200])
        if response.status_code == 400:
            assert "bundle" in response.text or "root" in response.text or "not found" in response.text, response.text[:300]
    assert snapshot(engine) == before


def test_the_token_is_on_no_command_line_and_only_its_digest_on_disk(locked):
    token = locked.token
    with open(f"/proc/{locked.pid}/cmdline", "rb") as fh:
        assert token.encode() not in fh.read()
    with open(f"/proc/{locked.pid}/environ", "rb") as fh:
        assert token.encode() not in fh.read()
    private = locked.log_path.parent
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o700
    found_digest = False
    for root, _, files in os.walk(private):
        for name in files:
            if not stat.S_ISREG(os.lstat(os.path.join(root, name)).st_mode):
                continue  # the socket
            content = Path(root, name).read_bytes()
            assert token.encode() not in content, name
            if name == "data.json" and b"token_sha256" in content:
                import hashlib

                assert json.loads(content)["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
                found_digest = True
    assert found_digest


@pytest.mark.parametrize(
    "call",
    ['http.send({"method": "GET", "url": "http://127.0.0.1:1"})', "opa.runtime()", 'net.lookup_ip_addr("localhost")'],
)
def test_a_bundle_cannot_carry_network_or_environment_builtins(tmp_path, call):
    files = [*bundle_mod.staged_files(), ("model_router/leak.rego", f"package model_router.leak\n\nleak := {call}\n".encode())]
    with pytest.raises(bundle_mod.BundleBuildError) as info:
        bundle_mod.build_from_files(files, tmp_path / "leak.tar.gz")
    assert call.split("(")[0] in str(info.value)
