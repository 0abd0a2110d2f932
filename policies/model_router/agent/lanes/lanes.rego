# METADATA
# title: Lanes, ranks and lane kinds
# description: |
#   Everything the policy knows about a lane, derived from the documents so that no lane name
#   appears in Rego:
#   - rank: the lane's position in the routing policy's `modelLanes` (document order, the contract
#     orders them no-model 0 ... pro 5);
#   - local: the price catalog prices the lane with costModel `none` or `local-runtime`; every other
#     lane is hosted (fail closed: an unknown cost model gets the hosted checks);
#   - model-free: costModel `none` (needs neither a model nor a runtime);
#   - premium: cost class `high` or `maximum`, or the lane requires an escalation receipt. The
#     premium tier (cost class `high`: the high-end share, spend and reason flags of the documents;
#     `maximum`: the pro ones) picks the share ceiling and the reason-required flags.
package model_router.agent.lanes

import data.model_router.agent.config

# Every view below is a complete rule: OPA computes it once per query and later lookups are plain
# indexing. A view is read from the stored agent tables (their `lanes`, built from `table` by `make
# data`, read through model_router.agent.config.tables) when they are current, and computed from the
# documents otherwise. The stored sets are sorted arrays (JSON has no sets), made sets again here.

# METADATA
# description: |
#   The lane views as the agent tables store them (model_router.models.tables.agent.lanes): {rank,
#   premiumTier, local, localRuntime, modelFree, hosted, requiresReceipt, premium}, the sets as sorted arrays.
table := {
	"rank": rank,
	"premiumTier": premium_tier,
	"local": sort(local),
	"localRuntime": sort(local_runtime),
	"modelFree": sort(model_free),
	"hosted": sort(hosted),
	"requiresReceipt": sort(requires_receipt),
	"premium": sort(premium),
}

# METADATA
# description: Lane rank, by position in the policy's modelLanes.
rank := stored if {
	stored := config.tables.lanes.rank
} else := {lane.laneId: i | some i, lane in config.policy.modelLanes}

# METADATA
# description: The lanes the optimizer evaluates, in its candidateOrder.
candidate_order := config.optimizer.selectionPolicy.candidateOrder

# METADATA
# description: Cost class of each declared lane.
cost_class := {lane_id: lane.costClass | some lane_id, lane in config.policy_lanes}

# METADATA
# description: Lanes priced as local (costModel none or local-runtime).
local := {lane_id | some lane_id in stored} if {
	stored := config.tables.lanes.local
} else := local_runtime | model_free

# METADATA
# description: Lanes that run on a local model runtime (the local admission checks apply).
local_runtime := {lane_id | some lane_id in stored} if {
	stored := config.tables.lanes.localRuntime
} else := {lane_id |
	some lane_id, lane in config.catalog_lanes
	lane.costModel == "local-runtime"
}

# METADATA
# description: Lanes that need no model at all (costModel none).
model_free := {lane_id | some lane_id in stored} if {
	stored := config.tables.lanes.modelFree
} else := {lane_id |
	some lane_id, lane in config.catalog_lanes
	lane.costModel == "none"
}

# METADATA
# description: Declared lanes that are not local (the hosted admission checks apply).
hosted := {lane_id | some lane_id in stored} if {
	stored := config.tables.lanes.hosted
} else := object.keys(config.policy_lanes) - local

# METADATA
# description: >-
#   Premium tier of a premium lane, by its cost class (`high` for the high-end tier, `maximum` for pro).
premium_tier := stored if {
	stored := config.tables.lanes.premiumTier
} else := {lane_id: lane.costClass |
	some lane_id, lane in config.policy_lanes
	lane.costClass in {"high", "maximum"} # the contract's premium cost classes (a literal: no rule lookup per lane)
}

# METADATA
# description: Lanes that require an escalation receipt.
requires_receipt := {lane_id | some lane_id in stored} if {
	stored := config.tables.lanes.requiresReceipt
} else := {lane_id |
	some lane_id, lane in config.policy_lanes
	lane.requiresEscalationReceipt == true
}

# METADATA
# description: Premium lanes (high or maximum cost class, or an escalation receipt is required).
premium := {lane_id | some lane_id in stored} if {
	stored := config.tables.lanes.premium
} else := object.keys(premium_tier) | requires_receipt

# METADATA
# description: The highest-ranked non-premium lane at or below the given lane (de-escalation target).
highest_non_premium_at_or_below(lane_id) := config.policy.modelLanes[max(ranks)].laneId if {
	# the lanes at or below it are the first ones of modelLanes (rank is the position); the premium
	# lanes are bound once (a local lookup per lane, not a rule lookup)
	premium_lanes := premium
	ranks := {i |
		some i, l in array.slice(config.policy.modelLanes, 0, rank[lane_id] + 1)
		not premium_lanes[l.laneId]
	}
	count(ranks) > 0
}
