"""Assemble the contract documents named in policies/data/sources.json into OPA policy data.

The result is mounted at data.model_router_data. Documents are kept unchanged under "document",
beside keyed views (by laneId, taskClass, stage, window, ...) so that Rego looks things up by id
instead of scanning arrays. This is a reshaping of the documents, never a policy rule.

Two more inputs are configuration, each named in sources.json and replaceable from the environment:
- the active ApprovalTrustAnchors document (`trustAnchors`; MODEL_ROUTER_TRUST_ANCHORS=<file>),
  assembled as `trustAnchors.issuers[issuerId].keys[kid]`;
- the governance-ledger snapshot (`ledgerSnapshot`; MODEL_ROUTER_LEDGER_SNAPSHOT=<file or folder>):
  PersonalTuningContract documents (one per file in a folder, or a file holding one contract or an
  array of them), assembled as `consentContracts[contractId]`.
Both are checked against their schemas here; a document that does not conform stops the assembly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from router import model_data, paths
from router.data_views import PolicyDataError, keyed, write_data_root

DATA_ROOT = "model_router_data"


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyDataError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise PolicyDataError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _policy(doc: dict, src: Path) -> tuple[str, dict]:
    return doc["policyId"], {
        "document": doc,
        "lanes": keyed(doc["modelLanes"], "laneId", src, "modelLanes"),
        "taskClasses": keyed(doc["taskClasses"], "taskClass", src, "taskClasses"),
        "stages": keyed(doc["chainStages"], "stage", src, "chainStages"),
    }


def _optimizer(doc: dict, src: Path) -> tuple[str, dict]:
    return doc["optimizerId"], {
        "document": doc,
        "windows": keyed(doc["budgetPolicy"]["windows"], "window", src, "budgetPolicy.windows"),
        "riskFloors": keyed(doc["qualityPolicy"]["riskFloors"], "riskClass", src, "qualityPolicy.riskFloors"),
    }


def _price_catalog(doc: dict, src: Path) -> tuple[str, dict]:
    lanes = {}
    for lane_id, lane in keyed(doc["lanes"], "laneId", src, "lanes").items():
        profiles = keyed(lane["profiles"], "profileRef", src, f"lanes[{lane_id}].profiles")
        default = profiles.get(lane["defaultProfileRef"])
        if default is None:
            raise PolicyDataError(
                f"{src}: lane {lane_id!r}: defaultProfileRef {lane['defaultProfileRef']!r} names no profile"
            )
        lanes[lane_id] = {**lane, "defaultProfile": default}
    return doc["catalogId"], {"document": doc, "lanes": lanes}


def _binding(doc: dict, src: Path) -> tuple[str, dict]:
    return doc["bindingId"], {"document": doc, "routes": keyed(doc["routes"], "routeId", src, "routes")}


def _agentplane_mapping(doc: dict, src: Path) -> tuple[str, dict]:
    return doc["mappingId"], {"document": doc}


# kind -> (collection name in data, how to key and view it)
ASSEMBLERS = {
    "AgentExecutionModelRoutingPolicy": ("policies", _policy),
    "AgentExecutionBudgetResourceOptimizer": ("optimizers", _optimizer),
    "ModelPriceCatalog": ("priceCatalogs", _price_catalog),
    "LocalPersonalRouteBinding": ("bindings", _binding),
    "AgentplaneLaneDecisionMapping": ("agentplaneMappings", _agentplane_mapping),
    **{kind: (model_data.COLLECTIONS[kind][0], view) for kind, view in model_data.ASSEMBLERS.items()},
}

# role under "active" -> the collection whose loaded documents it must name
ACTIVE_ROLES = {"policy": "policies", "optimizer": "optimizers", "priceCatalog": "priceCatalogs", **model_data.ACTIVE_ROLES}
ACTIVE_ROLES["agentplaneMapping"] = "agentplaneMappings"


TRUST_ANCHORS_ENV = "MODEL_ROUTER_TRUST_ANCHORS"
LEDGER_SNAPSHOT_ENV = "MODEL_ROUTER_LEDGER_SNAPSHOT"


def _conform(doc: Any, kind: str, src: Path) -> None:
    from router.contracts.schemas import schema_violations

    problems = schema_violations(doc, kind, str(src))
    if problems:
        raise PolicyDataError("\n".join(str(p) for p in problems))


def trust_anchors(path: Path) -> dict:
    """The ApprovalTrustAnchors document in PATH as policy data: issuers by issuerId, keys by kid."""
    doc = _load(path)
    _conform(doc, "ApprovalTrustAnchors", path)
    issuers = {}
    for i, issuer in enumerate(doc["issuers"]):
        if issuer["issuerId"] in issuers:
            raise PolicyDataError(f"{path}: $.issuers[{i}].issuerId: duplicate issuer {issuer['issuerId']!r}")
        issuers[issuer["issuerId"]] = {
            "purposes": issuer["purposes"],
            "maxLifetimeSeconds": issuer.get("maxLifetimeSeconds", 86400),
            "demo": bool(issuer.get("demo", False)),
            "keys": {k["kid"]: {"jwk": k["jwk"], "status": k["status"]} for k in keyed(issuer["keys"], "kid", path, f"issuers[{i}].keys").values()},
        }
    return {"anchorsId": doc["anchorsId"], "demo": bool(doc.get("demo", False)), "issuers": issuers}


def ledger_snapshot(path: Path) -> dict:
    """The PersonalTuningContract documents in PATH (a folder of files, or one file) by contractId."""
    if path.is_dir():
        files = sorted(path.glob("*.json"))
    elif path.exists():
        files = [path]
    else:
        raise PolicyDataError(f"{path}: ledger snapshot not found (expected a file or a folder of contracts)")
    contracts: dict[str, dict] = {}
    for src in files:
        loaded = _load(src)
        for j, doc in enumerate(loaded if isinstance(loaded, list) else [loaded]):
            where = Path(f"{src}[{j}]") if isinstance(loaded, list) else src
            _conform(doc, "PersonalTuningContract", where)
            if doc["contractId"] in contracts:
                raise PolicyDataError(f"{where}: $.contractId: duplicate contract {doc['contractId']!r}")
            contracts[doc["contractId"]] = doc
    return contracts


def _configured(sources: dict, key: str, env_name: str, env: dict, root: Path, sources_file: Path) -> Path | None:
    if env.get(env_name):
        return Path(env[env_name]).expanduser()
    rel = sources.get(key)
    if rel is None:
        return None
    if not isinstance(rel, str):
        raise PolicyDataError(f"{sources_file}: $.{key}: expected a path relative to the repository")
    return root / rel


def assemble(sources_file: Path | None = None, root: Path | None = None, env: dict | None = None) -> dict:
    """Read sources.json and every document it names; return data.model_router_data."""
    env = os.environ if env is None else env
    root = root or paths.ROOT
    sources_file = sources_file or paths.POLICY_DATA / "sources.json"
    sources = _load(sources_file)
    data: dict[str, Any] = {collection: {} for collection, _ in ASSEMBLERS.values()}
    for rel in sources.get("documents", []):
        src = root / rel
        doc = _load(src)
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind not in ASSEMBLERS:
            raise PolicyDataError(f"{src}: $.kind: unknown document kind {kind!r}")
        collection, assembler = ASSEMBLERS[kind]
        try:
            ident, entry = assembler(doc, src)
        except KeyError as exc:
            raise PolicyDataError(f"{src}: missing field {exc.args[0]!r}") from None
        if ident in data[collection]:
            raise PolicyDataError(f"{src}: duplicate {collection} id {ident!r}")
        data[collection][ident] = entry
    data["active"] = sources.get("active", {})
    for role, ident in data["active"].items():
        collection = ACTIVE_ROLES.get(role)
        if collection and ident not in data[collection]:
            raise PolicyDataError(f"{sources_file}: $.active.{role}: {ident!r} is not among the loaded documents")
    profiles_file = sources_file.parent / "local-profiles.json"
    profiles = _load(profiles_file)["profiles"] if profiles_file.exists() else []
    data["localProfiles"] = keyed(profiles, "profileRef", profiles_file, "profiles")
    reasons: dict[str, dict] = {}
    for part in sorted((sources_file.parent / "reasons").glob("*.json")):
        for code, entry in _load(part).items():
            if code in reasons:
                raise PolicyDataError(f"{part}: reason code {code!r} is already defined in another catalogue file")
            reasons[code] = entry
    data["reasons"] = reasons
    anchors = _configured(sources, "trustAnchors", TRUST_ANCHORS_ENV, env, root, sources_file)
    data["trustAnchors"] = trust_anchors(anchors) if anchors else {"anchorsId": None, "demo": False, "issuers": {}}
    snapshot = _configured(sources, "ledgerSnapshot", LEDGER_SNAPSHOT_ENV, env, root, sources_file)
    data["consentContracts"] = ledger_snapshot(snapshot) if snapshot else {}
    return data


def write(out_dir: Path | None = None, data: dict | None = None) -> Path:
    """Write data.json under OUT_DIR/model_router_data/ (the layout OPA loads); return its path."""
    return write_data_root(out_dir or paths.BUILD / "data", DATA_ROOT, data if data is not None else assemble())


if __name__ == "__main__":
    import sys

    try:
        print(write())
    except PolicyDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
