"""The real OPA server the policy, personal-route and model-selection tests share.

One `opa run --server` process per test session, listening on a unix domain socket in a private
temporary folder (no TCP port: parallel test runs cannot race for a port or answer each other), serving every Rego module
under policies/model_router with the policy data `make data` writes (router.policy_data) and the
example fixtures (router.fixture_data). Tests POST bundles to the one decision entrypoint,
data.model_router.decision, read other rules, run ad-hoc queries (for example with the policy data
replaced: `... with data.model_router_data as input.data`) or add bindings under their own ids.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from router import fixture_data, paths, policy_data

OPA = paths.TOOLS_BIN / "opa"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def schema_errors(schema_file: str, doc: Any) -> list[str]:
    """Every JSON Schema violation of DOC against schemas/SCHEMA_FILE, as '<JSON path>: <message>'."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(load(paths.SCHEMAS / schema_file), format_checker=FormatChecker())
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


def as_emitted(decision: dict) -> dict:
    """The policy's decision plus the fields the Python layer adds (router.decision.with_identity)."""
    from router.decision import with_identity

    return with_identity(decision, decision_id_="urn:socioprophet:model-route-decision:" + "0" * 24,
                         created_at="2026-01-01T00:00:00Z", revision="test")


class OpaServer:
    """A running OPA server loaded with the project's policies, policy data and example fixtures."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="policy-opa-")
        data_dir = Path(self._tmp.name) / "data"
        self.data = policy_data.assemble()
        policy_data.write(data_dir, self.data)
        fixture_data.write(data_dir)
        self.socket_path = Path(self._tmp.name) / "opa.sock"
        self.url = f"unix://{self.socket_path}"
        self._log = open(Path(self._tmp.name) / "opa.log", "w+", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(
            [str(OPA), "run", "--server", "--addr", self.url, "--unix-socket-perm", "600", "--log-level", "error",
             "--skip-version-check", str(paths.REGO), str(data_dir)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if rest(self.url, "GET", "/health", timeout=2).status_code == 200:
                    break
            except OSError:
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"OPA did not start on {self.url}: {self._log_text()[-2000:]}")
            time.sleep(0.05)

    def _log_text(self) -> str:
        try:
            return (Path(self._tmp.name) / "opa.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # -- HTTP --------------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any) -> Any:
        content_type = "application/json-patch+json" if method == "PATCH" else "application/json"
        resp = rest(self.url, method, path, data=json.dumps(body).encode("utf-8"),
                    headers={"Content-Type": content_type}, timeout=60)
        if resp.status_code >= 300:
            raise AssertionError(f"OPA answered {resp.status_code}: {resp.text[:2000]}")
        return json.loads(resp.content) if resp.content else None

    def result_at(self, path: str, input_doc: Any) -> Any:
        """The value of data.<PATH> (slash-separated) for INPUT_DOC; None when undefined."""
        return self.call("POST", f"/v1/data/{path}", {"input": input_doc}).get("result")

    def rows(self, query: str, input_doc: Any) -> list[dict]:
        """An ad-hoc Rego QUERY with INPUT_DOC; its result rows (bindings)."""
        return self.call("POST", "/v1/query", {"query": query, "input": input_doc}).get("result", [])

    def row(self, query: str, input_doc: Any) -> dict:
        """The bindings of the single result of QUERY."""
        rows = self.rows(query, input_doc)
        assert len(rows) == 1, f"expected one result of {query!r}, got {rows}"
        return rows[0]

    # -- decisions ---------------------------------------------------------------------------------

    @staticmethod
    def stamped(bundle: Any) -> Any:
        """BUNDLE with the evaluation time the router would stamp (the fixed test time), unless it has one."""
        from router.approvals import fixed_evaluation

        if isinstance(bundle, dict) and "evaluation" not in bundle:
            return {**bundle, "evaluation": fixed_evaluation()}
        return bundle

    def decide(self, bundle: Any) -> dict | None:
        """data.model_router.decision for BUNDLE (stamped as the router does); None when undefined."""
        return self.result_at("model_router/decision", self.stamped(bundle))

    def agent_decision(self, bundle: Any) -> dict | None:
        """data.model_router.agent.decision.result for BUNDLE (the agent family, without dispatch)."""
        return self.result_at("model_router/agent/decision/result", self.stamped(bundle))

    def agent_decision_with_data(self, bundle: Any, model_router_data: dict) -> dict | None:
        """The agent decision for BUNDLE with data.model_router_data replaced by MODEL_ROUTER_DATA."""
        rows = self.rows(
            "d := data.model_router.agent.decision.result with input as input.bundle "
            "with data.model_router_data as input.data",
            {"bundle": self.stamped(bundle), "data": model_router_data},
        )
        return rows[0]["d"] if rows else None

    def put_bindings(self, bindings: list[dict]) -> None:
        """Add (or replace) bindings in the served data, keyed like the policy-data assembler keys them."""
        ops = [
            {"op": "add", "path": f"/model_router_data/bindings/{b['bindingId']}",
             "value": {"document": b, "routes": {r["routeId"]: r for r in b["routes"]}}}
            for b in bindings
        ]
        self.call("PATCH", "/v1/data", ops)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self._tmp.cleanup()


class RestResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self.content = status, body
        self.text = body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.content)


def rest(url: str, method: str, path: str, *, data=None, json=None, headers=None, timeout: float = 5.0) -> RestResponse:
    """One raw REST call to an OPA at URL (unix:///path.sock or http://host:port), any status accepted."""
    import json as json_mod

    parts = urlsplit(url)
    if parts.scheme == "unix":
        conn = http.client.HTTPConnection("localhost", timeout=timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(unquote(parts.path))
        except OSError:
            sock.close()
            raise
        conn.sock = sock
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    body = json_mod.dumps(json).encode() if json is not None else (data.encode() if isinstance(data, str) else data)
    hdrs = dict(headers or {})
    if json is not None:
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return RestResponse(resp.status, resp.read())
    finally:
        conn.close()
