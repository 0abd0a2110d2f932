"""Policy-data views of the concrete-model documents: ModelCatalog, ModelRoutePolicy and the route
authorization mirror (kind prophet_mesh_model_route_authorization).

Each assembler keeps the document unchanged under "document", beside keyed views, so that Rego looks
models up by modelRef and lane, and authorization records up by governance route, never by scanning:

    modelCatalogs[catalogId]     = {"document", "models": {modelRef: model + {"catalogIndex": i}
                                    (+ "evalConfidenceUnits")}, "order": [modelRef, ...],
                                    "lanes": {lane: [modelRef, ...]}}
    routePolicies[policyRef]     = {"document", "effective": document + defaults (scoreTiers,
                                    taskRequirements, targetLanes), "scoreUnits"}
    routeAuthorizations[mirrorId] = {"document", "routes": {route_id: record}}

Score units are the same numbers in another unit, not a decision: every score weight, tier value and
evalConfidence that is an exact multiple of 1/SCORE_UNIT_SCALE is repeated as an integer count of
those units (scoreUnits = {"scale", "scoreWeights", "scoreTiers"} beside "effective",
evalConfidenceUnits beside a model's evalConfidence). OPA multiplies and adds small integers without
the decimal arithmetic numbers with a fraction need; model_router.models.scoring computes the score
from them and falls back to the declared numbers for any value that has no exact integer form.

router.policy_data assembles these kinds beside the routing documents (ASSEMBLERS, COLLECTIONS).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from router import paths
from router.contracts.digest import sha256_digest
from router.data_views import keyed

CATALOG_KIND = "ModelCatalog"
ROUTE_POLICY_KIND = "ModelRoutePolicy"
AUTHORIZATION_KIND = "prophet_mesh_model_route_authorization"

# kind -> (collection in data.model_router_data, role under "active")
COLLECTIONS = {
    CATALOG_KIND: ("modelCatalogs", "modelCatalog"),
    ROUTE_POLICY_KIND: ("routePolicies", "routePolicy"),
    AUTHORIZATION_KIND: ("routeAuthorizations", "routeAuthorization"),
}

# role under "active" -> collection it must name a loaded document of
ACTIVE_ROLES = {role: collection for collection, role in COLLECTIONS.values()}

TIERS_FILE = paths.POLICY_DATA / "model-score-tiers.json"

# score numbers are also given as integer counts of 1/SCORE_UNIT_SCALE (see the module docstring)
SCORE_UNIT_SCALE = 10000


def score_units(value: Any) -> int | None:
    """VALUE as an integer count of 1/SCORE_UNIT_SCALE, or None when it is not a number with that exact form."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        scaled = Decimal(repr(value)) * SCORE_UNIT_SCALE
    except ArithmeticError:
        return None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def _units_table(table: Any) -> dict[str, Any]:
    """The entries of TABLE (nested objects of numbers) that have an exact integer form."""
    if not isinstance(table, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out[key] = _units_table(value)
        elif (units := score_units(value)) is not None:
            out[key] = units
    return out


def default_score_tiers(tiers_file: Path | None = None) -> dict[str, Any]:
    """The documented default tier table (contract reference, section 7)."""
    path = tiers_file or TIERS_FILE
    tiers: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["scoreTiers"]
    return tiers


def catalog_view(doc: dict[str, Any], src: Path) -> tuple[str, dict[str, Any]]:
    models = keyed(doc["models"], "modelRef", src, "models")
    order = list(models)
    lanes: dict[str, list[str]] = {}
    for ref in order:
        lane = models[ref].get("lane")
        if isinstance(lane, str):
            lanes.setdefault(lane, []).append(ref)
    indexed = {ref: {**model, "catalogIndex": i} for i, (ref, model) in enumerate(models.items())}
    for model in indexed.values():
        model.pop("evalConfidenceUnits", None)
        if (units := score_units(model.get("evalConfidence"))) is not None:
            model["evalConfidenceUnits"] = units
    return doc["catalogId"], {"document": doc, "models": indexed, "order": order, "lanes": lanes}


def route_policy_view(doc: dict[str, Any], src: Path, tiers_file: Path | None = None) -> tuple[str, dict[str, Any]]:
    effective = {
        "scoreTiers": default_score_tiers(tiers_file),
        "taskRequirements": {},
        "targetLanes": {},
        **doc,
    }
    units = {
        "scale": SCORE_UNIT_SCALE,
        "scoreWeights": _units_table(effective.get("scoreWeights")),
        "scoreTiers": _units_table(effective.get("scoreTiers")),
    }
    return doc["policyRef"], {"document": doc, "effective": effective, "scoreUnits": units}


def authorization_view(doc: dict[str, Any], src: Path) -> tuple[str, dict[str, Any]]:
    return doc["mirror_id"], {"document": doc, "routes": keyed(doc["records"], "route_id", src, "records")}


ASSEMBLERS = {
    CATALOG_KIND: catalog_view,
    ROUTE_POLICY_KIND: route_policy_view,
    AUTHORIZATION_KIND: authorization_view,
}


DIGEST_KEY = "digest"


def stamped(entry: dict[str, Any]) -> dict[str, Any]:
    """ENTRY (a document's keyed views) with its digest: sha256 of its canonical JSON. router.policy_data
    stamps every contract-document entry; the precomputed model and agent tables
    (model_router.models.tables, read through model_router.models.entries.current and
    model_router.agent.config.tables) record the digests of the entries they were built from, and a
    decision uses them only while the entries in force carry the same digests (a few string
    comparisons instead of comparing the documents)."""
    body = {k: v for k, v in entry.items() if k != DIGEST_KEY}
    return {**body, DIGEST_KEY: sha256_digest(body)}


def views(
    catalog: dict[str, Any], route_policy: dict[str, Any], authorization: dict[str, Any], src: Path | None = None
) -> dict[str, Any]:
    """The model-selection part of data.model_router_data for three in-memory documents (tests, tools)."""
    src = src or Path("<memory>")
    out: dict[str, Any] = {"active": {}}
    for doc in (catalog, route_policy, authorization):
        kind = doc["kind"]
        collection, role = COLLECTIONS[kind]
        ident, entry = ASSEMBLERS[kind](doc, src)
        out.setdefault(collection, {})[ident] = stamped(entry)
        out["active"][role] = ident
    return out
