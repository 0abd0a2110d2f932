"""Assemble the policy data OPA reads as data.model_router_data, by convention.

Two sources, both loaded without naming any file in code:

1. **Contract documents** named in `policies/data/sources.json` (`documents`): each is validated like
   `model-router validate` does (the JSON Schema of its `kind`, then the kind's semantic rules) and
   kept unchanged under "document", beside keyed views (by laneId, taskClass, stage, window, ...) so
   that Rego looks things up by id instead of scanning arrays. `active` names the documents in force.
2. **Policy data files**: every `*.json`, `*.yaml` and `*.yml` under `policies/data/` (except
   `sources.json`). Each declares the JSON Schema it follows in a top-level `"$schema"` member (a path
   relative to the file, inside the repository's `schemas/` folder) and is validated against it. A file
   `policies/data/blocked-tenants.json` is mounted at `data.model_router_data.blockedTenants` (the file
   name in lower camel case, without `$schema`); the files of a folder are merged into one object named
   after the folder (`policies/data/reasons/*.json` -> `data.model_router_data.reasons`; a key defined
   twice is an error). A few entries get a keyed view instead of the raw document (DATA_VIEWS).

Two more inputs are configuration, each named in sources.json and replaceable from the environment:
- the active ApprovalTrustAnchors document (`trustAnchors`; MODEL_ROUTER_TRUST_ANCHORS=<file>),
  assembled as `trustAnchors.issuers[issuerId].keys[kid]`;
- the governance-ledger snapshot (`ledgerSnapshot`; MODEL_ROUTER_LEDGER_SNAPSHOT=<file or folder>):
  PersonalTuningContract documents (one per file in a folder, or a file holding one contract or an
  array of them), assembled as `consentContracts[contractId]`.
Both are checked against their schemas here; a document that does not conform stops the assembly.

Every error names the file, the JSON path and what was expected; `make data` exits 2 on any of them.
This is a reshaping of the documents, never a policy rule.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from router import model_data, opa_binary, paths
from router.contracts.digest import sha256_digest
from router.contracts.jsonpath import json_path
from router.data_views import PolicyDataError, keyed, write_data_root

# a JSON object as json.loads gives it
Json = dict[str, Any]

DATA_ROOT = "model_router_data"
SOURCES_FILE = "sources.json"
DATA_SUFFIXES = (".json", ".yaml", ".yml")
SCHEMA_KEY = "$schema"


# ---- reading ------------------------------------------------------------------------------------


def _show(path: Path, root: Path) -> str:
    """PATH relative to the repository root when it is inside it (policies/data/x.json), else as given."""
    import os

    for base, target in ((Path(os.path.abspath(root)), Path(os.path.abspath(path))), (root.resolve(), path.resolve())):
        if target.is_relative_to(base):
            return str(target.relative_to(base))
    return str(path)


def _load(path: Path, shown: str | None = None) -> Any:
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyDataError(f"{shown}: file not found") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            raise PolicyDataError(f"{shown}: not YAML: {getattr(exc, 'problem', None) or exc}{where}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyDataError(f"{shown}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _json_path(parts: Iterable[Any]) -> str:
    return json_path(parts)


# ---- contract documents (sources.json) -----------------------------------------------------------


def _policy(doc: Json, src: Path) -> tuple[str, Json]:
    return doc["policyId"], {
        "document": doc,
        "lanes": keyed(doc["modelLanes"], "laneId", src, "modelLanes"),
        "taskClasses": keyed(doc["taskClasses"], "taskClass", src, "taskClasses"),
        "stages": keyed(doc["chainStages"], "stage", src, "chainStages"),
    }


def _optimizer(doc: Json, src: Path) -> tuple[str, Json]:
    return doc["optimizerId"], {
        "document": doc,
        "windows": keyed(doc["budgetPolicy"]["windows"], "window", src, "budgetPolicy.windows"),
        "riskFloors": keyed(doc["qualityPolicy"]["riskFloors"], "riskClass", src, "qualityPolicy.riskFloors"),
    }


def _price_catalog(doc: Json, src: Path) -> tuple[str, Json]:
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


def _binding(doc: Json, src: Path) -> tuple[str, Json]:
    return doc["bindingId"], {"document": doc, "routes": keyed(doc["routes"], "routeId", src, "routes")}


def _agentplane_mapping(doc: Json, src: Path) -> tuple[str, Json]:
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


def _contract_violations(docs: list[tuple[Json, str]], root: Path) -> list[str]:
    """Schema and semantic-rule violations of the contract documents, as `model-router validate` reports them."""
    # imported when policy data is assembled, never on a managed OPA's start path (router.bundle imports
    # this module to read the freshness stamp): the contracts load jsonschema, about 65 ms measured
    # with `python -X importtime -c "import router.opa_supervisor"`
    from router.contracts.context import ValidationContext, repository_context
    from router.contracts.errors import UnusableInput
    from router.contracts.validate import validate_document

    base = repository_context() if root.resolve() == paths.ROOT.resolve() else ValidationContext()
    context = base.with_documents(doc for doc, _ in docs)
    out: list[str] = []
    for doc, shown in docs:
        try:
            out.extend(str(v) + ("" if v.rule in ("schema", "input") else f" [{v.rule}]") for v in validate_document(doc, shown, context=context))
        except UnusableInput as exc:
            out.append(str(exc))
    return out


# ---- configuration: trust anchors and the ledger snapshot ---------------------------------------


TRUST_ANCHORS_ENV = "MODEL_ROUTER_TRUST_ANCHORS"
LEDGER_SNAPSHOT_ENV = "MODEL_ROUTER_LEDGER_SNAPSHOT"


def _conform(doc: Any, kind: str, src: Path) -> None:
    from router.contracts.schemas import schema_violations  # when assembling only: see _contract_violations

    problems = schema_violations(doc, kind, str(src))
    if problems:
        raise PolicyDataError("\n".join(str(p) for p in problems))


def trust_anchors(path: Path) -> Json:
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


def ledger_snapshot(path: Path) -> Json:
    """The PersonalTuningContract documents in PATH (a folder of files, or one file) by contractId."""
    if path.is_dir():
        files = sorted(path.glob("*.json"))
    elif path.exists():
        files = [path]
    else:
        raise PolicyDataError(f"{path}: ledger snapshot not found (expected a file or a folder of contracts)")
    contracts: dict[str, Json] = {}
    for src in files:
        loaded = _load(src)
        for j, doc in enumerate(loaded if isinstance(loaded, list) else [loaded]):
            where = Path(f"{src}[{j}]") if isinstance(loaded, list) else src
            _conform(doc, "PersonalTuningContract", where)
            if doc["contractId"] in contracts:
                raise PolicyDataError(f"{where}: $.contractId: duplicate contract {doc['contractId']!r}")
            contracts[doc["contractId"]] = doc
    return contracts


def _configured(sources: Json, key: str, env_name: str, env: Mapping[str, str], root: Path, sources_file: Path) -> Path | None:
    if env.get(env_name):
        return Path(env[env_name]).expanduser()
    rel = sources.get(key)
    if rel is None:
        return None
    if not isinstance(rel, str):
        raise PolicyDataError(f"{sources_file}: $.{key}: expected a path relative to the repository")
    return root / rel


# ---- policy data files (policies/data/**) ----------------------------------------------------------


def data_key(name: str) -> str:
    """The data.model_router_data member of a data file or folder name: `blocked-tenants` -> `blockedTenants`."""
    parts = [p for p in re.split(r"[-_.\s]+", name) if p]
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:]) if parts else name


def data_files(data_dir: Path, documents: frozenset[Path] | set[Path] = frozenset()) -> list[Path]:
    """Every policy data file under DATA_DIR, in a stable order: sources.json (the manifest) and the
    contract documents it names (DOCUMENTS, resolved paths) are not data files."""
    return sorted(
        p for p in data_dir.rglob("*")
        if p.is_file() and p.suffix in DATA_SUFFIXES and p != data_dir / SOURCES_FILE
        and p.resolve() not in documents
        and not any(part.startswith(".") for part in p.relative_to(data_dir).parts)
    )


@cache
def _validator(schema_path: Path) -> Any:
    import importlib

    from router.contracts.schemas import FORMAT_CHECKER  # when assembling only: see _contract_violations

    validator_class = importlib.import_module("jsonschema").Draft202012Validator
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=FORMAT_CHECKER)


def declared_schema(path: Path, doc: Any, shown: str, root: Path) -> Path:
    """The schema file DOC declares in `$schema`, resolved relative to PATH and required to be under schemas/."""
    if not isinstance(doc, dict):
        raise PolicyDataError(f"{shown}: $: expected an object with a \"$schema\" member naming its JSON Schema")
    ref = doc.get(SCHEMA_KEY)
    if not isinstance(ref, str) or not ref:
        raise PolicyDataError(
            f"{shown}: $['$schema']: missing; expected the path (relative to this file) of the JSON Schema it "
            f"follows, under schemas/ (e.g. \"{_relative(root / 'schemas' / 'policy-data' / 'NAME.schema.json', path.parent)}\")"
        )
    import os

    target = Path(os.path.normpath(path.parent / ref))
    if not target.resolve().is_relative_to((root / "schemas").resolve()) or not target.is_file():
        raise PolicyDataError(f"{shown}: $['$schema']: found {ref!r}; expected the path of a JSON Schema file under schemas/")
    return target


def _relative(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start)


def validate_data_file(path: Path, doc: Any, shown: str, root: Path) -> list[str]:
    """Every violation of DOC against the schema it declares (file, JSON path, what was expected)."""
    schema = declared_schema(path, doc, shown, root)
    try:
        validator = _validator(schema)
    except Exception as exc:  # noqa: BLE001 - a broken schema is reported, not raised
        return [f"{shown}: $['$schema']: {_show(schema, root)} is not a usable JSON Schema: {exc}"]
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{shown}: {_json_path(e.absolute_path)}: {e.message} [schema {_show(schema, root)}]" for e in errors]


def _local_profiles(doc: Json, shown: str) -> Json:
    return keyed(doc.get("profiles", []), "profileRef", Path(shown), "profiles")


# data.model_router_data member -> the view Rego reads instead of the raw document
DATA_VIEWS: dict[str, Callable[[Json, str], Any]] = {
    "localProfiles": _local_profiles,
}


def load_data_files(
    data_dir: Path, root: Path, reserved: set[str], documents: frozenset[Path] | set[Path] = frozenset()
) -> tuple[dict[str, Any], list[str]]:
    """Every policy data file under DATA_DIR, validated and mounted by convention; (data, problems)."""
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []
    for path in data_files(data_dir, documents):
        shown = _show(path, root)
        doc = _load(path, shown)
        try:
            found = validate_data_file(path, doc, shown, root)
        except PolicyDataError as exc:
            problems.append(str(exc))
            continue
        if found:
            problems.extend(found)
            continue
        body = {k: v for k, v in doc.items() if k != SCHEMA_KEY}
        rel = path.relative_to(data_dir)
        if len(rel.parts) > 2:
            problems.append(f"{shown}: nested too deep; expected policies/data/NAME.json or policies/data/FOLDER/NAME.json")
            continue
        key = data_key(rel.parts[0] if len(rel.parts) == 2 else path.stem)
        if key in reserved:
            problems.append(f"{shown}: mounts at data.{DATA_ROOT}.{key}, which the contract documents use; rename the file")
            continue
        if len(rel.parts) == 1:
            if key in out:
                problems.append(f"{shown}: mounts at data.{DATA_ROOT}.{key}, as {origin[key]} does; rename one of them")
                continue
            out[key], origin[key] = body, shown
            continue
        merged = out.setdefault(key, {})
        origin.setdefault(key, _show(path.parent, root))
        for member, value in body.items():
            if member in merged:
                problems.append(f"{shown}: $.{member}: already defined by another file in {_show(path.parent, root)}/; expected each key once")
                continue
            merged[member] = value
    for key, view in DATA_VIEWS.items():
        if key in out:
            try:
                out[key] = view(out[key], origin[key])
            except PolicyDataError as exc:
                problems.append(str(exc))
    return out, problems


def _task_requirement_problems(data: Json, shown: dict[int, str]) -> list[str]:
    """Every task class of the active routing policy needs the tasks a model must support for it in the
    active ModelRoutePolicy's `taskRequirements`; without them no concrete model is ever eligible."""
    active = data.get("active", {})
    policy = data["policies"].get(active.get("policy"))
    route = data.get("routePolicies", {}).get(active.get("routePolicy"))
    if not policy or not route:
        return []
    requirements = route["document"].get("taskRequirements")
    requirements = requirements if isinstance(requirements, dict) else {}
    out = []
    for i, task in enumerate(policy["document"].get("taskClasses", [])):
        name = task.get("taskClass") if isinstance(task, dict) else None
        if isinstance(name, str) and name not in requirements:
            out.append(
                f"{shown.get(id(route['document']), 'the active ModelRoutePolicy')}: $.taskRequirements: no entry for task class "
                f"{name!r} (declared at {shown.get(id(policy['document']), 'the active routing policy')} $.taskClasses[{i}]); "
                f"expected the tasks a model must support for it, e.g. \"{name}\": [\"code\"]"
            )
    return out


