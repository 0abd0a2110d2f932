"""A real OPA server for the policy tests (agent-execution decisions and the example fixtures).

One `opa run --server` process per test session, on a free loopback port, serving every Rego module
under policies/model_router with the policy data assembled from policies/data/sources.json and the
example fixtures (router.fixture_data), exactly the data `make data` writes. Tests POST bundles to
the one decision entrypoint, data.model_router.decision, or run ad-hoc queries (for example with the
policy data replaced: `... with data.model_router_data as input.data`).
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

from router import fixture_data, paths, policy_data

OPA = paths.TOOLS_BIN / "opa"
AGENT_DECISION = "model_router/agent/decision/result"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class PolicyServer:
    """A running OPA server loaded with the project's policies and data."""

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

    def _post(self, path: str, body: Any) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def decide(self, bundle: Any) -> dict | None:
        """data.model_router.decision for BUNDLE; None when the policy leaves it undefined."""
        return self._post("/v1/data/model_router/decision", {"input": bundle}).get("result")

    def agent_decision(self, bundle: Any) -> dict | None:
        """data.model_router.agent.decision.result for BUNDLE (the agent family, without dispatch)."""
        return self._post(f"/v1/data/{AGENT_DECISION}", {"input": bundle}).get("result")

    def query(self, query: str, input_data: Any) -> list[dict]:
        """An ad-hoc Rego query with INPUT; the result rows (bindings)."""
        return self._post("/v1/query", {"query": query, "input": input_data}).get("result", [])

    def agent_decision_with_data(self, bundle: Any, model_router_data: dict) -> dict | None:
        """The agent decision for BUNDLE with data.model_router_data replaced by MODEL_ROUTER_DATA."""
        rows = self.query(
            "d := data.model_router.agent.decision.result with input as input.bundle "
            "with data.model_router_data as input.data",
            {"bundle": bundle, "data": model_router_data},
        )
        return rows[0]["d"] if rows else None

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self._tmp.cleanup()


@pytest.fixture(scope="session")
def policy_opa():
    """The shared policy server (started once per test session, stopped at its end)."""
    server = PolicyServer()
    try:
        yield server
    finally:
        server.close()


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


def all_reasons(decision: dict) -> set[str]:
    """Every reason code in a decision of either family: selected, candidates, requested lane, targets."""
    lists = [decision["selected"]["reasons"]]
    lists += [c["reasons"] for c in decision.get("candidateSet") or []]
    if isinstance(decision.get("requestedEvaluation"), dict):
        lists.append(decision["requestedEvaluation"]["reasons"])
    lists += [t["reasons"] for t in decision.get("targets") or []]
    return {r for reasons in lists for r in reasons}


def reason_base(code: str) -> str:
    """A reason code without its `:<suffix>` (the reason catalogue's key)."""
    return code.split(":", 1)[0]


class Support:
    """The helpers above, handed to tests as the `support` fixture."""

    load = staticmethod(load)
    schema_errors = staticmethod(schema_errors)
    as_emitted = staticmethod(as_emitted)
    all_reasons = staticmethod(all_reasons)
    reason_base = staticmethod(reason_base)


@pytest.fixture(scope="session")
def support() -> type[Support]:
    return Support
