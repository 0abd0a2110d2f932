"""Semantic rules of ModelPriceCatalog (contract reference, section 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.jsonpath import items, show
from router.contracts.rules.registry import Finding, rule
from router.contracts.rules.support import HOSTED_LANES, LANES, duplicate_ids, missing_ids

KIND = "ModelPriceCatalog"

# the cost model each lane is priced with: a hosted lane priced as `none` would be silently free
COST_MODEL_OF_LANE = {"no-model": "none", "local-cheap": "local-runtime", **{lane: "hosted-token" for lane in HOSTED_LANES}}


@rule(KIND, "every-lane-priced", "every lane of the vocabulary has a price entry")
def every_lane_priced(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_ids(doc, ("lanes",), "laneId", LANES, "price entry for lane")


@rule(KIND, "default-profile-resolves", "each lane's defaultProfileRef names one of its profiles")
def default_profile_resolves(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, lane in items(doc, "lanes"):
        ref = lane.get("defaultProfileRef")
        if not isinstance(ref, str):
            continue
        refs = [p.get("profileRef") for _, p in items(lane, "profiles")]
        if ref not in refs:
            known = ", ".join(r for r in refs if isinstance(r, str)) or "none"
            yield Finding(("lanes", i, "defaultProfileRef"), show(ref), f"the profileRef of one of the lane's profiles ({known})")


@rule(KIND, "cost-model-matches-lane", "no-model is priced as none, local-cheap as local-runtime, hosted lanes as hosted-token")
def cost_model_matches_lane(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, lane in items(doc, "lanes"):
        lane_id = lane.get("laneId")
        wanted = COST_MODEL_OF_LANE.get(lane_id) if isinstance(lane_id, str) else None
        model = lane.get("costModel")
        if wanted and isinstance(model, str) and model != wanted:
            yield Finding(("lanes", i, "costModel"), show(model), f"{wanted!r} for lane {lane['laneId']}")


@rule(KIND, "unique-ids", "no lane appears twice, and no profileRef twice within a lane")
def unique_ids(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from duplicate_ids(doc, ("lanes",), "laneId")
    for i, _ in items(doc, "lanes"):
        yield from duplicate_ids(doc, ("lanes", i, "profiles"), "profileRef")