def _escalation_reason_problems(data: Json, files: Json, shown: dict[int, str], reasons_file: str) -> list[str]:
    """Every reason a routing policy allows is an escalation reason of the policy data (escalation-reasons.json)."""
    known = (files.get("escalationReasons") or {}).get("reasons")
    if not isinstance(known, dict):
        return [f"{reasons_file}: missing; expected the escalation reasons routing policies may allow"] if data["policies"] else []
    out = []
    for entry in data["policies"].values():
        doc = entry["document"]
        allowed = (doc.get("escalationPolicy") or {}).get("allowedReasons") or []
        for i, reason in enumerate(allowed if isinstance(allowed, list) else []):
            if reason not in known:
                out.append(
                    f"{shown.get(id(doc), doc.get('policyId'))}: $.escalationPolicy.allowedReasons[{i}]: found {reason!r}; "
                    f"expected an escalation reason of {reasons_file}: {', '.join(sorted(known))}"
                )
    return out


def assemble(sources_file: Path | None = None, root: Path | None = None, env: Mapping[str, str] | None = None) -> Json:
    """Read sources.json, every contract document it names and every policy data file beside it;
    return data.model_router_data. Raise PolicyDataError listing every problem found."""
    env = os.environ if env is None else env
    root = root or paths.ROOT
    sources_file = sources_file or paths.POLICY_DATA / SOURCES_FILE
    sources = _load(sources_file, _show(sources_file, root))
    shown_sources = _show(sources_file, root)
    found = validate_data_file(sources_file, sources, shown_sources, root)
    if found:
        raise PolicyDataError("\n".join(found))
    data: dict[str, Any] = {collection: {} for collection, _ in ASSEMBLERS.values()}
    loaded: list[tuple[Json, str]] = []
    for rel in sources.get("documents", []):
        src = root / rel
        shown = _show(src, root)
        doc = _load(src, shown)
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind not in ASSEMBLERS:
            raise PolicyDataError(f"{shown}: $.kind: unknown document kind {kind!r}")
        collection, assembler = ASSEMBLERS[kind]
        try:
            ident, entry = assembler(doc, Path(shown))
        except (KeyError, TypeError, AttributeError) as exc:
            found = _contract_violations([(doc, shown)], root)
            raise PolicyDataError("\n".join(found) if found else f"{shown}: missing field {exc.args[0]!r}") from None
        if ident in data[collection]:
            raise PolicyDataError(f"{shown}: duplicate {collection} id {ident!r}")
        data[collection][ident] = model_data.stamped(entry)
        loaded.append((doc, shown))
    problems = _contract_violations(loaded, root)
    active = sources.get("active", {})
    data["active"] = active if isinstance(active, dict) else {}
    for role, ident in data["active"].items():
        role_collection = ACTIVE_ROLES.get(role)
        if role_collection and ident not in data[role_collection]:
            problems.append(f"{shown_sources}: $.active.{role}: {ident!r} is not among the loaded documents")
    problems.extend(_task_requirement_problems(data, {id(doc): where for doc, where in loaded}))
    anchors = _configured(sources, "trustAnchors", TRUST_ANCHORS_ENV, env, root, sources_file)
    data["trustAnchors"] = trust_anchors(anchors) if anchors else {"anchorsId": None, "demo": False, "issuers": {}}
    snapshot = _configured(sources, "ledgerSnapshot", LEDGER_SNAPSHOT_ENV, env, root, sources_file)
    data["consentContracts"] = ledger_snapshot(snapshot) if snapshot else {}
    documents = {(root / rel).resolve() for rel in sources.get("documents", [])}
    files, file_problems = load_data_files(sources_file.parent, root, set(data), documents)
    problems.extend(file_problems)
    if not file_problems:
        reasons_file = _show(sources_file.parent / "escalation-reasons.json", root)
        problems.extend(_escalation_reason_problems(data, files, {id(doc): where for doc, where in loaded}, reasons_file))
    if problems:
        raise PolicyDataError("\n".join(problems))
    data.update(files)
    data.setdefault("localProfiles", {})
    data.setdefault("reasons", {})
    return data


