"""Helpers for the API tests: example bundles with their expected outcomes, schema checks."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from router import paths

GUARDRAIL_SCHEMA = "sourceos.guardrail.decision.v0.1"


@lru_cache(maxsize=None)
def _validator(schema_name: str):
    from jsonschema import Draft202012Validator

    schema = json.loads((paths.SCHEMAS / f"{schema_name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(doc, schema_name: str) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator(schema_name).iter_errors(doc)]


def decision_schema(decision) -> str:
    return "local-personal-route-decision" if decision.is_personal else "agent-execution-route-decision"


def example_bundles() -> list[Path]:
    return sorted(p for p in (paths.EXAMPLES / "bundles").glob("*.json") if not p.name.endswith(".expected.json"))


def expected_for(path: Path) -> dict | None:
    exp = path.with_name(path.stem + ".expected.json")
    return json.loads(exp.read_text(encoding="utf-8")) if exp.exists() else None


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def personal_bundle(request_id: str = "req-api-1", **request_extra) -> dict:
    bundle = {
        "schemaVersion": "v0.1",
        "kind": "RouteInputBundle",
        "request": {
            "requestId": request_id,
            "taskClass": "router",
            "personal": {"bindingRef": "urn:socioprophet:model-router-binding:demo-user-local-llama32", "routeId": "local-router"},
        },
        "resources": {
            "localModelProfileAvailable": True, "localServiceHealthy": True, "batteryState": "normal",
            "thermalState": "normal", "memoryAvailableBytes": 17179869184, "networkAvailable": True,
            "providerErrorRate": 0.01, "providerLatencyP95Ms": 800,
        },
        "quota": {"providerQuotaKnown": True, "providerQuotaRemainingShare": 0.8},
    }
    bundle["request"].update(request_extra)
    return bundle
