"""The governance document kinds (docs/contracts.md): ApprovalTrustAnchors and PersonalTuningContract.

Importing this module registers both kinds with the contracts registry and their semantic rules:

- ApprovalTrustAnchors: issuer ids unique; key ids unique per issuer; an issuer keeps at least one
  active key (a file whose keys are all retired approves nothing and is almost certainly a mistake);
  a document marked `demo` marks every issuer `demo` too, so that no demo key looks real.
- RouteInputBundle: no `evaluation` member (the router stamps the evaluation time; a caller may not).
- PersonalTuningContract: `consent.expiresAt` is an RFC 3339 time with a zone (the schema checks the
  format); nothing else: the ledger owns the document, the router only reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.jsonpath import items, show
from router.contracts.kinds import KINDS, Kind
from router.contracts.rules.registry import Finding, rule
from router.contracts.rules.support import duplicate_ids

TRUST_ANCHORS = "ApprovalTrustAnchors"
TUNING_CONTRACT = "PersonalTuningContract"

for _kind in (
    Kind(TRUST_ANCHORS, "approval-trust-anchors", "anchorsId"),
    Kind(TUNING_CONTRACT, "personal-tuning-contract", "contractId"),
):
    KINDS.setdefault(_kind.name, _kind)


@rule(TRUST_ANCHORS, "unique-issuers-and-keys", "issuer ids are unique, and key ids unique per issuer")
def unique_issuers_and_keys(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from duplicate_ids(doc, ("issuers",), "issuerId")
    for i, issuer in items(doc, "issuers"):
        if isinstance(issuer, dict):
            yield from duplicate_ids(doc, ("issuers", i, "keys"), "kid")


@rule(TRUST_ANCHORS, "issuer-has-active-key", "every issuer has at least one active key")
def issuer_has_active_key(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, issuer in items(doc, "issuers"):
        keys = issuer.get("keys") if isinstance(issuer, dict) else None
        if isinstance(keys, list) and keys and not any(isinstance(k, dict) and k.get("status") == "active" for k in keys):
            yield Finding(("issuers", i, "keys"), "only retired keys", "at least one key with status active")


@rule(TRUST_ANCHORS, "demo-marked", "the issuers of a demo anchors file are marked demo too")
def demo_marked(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    if doc.get("demo") is not True:
        return
    for i, issuer in items(doc, "issuers"):
        if isinstance(issuer, dict) and issuer.get("demo") is not True:
            yield Finding(("issuers", i, "demo"), show(issuer.get("demo")), "true: the document is marked demo")


@rule("RouteInputBundle", "evaluation-is-stamped", "a caller's bundle carries no evaluation time (the router stamps it)")
def evaluation_is_stamped(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    if "evaluation" in doc:
        yield Finding(("evaluation",), "a caller-supplied evaluation time", "no evaluation member: the router stamps the evaluation time itself")
