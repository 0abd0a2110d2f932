"""Semantic rules of RouteDecisionReceipt (routing semantics, section 4; contract reference, section 6)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.digest import receipt_digest
from router.contracts.jsonpath import MISSING, get, show
from router.contracts.rules.registry import Finding, rule

KIND = "RouteDecisionReceipt"


@rule(KIND, "receipt-digest", "receiptDigest is the sha256 of the receipt's canonical JSON without receiptDigest")
def receipt_digest_matches(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    digest = get(doc, "receiptDigest")
    if not isinstance(digest, str):
        return
    try:
        wanted = receipt_digest(doc)
    except (TypeError, ValueError):  # not JSON-serializable: the schema reports what is wrong
        return
    if digest != wanted:
        yield Finding(("receiptDigest",), show(digest), f"{wanted} (the digest of this receipt's content)")


@rule(KIND, "lane-decision-matches-selected", "laneDecision repeats the selected lane and cost class")
def lane_decision_matches_selected(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    if not isinstance(get(doc, "laneDecision"), dict):
        return
    for lane_field, selected_field in (("selected_lane", "lane"), ("cost_class", "costClass")):
        ours, theirs = get(doc, "laneDecision", lane_field), get(doc, "selected", selected_field)
        if ours is not MISSING and theirs is not MISSING and ours != theirs:
            yield Finding(("laneDecision", lane_field), show(ours), f"{show(theirs)}, as in $.selected.{selected_field}")