# ---- precomputed model tables (evaluated by OPA from Rego) ---------------------------------------

TABLES_KEY = "modelTables"
TABLES_QUERY = "data.model_router.models.tables.build"


def policies_digest(rego_dir: Path | None = None) -> str:
    """sha256: over every non-test module under REGO_DIR (path and content): the code the tables come from."""
    rego_dir = rego_dir or paths.REGO
    h = hashlib.sha256()
    for src in sorted(rego_dir.rglob("*.rego")):
        if src.name.endswith("_test.rego"):
            continue
        name = src.relative_to(rego_dir).as_posix().encode("utf-8")
        content = src.read_bytes()
        h.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big") + content)
    return "sha256:" + h.hexdigest()


def data_digest(data: dict[str, Any]) -> str:
    """sha256: of the canonical JSON of DATA without its precomputed tables: the policy data revision the
    tables are keyed to."""
    return sha256_digest({k: v for k, v in data.items() if k != TABLES_KEY})


def tables_source(data: dict[str, Any], rego_dir: Path | None = None) -> dict[str, str]:
    """What tables computed for DATA are keyed to: {"data": data_digest, "policies": policies_digest}."""
    return {"data": data_digest(data), "policies": policies_digest(rego_dir)}


def compute_tables(data: dict[str, Any], rego_dir: Path | None = None, opa: Path | None = None) -> dict[str, Any] | None:
    """The request-independent model tables for DATA, evaluated by OPA itself: `opa eval` of
    model_router.models.tables.build (policies/model_router/models/tables/tables.rego) over DATA;
    None when model selection is not configured (the query is undefined). Deterministic: the same data
    and policies give the same tables."""
    import subprocess
    import tempfile

    rego_dir = rego_dir or paths.REGO
    if opa is None:
        try:
            opa = opa_binary.find_opa()
        except opa_binary.OpaNotFound as exc:
            raise PolicyDataError(f"precomputing the model tables needs OPA: {exc}") from None
    body = {k: v for k, v in data.items() if k != TABLES_KEY}
    with tempfile.TemporaryDirectory(prefix="model-router-tables-") as tmp:
        write_data_root(Path(tmp), DATA_ROOT, body)
        cmd = [str(opa), "eval", "--format", "json", "--ignore", "*_test.rego", "-d", str(rego_dir), "-d", tmp, TABLES_QUERY]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PolicyDataError(f"precomputing the model tables ({TABLES_QUERY}) failed: {(proc.stderr or proc.stdout).strip()[:2000]}")
    results = json.loads(proc.stdout).get("result") or []
    if not results:
        return None
    tables: dict[str, Any] = results[0]["expressions"][0]["value"]
    return tables


