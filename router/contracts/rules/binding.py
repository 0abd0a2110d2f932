"""Semantic rules of LocalPersonalRouteBinding (contract reference, section 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.jsonpath import MISSING, get, items, show
from router.contracts.rules.registry import Finding, rule
from router.contracts.rules.support import duplicate_ids, expect_equal, expect_true

KIND = "LocalPersonalRouteBinding"

TARGET_FIELDS = ("preferredTarget", "fallbackTarget")


def _routes_targeting(doc: dict[str, Any], target: str) -> Iterator[tuple[int, dict[str, Any], str]]:
    for i, route in items(doc, "routes"):
        for field in TARGET_FIELDS:
            if route.get(field) == target:
                yield i, route, field
                break


@rule(KIND, "personalization-governance", "enabled personalization names its contract and artifact and requires ledger approval")
def personalization_governance(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    if get(doc, "personalization", "enabled") is not True:
        return
    for field in ("governanceContractRef", "artifactRef"):
        if get(doc, "personalization", field) is MISSING:
            yield Finding(("personalization", field), show(MISSING), "a reference: personalization is enabled")
    yield from expect_equal(
        doc,
        ("personalization", "activationRequiresLedgerApproval"),
        True,
        expected="true (or absent, which means true): enabled personalization is activated through the ledger",
    )


@rule(KIND, "personal-local-requires-consent", "a route that can use personal-local requires consent")
def personal_local_requires_consent(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, route, field in _routes_targeting(doc, "personal-local"):
        if route.get("requiresConsent") is False:
            yield Finding(("routes", i, "requiresConsent"), "false", f"true: the route's {field} is personal-local")


@rule(KIND, "hosted-requires-network", "a route that can use hosted requires network")
def hosted_requires_network(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, route, field in _routes_targeting(doc, "hosted"):
        if route.get("requiresNetwork") is False:
            yield Finding(("routes", i, "requiresNetwork"), "false", f"true: the route's {field} is hosted")


@rule(KIND, "policy-flags-strict", "local first, egress denied by default, hosted needs policy, consent for personalization, hash-only evidence")
def policy_flags_strict(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(doc, ("policy",), ("localFirst", "hostedFallbackRequiresPolicy", "personalizationRequiresConsent", "promptHashOnlyEvidence"))
    yield from expect_equal(doc, ("policy", "promptEgressDefault"), "deny")


@rule(KIND, "evidence-flags-true", "evidence booleans are true")
def evidence_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(doc, ("evidence",), ("emitRouteDecision", "emitRuntimeHealth", "emitGovernanceRefs"))


@rule(KIND, "unique-ids", "no routeId appears twice")
def unique_ids(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from duplicate_ids(doc, ("routes",), "routeId")
