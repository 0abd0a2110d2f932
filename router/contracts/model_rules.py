"""The concrete-model document kinds and their semantic rules (contract reference, section 7).

Importing this module registers three kinds with the contracts registry (router.contracts.kinds.KINDS)
and their semantic rules (router.contracts.rules):

- ModelCatalog: model refs unique; every model names a governance route that has a record in the
  route authorization mirror (the catalog's authorizationRef, else every known mirror) -- a model
  without one fails validation, named; localProfileRef only on local models.
- ModelRoutePolicy: scoreWeights sum to exactly 1.0 (within 1e-9); a local-first policy prefers local
  models; tier values are ordered (better quality, lower cost and latency never score less).
- prophet_mesh_model_route_authorization: route ids unique; `authorized` equals status = authorized;
  `promotion_evidence_present` is true exactly when authorized.

Known mirrors are those under examples/ and those policies/data/sources.json loads, plus the mirrors
named in the current validation run (`validate_paths` adds them).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeGuard

from router import paths
from router.contracts.context import ValidationContext
from router.contracts.errors import UnusableInput
from router.contracts.jsonpath import MISSING, get, items, show
from router.contracts.kinds import KINDS, Kind, detect_kind
from router.contracts.loader import load_document
from router.contracts.rules.registry import Finding, rule
from router.contracts.rules.support import duplicate_ids
from router.contracts.runner import run_validator

CATALOG = "ModelCatalog"
ROUTE_POLICY = "ModelRoutePolicy"
AUTHORIZATION = "prophet_mesh_model_route_authorization"
MODEL_KINDS = (CATALOG, ROUTE_POLICY, AUTHORIZATION)

for _kind in (
    Kind(CATALOG, "model-catalog", "catalogId"),
    Kind(ROUTE_POLICY, "model-route-policy", "policyRef"),
    Kind(AUTHORIZATION, "model-route-authorization", "mirror_id"),
):
    KINDS.setdefault(_kind.name, _kind)

WEIGHT_TOLERANCE = 1e-9
WEIGHT_NAMES = ("quality", "evalConfidence", "locality", "cost", "latency")

# mirrors named in the current validation run, by mirror_id (see validate_paths)
_run_mirrors: dict[str, dict[str, Any]] = {}


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@cache
def repository_mirrors(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """The authorization mirrors under examples/ and those sources.json loads, by mirror_id."""
    root = root or paths.ROOT
    files = set((root / "examples").rglob("*.json"))
    try:
        listed = json.loads((root / "policies" / "data" / "sources.json").read_text(encoding="utf-8"))["documents"]
        files.update(root / rel for rel in listed if isinstance(rel, str))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(files):
        try:
            doc = load_document(path)
        except UnusableInput:
            continue
        if doc.get("kind") == AUTHORIZATION and isinstance(doc.get("mirror_id"), str):
            found[doc["mirror_id"]] = doc
    return found


def known_mirrors() -> dict[str, dict[str, Any]]:
    return {**repository_mirrors(), **_run_mirrors}


@contextlib.contextmanager
def mirror_known(mirror: dict[str, Any]) -> Iterator[None]:
    """Within the block, MIRROR counts as a known authorization mirror (as the mirrors among the files
    `validate_paths` is given do): for policy data assembled from generated documents."""
    before = dict(_run_mirrors)
    _run_mirrors[mirror["mirror_id"]] = mirror
    try:
        yield
    finally:
        _run_mirrors.clear()
        _run_mirrors.update(before)


def _routes(mirror: dict[str, Any]) -> set[str]:
    return {r["route_id"] for _, r in items(mirror, "records") if isinstance(r.get("route_id"), str)}


# ---- ModelCatalog ---------------------------------------------------------------------------------


@rule(CATALOG, "unique-model-refs", "no modelRef appears twice")
def unique_model_refs(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from duplicate_ids(doc, ("models",), "modelRef")


@rule(CATALOG, "every-model-has-authorization-record", "every model's governance route has a record in the route authorization mirror")
def every_model_has_authorization_record(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    mirrors = known_mirrors()
    ref = doc.get("authorizationRef", MISSING)
    if isinstance(ref, str):
        if ref not in mirrors:
            known = ", ".join(sorted(mirrors)) or "none"
            yield Finding(("authorizationRef",), show(ref), f"the mirror_id of a known route authorization mirror ({known})")
            return
        consulted = {ref: mirrors[ref]}
    else:
        consulted = mirrors
    where = " or ".join(sorted(consulted)) or "a route authorization mirror (none is known)"
    routes = set().union(*(_routes(m) for m in consulted.values())) if consulted else set()
    for i, model in items(doc, "models"):
        name = model.get("modelRef")
        named = f"model {name!r}" if isinstance(name, str) else f"the model at index {i}"
        route = model.get("governanceRoute", MISSING)
        if not isinstance(route, str) or not route:
            yield Finding(
                ("models", i, "governanceRoute"),
                f"{show(route)}: {named} names no governance route",
                f"a governance route with an authorization record in {where}",
            )
        elif route not in routes:
            yield Finding(
                ("models", i, "governanceRoute"),
                f"{show(route)}: {named} has no authorization record",
                f"a record for route {route!r} in {where}",
            )


@rule(CATALOG, "local-profile-on-local-models", "only a local model names a localProfileRef")
def local_profile_on_local_models(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, model in items(doc, "models"):
        if "localProfileRef" in model and model.get("locality") == "hosted":
            yield Finding(("models", i, "localProfileRef"), show(model["localProfileRef"]), "no localProfileRef on a hosted model")


# ---- ModelRoutePolicy -----------------------------------------------------------------------------


@rule(ROUTE_POLICY, "score-weights-sum-to-one", "the five score weights sum to exactly 1.0")
def score_weights_sum_to_one(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    weights = get(doc, "scoreWeights")
    if not isinstance(weights, dict):
        return
    values = [weights.get(name) for name in WEIGHT_NAMES]
    numbers = [v for v in values if _is_number(v)]
    if len(numbers) != len(values):
        return
    total = sum(numbers)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        shown = " + ".join(f"{name} {weights[name]}" for name in WEIGHT_NAMES)
        yield Finding(("scoreWeights",), f"weights summing to {total:.12g} ({shown})", "weights summing to exactly 1.0")


@rule(ROUTE_POLICY, "local-first-prefers-local", "a local-first privacy mode prefers local models")
def local_first_prefers_local(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    if doc.get("privacyMode") == "local-first" and doc.get("preferLocal") is False:
        yield Finding(("preferLocal",), "false", "true when privacyMode is 'local-first'")


@rule(ROUTE_POLICY, "score-tiers-ordered", "better tiers never score less: quality high >= medium >= low, cost and latency low >= medium >= high")
def score_tiers_ordered(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for name, order in (("quality", ("high", "medium", "low")), ("cost", ("low", "medium", "high")), ("latency", ("low", "medium", "high"))):
        table = get(doc, "scoreTiers", name)
        if not isinstance(table, dict) or not all(_is_number(table.get(t)) for t in order):
            continue
        for better, worse in pairwise(order):
            if table[better] < table[worse]:
                yield Finding(
                    ("scoreTiers", name, better),
                    f"{table[better]} below {worse} {table[worse]}",
                    f"a value >= the {worse!r} value",
                )


# ---- prophet_mesh_model_route_authorization -------------------------------------------------------


@rule(AUTHORIZATION, "unique-route-ids", "one record per governance route")
def unique_route_ids(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from duplicate_ids(doc, ("records",), "route_id")


@rule(AUTHORIZATION, "status-flags-consistent", "authorized equals status = authorized, and promotion evidence is present exactly when authorized")
def status_flags_consistent(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, record in items(doc, "records"):
        status = record.get("status")
        if status not in ("authorized", "proposed", "denied"):
            continue
        wanted = status == "authorized"
        for flag in ("authorized", "promotion_evidence_present"):
            value = record.get(flag)
            if isinstance(value, bool) and value is not wanted:
                yield Finding(("records", i, flag), show(value), f"{show(wanted)} because status is {status!r}")


# ---- validator entry point ------------------------------------------------------------------------

USAGE = """usage: {prog} [FILE ...]