def with_tables(data: dict[str, Any], rego_dir: Path | None = None, opa: Path | None = None) -> dict[str, Any]:
    """DATA with data.model_router_data.modelTables computed for it (compute_tables, keyed by
    tables_source); tables already present and keyed to this very data and these policies are kept,
    stale ones are replaced, and none are stored when model selection is not configured."""
    source = tables_source(data, rego_dir)
    present = data.get(TABLES_KEY)
    if isinstance(present, dict) and present.get("source") == source:
        return data
    out = {k: v for k, v in data.items() if k != TABLES_KEY}
    tables = compute_tables(out, rego_dir, opa)
    if tables is not None:
        out[TABLES_KEY] = {**tables, "source": source}
    return out


# ---- freshness: write() skips the assembly when nothing it reads changed ------------------------

STAMP_SUFFIX = ".stamp"


def stamp_path(out_dir: Path) -> Path:
    """The freshness stamp of the policy data written under OUT_DIR: beside the folder, not in it (OPA
    loads every file in the folder)."""
    return out_dir.parent / f"{out_dir.name}.{DATA_ROOT}{STAMP_SUFFIX}"


def input_files(sources_file: Path | None = None, root: Path | None = None, env: Mapping[str, str] | None = None) -> list[Path]:
    """Every file the assembly and the tables read: sources.json, the contract documents it names, the
    trust anchors and ledger snapshot in force, the policy data files, the schemas, the policy modules
    and the Python code that assembles and validates (PolicyDataError when sources.json is unusable)."""
    env = os.environ if env is None else env
    root = root or paths.ROOT
    sources_file = sources_file or paths.POLICY_DATA / SOURCES_FILE
    sources = _load(sources_file)
    if not isinstance(sources, dict):
        raise PolicyDataError(f"{sources_file}: $: expected an object")
    files = [sources_file, *(root / rel for rel in sources.get("documents", []) if isinstance(rel, str))]
    anchors = _configured(sources, "trustAnchors", TRUST_ANCHORS_ENV, env, root, sources_file)
    snapshot = _configured(sources, "ledgerSnapshot", LEDGER_SNAPSHOT_ENV, env, root, sources_file)
    files += [anchors] if anchors else []
    if snapshot:
        files += sorted(snapshot.glob("*.json")) if snapshot.is_dir() else [snapshot]
    files += data_files(sources_file.parent)
    files += sorted((root / "schemas").rglob("*.json"))
    files += sorted(p for p in paths.REGO.rglob("*.rego") if not p.name.endswith("_test.rego"))
    code = Path(__file__).resolve().parent
    files += [code / name for name in ("policy_data.py", "model_data.py", "data_views.py", "paths.py")]
    files += sorted((code / "contracts").rglob("*.py"))
    return files


