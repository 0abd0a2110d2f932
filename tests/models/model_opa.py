"""A real OPA server for the model-selection tests.

It serves every Rego module under policies/model_router with the policy data that `make data`
assembles, plus the model-selection views of the demo catalog, route policy and authorization mirror
(router.model_data), so the tests need nothing but the repository. Ad-hoc queries let a test run the
selection over its own catalog and mirror: `... with data.model_router_data as input.data`.
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

from router import model_data, paths, policy_data

OPA = paths.TOOLS_BIN / "opa"
DEMO_DOCUMENTS = (
    paths.EXAMPLES / "model-catalog.demo.json",
    paths.EXAMPLES / "model-route-policy.local-first-v1.json",
    paths.EXAMPLES / "model-route-authorization.demo.json",
)


def demo_documents() -> tuple[dict, dict, dict]:
    catalog, policy, mirror = (json.loads(p.read_text(encoding="utf-8")) for p in DEMO_DOCUMENTS)
    return catalog, policy, mirror


def merged(base: dict, views: dict) -> dict:
    """BASE policy data with the model-selection VIEWS added (their `active` ids merged in)."""
    out = dict(base)
    for key, value in views.items():
        if key == "active":
            out["active"] = {**base.get("active", {}), **value}
        else:
            out[key] = {**base.get(key, {}), **value}
    return out


def demo_data() -> dict:
    return merged(policy_data.assemble(), model_data.views(*demo_documents()))


class ModelOpa:
    """One `opa run --server` process on a free loopback port."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="model-opa-")
        data_dir = Path(self._tmp.name) / "data"
        self.data = demo_data()
        policy_data.write(data_dir, self.data)
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
                raise RuntimeError(f"OPA did not start: {self._log.read()[-2000:]}")
            time.sleep(0.1)

    def _post(self, path: str, body: Any) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"OPA answered {exc.code}: {exc.read().decode()[:2000]}") from None

    def query(self, query: str, input_doc: Any) -> dict:
        """Run an ad-hoc QUERY with INPUT_DOC; return the bindings of its single result."""
        answer = self._post("/v1/query", {"query": query, "input": input_doc})
        results = answer.get("result", [])
        assert len(results) == 1, f"expected one result of {query!r}, got {answer}"
        return results[0]

    def select(self, request: dict, data: dict | None = None) -> dict:
        """The model selection for REQUEST, over DATA (policy data) or the served demo data."""
        if data is None:
            q = "x := data.model_router.models.selection.select(input.request)"
            return self.query(q, {"request": request})["x"]
        q = "x := data.model_router.models.selection.select(input.request) with data.model_router_data as input.data"
        return self.query(q, {"request": request, "data": data})["x"]

    def agent(self, bundle: dict) -> tuple[dict, dict]:
        """The agent lane decision for BUNDLE and the model fields wired from it."""
        q = ("d := data.model_router.agent.decision.result; "
             "m := data.model_router.models.wiring.for_decision(d)")
        out = self.query(q, bundle)
        return out["d"], out["m"]

    def personal(self, bundle: dict) -> tuple[dict, dict]:
        q = ("d := data.model_router.personal.decision.result; "
             "m := data.model_router.models.wiring.for_decision(d)")
        out = self.query(q, bundle)
        return out["d"], out["m"]

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self._tmp.cleanup()
