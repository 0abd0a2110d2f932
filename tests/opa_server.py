"""The real OPA server the policy, personal-route and model-selection tests share.

One `opa run --server` process per test session, on a free loopback port, serving every Rego module
under policies/model_router with the policy data `make data` writes (router.policy_data) and the
example fixtures (router.fixture_data). Tests POST bundles to the one decision entrypoint,
data.model_router.decision, read other rules, run ad-hoc queries (for example with the policy data
replaced: `... with data.model_router_data as input.data`) or add bindings under their own ids.
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
    """The policy's decision plus the fields the Python layer adds (for schema validation)."""
    return {
        **decision,
        "decisionId": "urn:socioprophet:model-route-decision:" + "0" * 24,
        "createdAt": "2026-01-01T00:00:00Z",
        "policyRevision": "test",
    }


class OpaServer:
    """A running OPA server loaded with the project's policies, policy data and example fixtures."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="policy-opa-")
        data_dir = Path(self._tmp.name) / "data"
        self.data = policy_data.assemble()
        policy_data.write(data_dir, self.data)
        fixture_data.write(data_dir)
        # OPA needs a fixed port: take a free one from the OS, then hand it to OPA.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(Path(self._tmp.name) / "opa.log", "w+", encoding="utf-8")
        self._proc = subprocess.Popen(
            [str(OPA), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error",
             str(paths.REGO), str(data_dir)],
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
                raise RuntimeError(f"OPA did not start on {self.url}: {self._log.read()[-2000:]}")
            time.sleep(0.1)

    # -- HTTP --------------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any) -> Any:
        content_type = "application/json-patch+json" if method == "PATCH" else "application/json"
        req = urllib.request.Request(f"{self.url}{path}", data=json.dumps(body).encode("utf-8"), method=method,
                                     headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"OPA answered {exc.code}: {exc.read().decode()[:2000]}") from None
        return json.loads(raw) if raw else None

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
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self._tmp.cleanup()