def inputs_fingerprint(sources_file: Path | None = None, root: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """sha256: over the path and content of every input_files() entry (a missing file counts too) and
    the pinned OPA version: equal fingerprints give equal policy data."""
    h = hashlib.sha256(f"opa {opa_binary.pinned_version()}\n".encode())
    for path in input_files(sources_file, root, env):
        name = str(path).encode("utf-8")
        try:
            content = path.read_bytes()
        except OSError:
            content, name = b"", name + b" (missing)"
        h.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big") + content)
    return "sha256:" + h.hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _fresh(stamp: Path, fingerprint: str, target: Path) -> bool:
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("inputs") == fingerprint and recorded.get("output") == _file_digest(target)


def write(
    out_dir: Path | None = None,
    data: Json | None = None,
    *,
    force: bool = False,
    sources_file: Path | None = None,
    root: Path | None = None,
) -> Path:
    """Write data.json under OUT_DIR/model_router_data/ (the layout OPA loads), with the precomputed
    model tables; return its path.

    Without DATA the policy data is assembled (validated) and its tables computed only when something it
    is made from changed: a stamp beside OUT_DIR (stamp_path) records the inputs_fingerprint() and the
    digest of the data.json written from it, and a data.json that still matches both is kept as it is
    (the managed engine's start path, bundle.ensure_bundle, calls this on every start). FORCE assembles
    anyway (`make data`). SOURCES_FILE and ROOT are assemble()'s."""
    out_dir = out_dir or paths.BUILD / "data"
    if data is not None:
        return write_data_root(out_dir, DATA_ROOT, with_tables(data))
    target = out_dir / DATA_ROOT / "data.json"
    stamp = stamp_path(out_dir)
    try:
        fingerprint: str | None = inputs_fingerprint(sources_file, root)
    except (OSError, PolicyDataError):
        fingerprint = None  # assemble() reports what is wrong
    if not force and fingerprint is not None and _fresh(stamp, fingerprint, target):
        return target
    written = write_data_root(out_dir, DATA_ROOT, with_tables(assemble(sources_file, root)))
    if fingerprint is not None:
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"inputs": fingerprint, "output": _file_digest(written)}, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(stamp)
    return written


def main(argv: list[str] | None = None) -> int:
    """`python -m router.policy_data [--sources FILE] [--root DIR] [--out DIR]` (make data): exit 2 on any problem."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m router.policy_data", description="assemble data.model_router_data")
    parser.add_argument("--sources", type=Path, help="the sources.json to read (default policies/data/sources.json)")
    parser.add_argument("--root", type=Path, help="the folder document paths are relative to (default the repository)")
    parser.add_argument("--out", type=Path, help="the data folder to write (default build/data)")
    args = parser.parse_args(argv)
    try:
        print(write(args.out, sources_file=args.sources, root=args.root, force=True))
    except PolicyDataError as exc:
        lines = str(exc).splitlines()
        for line in lines:
            print(f"error: {line}", file=sys.stderr)
        print(f"make data: {len(lines)} problem(s) in the policy data; nothing was written", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
