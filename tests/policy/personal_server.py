"""A real OPA server for the local-personal route tests.

It serves every Rego module under policies/model_router with the policy data assembled from
policies/data/sources.json (the same data `make data` writes), so the tests ask the one decision
entrypoint, data.model_router.decision, exactly as the router does. Tests may add bindings to the
running server's data (PATCH) under their own binding ids.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from router import paths, policy_data

ROOT = paths.ROOT
OPA = ROOT / ".tools" / "bin" / "opa"


class PersonalOpa:
    """One `opa run --server` process on a free local port."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="personal-opa-")
        data_dir = Path(self._tmp.name) / "data"
        policy_data.write(data_dir)
        self.data = json.loads((data_dir / policy_data.DATA_ROOT / "data.json").read_text(encoding="utf-8"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(Path(self._tmp.name) / "opa.log", "w+", encoding="utf-8")
        self._proc = subprocess.Popen(
            [str(OPA), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error",
             str(ROOT / "policies" / "model_router"), str(data_dir)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self._log.seek(0)
                raise RuntimeError(f"OPA did not start: {self._log.read()[-2000:]}")
            time.sleep(0.1)

    def _call(self, method: str, path: str, body: Any) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode("utf-8"), method=method,
            headers={"Content-Type": "application/json-patch+json" if method == "PATCH" else "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def decide(self, bundle: Any) -> dict | None:
        """POST the bundle to data.model_router.decision; None when the policy leaves it undefined."""
        return self._call("POST", "/v1/data/model_router/decision", {"input": bundle}).get("result")

    def query(self, path: str, bundle: Any) -> Any:
        return self._call("POST", f"/v1/data/{path}", {"input": bundle}).get("result")

    def put_bindings(self, bindings: list[dict]) -> None:
        """Add (or replace) bindings in the served data, keyed like the policy-data assembler keys them."""
        ops = [
            {"op": "add", "path": f"/model_router_data/bindings/{b['bindingId']}",
             "value": {"document": b, "routes": {r["routeId"]: r for r in b["routes"]}}}
            for b in bindings
        ]
        self._call("PATCH", "/v1/data", ops)

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self._tmp.cleanup()


_server: PersonalOpa | None = None


@pytest.fixture(scope="session")
def personal_opa():
    """The shared OPA server (started once per test session, stopped at its end)."""
    global _server
    if _server is None:
        _server = PersonalOpa()
    yield _server
    if _server is not None:
        _server.close()
        _server = None


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


_SCHEMAS = ROOT / "schemas"


def schema_errors(schema_file: str, doc: Any) -> list[str]:
    """Every JSON Schema violation of DOC, as '<JSON path>: <message>'."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(load(_SCHEMAS / schema_file), format_checker=FormatChecker())
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


def as_emitted(decision: dict) -> dict:
    """The policy's decision plus the fields the Python layer adds, for schema validation."""
    return {
        **decision,
        "decisionId": "urn:socioprophet:model-route-decision:" + "0" * 24,
        "createdAt": "2026-01-01T00:00:00Z",
        "policyRevision": "test",
    }


def check_invariants(bundle: dict, decision: dict) -> None:
    """What every local-personal decision must satisfy, whatever the bundle."""
    assert decision["kind"] == "LocalPersonalRouteDecision"
    assert schema_errors("local-personal-route-decision.schema.json", as_emitted(decision)) == []
    selected = decision["selected"]
    request = bundle.get("request", {})
    personal = request.get("personal") or {}
    assert selected["reason"] == selected["reasons"][0]
    if selected["status"] == "denied":
        assert selected["target"] is None and selected["profileRef"] is None
        assert all(not t["admissible"] for t in decision["targets"])
    else:
        tried = decision["targets"]
        index = 0 if selected["status"] == "selected" else 1
        assert tried[index]["target"] == selected["target"]
        assert tried[index]["profileRef"] == selected["profileRef"]
        assert tried[index]["admissible"] is True
        assert all(not t["admissible"] for t in tried[:index])
    hosted = selected["target"] == "hosted"
    assert decision["egress"]["allowed"] is hosted
    if hosted:
        approval = request.get("egressApprovalRef")
        assert isinstance(approval, str) and approval
        assert decision["egress"]["approvalRef"] == approval
        assert request.get("dataClass", "internal") != "restricted"
    else:
        assert decision["egress"]["approvalRef"] is None
    if selected["target"] == "personal-local":
        assert decision["governanceRefs"]["consentContractRef"]
        assert decision["governanceRefs"]["artifactRef"]
        assert decision["governanceRefs"]["ledgerApprovalRef"] in (None, personal.get("ledgerApprovalRef"))
