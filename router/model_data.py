"""Policy-data views of the concrete-model documents: ModelCatalog, ModelRoutePolicy and the route
authorization mirror (kind prophet_mesh_model_route_authorization).

Each assembler keeps the document unchanged under "document", beside keyed views, so that Rego looks
models up by modelRef and lane, and authorization records up by governance route, never by scanning:

    modelCatalogs[catalogId]     = {"document", "models": {modelRef: model + {"catalogIndex": i}},
                                    "order": [modelRef, ...], "lanes": {lane: [modelRef, ...]}}
    routePolicies[policyRef]     = {"document", "effective": document + defaults (scoreTiers,
                                    taskRequirements, targetLanes)}
    routeAuthorizations[mirrorId] = {"document", "routes": {route_id: record}}

router.policy_data assembles these kinds beside the routing documents (ASSEMBLERS, COLLECTIONS).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from router import paths
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


def default_score_tiers(tiers_file: Path | None = None) -> dict:
    """The documented default tier table (contract reference, section 7)."""
    path = tiers_file or TIERS_FILE
    return json.loads(path.read_text(encoding="utf-8"))["scoreTiers"]


def catalog_view(doc: dict, src: Path) -> tuple[str, dict]:
    models = keyed(doc["models"], "modelRef", src, "models")
    order = list(models)
    lanes: dict[str, list[str]] = {}
    for ref in order:
        lane = models[ref].get("lane")
        if isinstance(lane, str):
            lanes.setdefault(lane, []).append(ref)
    indexed = {ref: {**model, "catalogIndex": i} for i, (ref, model) in enumerate(models.items())}
    return doc["catalogId"], {"document": doc, "models": indexed, "order": order, "lanes": lanes}


def route_policy_view(doc: dict, src: Path, tiers_file: Path | None = None) -> tuple[str, dict]:
    effective = {
        "scoreTiers": default_score_tiers(tiers_file),
        "taskRequirements": {},
        "targetLanes": {},
        **doc,
    }
    return doc["policyRef"], {"document": doc, "effective": effective}


def authorization_view(doc: dict, src: Path) -> tuple[str, dict]:
    return doc["mirror_id"], {"document": doc, "routes": keyed(doc["records"], "route_id", src, "records")}


ASSEMBLERS = {
    CATALOG_KIND: catalog_view,
    ROUTE_POLICY_KIND: route_policy_view,
    AUTHORIZATION_KIND: authorization_view,
}


def views(catalog: dict, route_policy: dict, authorization: dict, src: Path | None = None) -> dict:
    """The model-selection part of data.model_router_data for three in-memory documents (tests, tools)."""
    src = src or Path("<memory>")
    out: dict[str, Any] = {"active": {}}
    for doc in (catalog, route_policy, authorization):
        kind = doc["kind"]
        collection, role = COLLECTIONS[kind]
        ident, entry = ASSEMBLERS[kind](doc, src)
        out.setdefault(collection, {})[ident] = entry
        out["active"][role] = ident
    return out
