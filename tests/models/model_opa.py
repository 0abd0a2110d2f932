"""Model-selection helpers over the session's shared OPA server: the demo catalog, route policy and
authorization mirror documents, and ad-hoc queries that run the selection over a test's own catalog
and mirror (`... with data.model_router_data as input.data`).
"""

from __future__ import annotations

import json

from opa_server import OpaServer

from router import paths

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


class ModelOpa:
    """Model-selection queries over the session's shared OPA server (tests/opa_server.py), whose policy
    data includes the demo catalog, route policy and authorization mirror (policies/data/sources.json)."""

    def __init__(self, server: OpaServer) -> None:
        self.server = server
        self.data = server.data

    def query(self, query: str, input_doc: dict) -> dict:
        """Run an ad-hoc QUERY with INPUT_DOC; return the bindings of its single result."""
        return self.server.row(query, input_doc)

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
