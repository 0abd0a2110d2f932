"""The remote-engine recipe: `model-router serve-bundle` runs OPA with the project bundle and the token
authorization policy, and a router pointed at it with MODEL_ROUTER_OPA_URL / MODEL_ROUTER_OPA_TOKEN /
MODEL_ROUTER_OPA_REVISION decides exactly as the checkout's record says; without the token, or
expecting another revision, it fails closed. The server listens on a unix socket in a private
temporary folder and is stopped at the end (process group)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from golden.golden_decisions import RECORDED, without_identity

from router import bundle as bundle_mod
from router import paths
from router.approvals import EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME
from router.opa_http import Channel, ChannelError

CLI = Path(sys.executable).with_name("model-router")
BUNDLE = paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json"
STARTUP_S = 30


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    env[EVALUATION_TIME_ENV] = os.environ.get(EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME)
    env.update(extra)
    return env


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, env=env or _env(), timeout=timeout)


@pytest.fixture
def short_dir():
    """A private folder with a short path (a unix socket path holds at most 108 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="mr-serve-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_serve_bundle_is_the_remote_engine_a_router_points_at(short_dir):
    state, sock = short_dir / "state", short_dir / "opa.sock"
    log = short_dir / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(CLI), "serve-bundle", "--state-dir", str(state), "--addr", f"unix://{sock}",
             "--log-level", "info", "--shutdown-grace-period", "1"],  # extra arguments go to `opa run`
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=_env(), start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while not (sock.exists() and stat.S_ISSOCK(sock.stat().st_mode)):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, f"OPA did not listen within {STARTUP_S} s: {log.read_text(errors='replace')}"
            time.sleep(0.05)
        text = log.read_text(errors="replace")
        revision = re.search(r"policy revision (sha256:[0-9a-f]{64})", text).group(1)
        assert f"MODEL_ROUTER_OPA_URL=unix://{sock}" in text
        token_file = state / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and stat.S_IMODE(state.stat().st_mode) == 0o700
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token not in text  # only its location is printed
        # what OPA runs: the verified copy of the project bundle and the token authorization policy
        served = state / "bundle.tar.gz"
        assert bundle_mod.verify(served) == revision
        assert (state / "authz" / "authz-bundle" / "system" / "authz.rego").read_bytes() == paths.AUTHZ_POLICY.read_bytes()

        remote = _env(MODEL_ROUTER_OPA_URL=f"unix://{sock}", MODEL_ROUTER_OPA_TOKEN=token,
                      MODEL_ROUTER_OPA_REVISION=revision, MODEL_ROUTER_TIMEOUT_MS="10000")
        decided = _cli("decide", str(BUNDLE), "--no-receipts", env=remote)
        assert decided.returncode == 0, decided.stderr.decode()
        decision = json.loads(decided.stdout)
        assert decision["policyRevision"] == revision
        assert without_identity(decision) == json.loads(RECORDED.read_text(encoding="utf-8"))[BUNDLE.name]["decision"]

        # fail closed: no token, a wrong token, another expected revision
        for env, reason in (
            ({k: v for k, v in remote.items() if k != "MODEL_ROUTER_OPA_TOKEN"}, b"engine-error"),
            ({**remote, "MODEL_ROUTER_OPA_TOKEN": "not-the-token-0123456789"}, b"engine-error"),
            ({**remote, "MODEL_ROUTER_OPA_REVISION": "sha256:" + "0" * 64}, b"engine-revision-mismatch"),
        ):
            refused = _cli("decide", str(BUNDLE), "--no-receipts", env=env)
            assert refused.returncode == 3, refused.stderr.decode()
            assert json.loads(refused.stdout)["selected"]["status"] == "denied"
            assert reason in refused.stderr, refused.stderr.decode()
        # even with the token the engine only reads: no policy or data can be written through it
        channel = Channel(f"unix://{sock}", token=token)
        try:
            assert channel.request("GET", "/health", None, 5.0)[0] == 200  # the token is accepted
            for method, path, body in (("PUT", "/v1/policies/x", b"package x\n"), ("PUT", "/v1/data/model_router_data/active", b"{}")):
                with pytest.raises(ChannelError) as denied:
                    channel.request(method, path, body, 5.0)
                assert denied.value.status == 401, (method, path, denied.value)  # OPA's answer when authz denies
        finally:
            channel.close()
        assert proc.poll() is None  # OPA itself is still serving
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_serve_bundle_print_gives_the_opa_command_line_and_keeps_an_existing_token(short_dir):
    state = short_dir / "state"
    token_file = short_dir / "token"
    token_file.write_text("a-token-made-elsewhere-0123456789\n")
    token_file.chmod(0o600)
    printed = _cli("serve-bundle", "--print", "--state-dir", str(state), "--token-file", str(token_file),
                   "--addr", "127.0.0.1:8181")
    assert printed.returncode == 0, printed.stderr.decode()
    cmd = shlex.split(printed.stdout.decode())
    assert cmd[1:5] == ["run", "--server", "--addr", "127.0.0.1:8181"]
    assert {"--authentication=token", "--authorization=basic"} <= set(cmd)
    assert cmd[-3:] == ["--bundle", str(state / "bundle.tar.gz"), str(state / "authz" / "authz-bundle")]
    assert b"MODEL_ROUTER_OPA_URL=http://127.0.0.1:8181" in printed.stderr
    assert token_file.read_text() == "a-token-made-elsewhere-0123456789\n"
    token_file.chmod(0o644)
    readable = _cli("serve-bundle", "--print", "--state-dir", str(state), "--token-file", str(token_file))
    assert readable.returncode == 2 and b"expected mode 0600" in readable.stderr


def test_serve_bundle_refuses_a_bundle_outside_the_capabilities(short_dir):
    """A bundle given with --bundle must pass `opa check --capabilities` (http.send is not allowed)."""
    module = b"package model_router\n\ndecision := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1\"})\n"
    bad = short_dir / "bad.tar.gz"
    bundle_mod.build_from_files([("model_router/decision.rego", module)], bad, capabilities=None)
    refused = _cli("serve-bundle", "--print", "--state-dir", str(short_dir / "state"), "--bundle", str(bad))
    assert refused.returncode == 2, refused.stderr.decode()
    assert b"capabilities" in refused.stderr and b"http.send" in refused.stderr
    assert not (short_dir / "state" / "bundle.tar.gz").exists()