Validate ModelCatalog, ModelRoutePolicy and route authorization mirror
(prophet_mesh_model_route_authorization) documents: JSON Schema plus semantic rules, including
score weights summing to 1.0, consistent authorization flags and an authorization record for
every catalog model. With no FILE, every such document under examples/ is checked.
Exit status: 0 valid, 1 invalid, 2 unusable input."""


def validate_paths(files: Sequence[str | Path], prog: str = "validate_model_catalogs") -> int:
    """Validate FILES (or every model document under examples/); mirrors among FILES count as known."""
    _run_mirrors.clear()
    for path in files:
        try:
            doc = load_document(Path(path))
            if detect_kind(doc) == AUTHORIZATION and isinstance(doc.get("mirror_id"), str):
                _run_mirrors[doc["mirror_id"]] = doc
        except UnusableInput:
            continue  # the runner reports it
    try:
        return run_validator(list(files), list(MODEL_KINDS))
    finally:
        _run_mirrors.clear()


def main(argv: Sequence[str], prog: str) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE.format(prog=prog))
        return 0
    options = [a for a in argv if a.startswith("-") and a != "-"]
    if options:
        print(f"{prog}: unknown option {options[0]}\n" + USAGE.format(prog=prog), file=sys.stderr)
        return 2
    return validate_paths(list(argv), prog)
