"""A deliberately broken policy bundle for the fail-closed tests: data.model_router.decision
misbehaves in a way chosen by request.requestId."""

from __future__ import annotations

import json
from pathlib import Path

from bundles import personal_bundle  # noqa: F401  (re-exported for the suites)
from jsonschema import Draft202012Validator

from router import bundle as bundle_mod
from router import paths

FAULTY_POLICY = """package model_router

# a broken policy for the fail-closed tests; which fault depends on request.requestId
decision := {"kind": "nonsense", "selected": 42} if input.request.requestId == "garbage"

decision := "just a string" if input.request.requestId == "string"

decision := to_number("not a number") if input.request.requestId == "error"

decision := count([y | some y in numbers.range(1, 600000); y % 7 == 0]) if input.request.requestId == "slow"

decision := object.union(data.wrong_kind, {"kind": "LocalPersonalRouteDecision"}) if input.request.requestId == "wrong-kind"
"""

FAULTY_DATA = {"wrong_kind": {"schemaVersion": "v0.1", "selected": {"status": "selected"}}}


def build_faulty_bundle(out: Path) -> Path:
    files = [
        ("model_router/decision.rego", FAULTY_POLICY.encode()),
        ("model_router/batch/batch.rego", (paths.REGO / "batch" / "batch.rego").read_bytes()),
        # the router asks for the decision with its projections (model_router.projection.result)
        *[(str(p.relative_to(paths.REGO.parent)), p.read_bytes()) for p in sorted((paths.REGO / "projection").rglob("*.rego"))
          if not p.name.endswith("_test.rego")],
        ("wrong_kind/data.json", json.dumps(FAULTY_DATA["wrong_kind"]).encode()),
    ]
    bundle_mod.build_from_files(files, out, roots=("model_router", "wrong_kind"), capabilities=None)
    return out


def agent_bundle(request_id: str = "req-1") -> dict:
    return {
        "schemaVersion": "v0.1",
        "kind": "RouteInputBundle",
        "request": {"requestId": request_id, "taskClass": "routine-code", "stage": "execution", "riskClass": "medium"},
    }


def schema_errors(doc, schema_name: str) -> list[str]:
    """Messages of every violation of DOC against schemas/<schema_name>.schema.json."""
    schema = json.loads((paths.SCHEMAS / f"{schema_name}.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


