# METADATA
# title: Candidate evaluation
# description: |
#   Evaluates every lane of the optimizer's candidateOrder, and the requested lane, against every
#   feasibility rule (no short-circuit). Reasons follow the rule table: quality floor (1), stage
#   ceiling and task class (2-3), escalation (4-8), local admission (9), hosted admission (10-15),
#   premium reserve (16-17), budget (18-19). A lane without failures has reasons ["feasible"]; the
#   model-free lane preferred for deterministic verification adds `deterministic-verification-preferred`.
package model_router.agent.candidates

import data.model_router.agent.budget
import data.model_router.agent.config
import data.model_router.agent.cost
import data.model_router.agent.eligibility
import data.model_router.agent.escalation
import data.model_router.agent.hosted
import data.model_router.agent.lanes
import data.model_router.agent.local
import data.model_router.agent.quality
import data.model_router.agent.request
import data.model_router.agent.reserve

# METADATA
# description: >-
#   The lanes evaluated: every candidate plus the requested lane.
evaluated := {lane | some lane in lanes.candidate_order} | {request.asked_lane | request.asked_lane != null}

# METADATA
# description: |
#   Lanes this request refers to (candidates, requested lane, task, stage and risk floor lanes) that
#   the policy does not declare or the price catalog does not price; any makes the decision denied.
unresolved := ({lane |
	some lane in array.concat(lanes.candidate_order, object.get(request.task, "allowedEscalationLanes", []))
} | _named) - _resolved

# Lanes both declared and priced (set operations: no per-lane rule call).
_resolved := object.keys(config.policy_lanes) & object.keys(config.catalog_lanes)

# The lanes the task class, stage and risk floor name (none when one of them is undefined).
default _named := set()

_named := {
	request.task.defaultLane,
	request.stage_entry.defaultLane,
	request.stage_entry.maxLaneWithoutEscalation,
	request.risk_floor.minimumLane,
	object.get(request.task, "minimumLane", null),
	object.get(request.task, "maximumLane", null),
} - {null}

# METADATA
# description: |
#   Failures of rules 1-17 per evaluated lane (everything except the budget rules). The reason codes
#   are strings: flattening the per-rule arrays concatenates them in one call. Local and hosted
#   admission (rules 9-15) usually fail for no lane; their tables are then not looked up per lane.
non_budget_failures := {lane: failures |
	# each rule's table bound once (a local lookup per lane, not a rule lookup)
	by_quality := quality.failures_by_lane
	by_eligibility := eligibility.failures_by_lane
	by_escalation := escalation.failures_by_lane
	by_reserve := reserve.failures_by_lane
	some lane in evaluated
	failures := array.flatten([
		object.get(by_quality, lane, []),
		by_eligibility[lane],
		by_escalation[lane],
		by_reserve[lane],
	])
} if {
	count(local.failures_by_lane) == 0
	count(hosted.failures_by_lane) == 0
} else := {lane: failures |
	by_quality := quality.failures_by_lane
	by_eligibility := eligibility.failures_by_lane
	by_escalation := escalation.failures_by_lane
	by_local := local.failures_by_lane
	by_hosted := hosted.failures_by_lane
	by_reserve := reserve.failures_by_lane
	some lane in evaluated
	failures := array.flatten([
		object.get(by_quality, lane, []),
		by_eligibility[lane],
		by_escalation[lane],
		object.get(by_local, lane, []),
		object.get(by_hosted, lane, []),
		by_reserve[lane],
	])
}

# METADATA
# description: Failures of rules 18-19 per evaluated lane.
budget_failures := {lane: budget.failures_by_lane[lane] | some lane in evaluated}

# METADATA
# description: |
#   The evaluation of each evaluated lane, as it appears in the decision. A lane without failures reads
#   ["feasible"] (looked up by failure count: no rule call per lane); the preferred model-free lane
#   adds its reason (looked up by whether the lane is that one), and without one no lane looks it up.
evaluation := {lane: evaluated_lane |
	# the tables read per lane, bound once (a local lookup per lane, not a rule lookup)
	budget_failures_by_lane := budget.failures_by_lane
	ranks := lanes.rank
	costs := cost.lane_costs
	policy_lanes := config.policy_lanes
	preferred := quality.deterministic_lane
	some lane, non_budget in non_budget_failures
	failures := array.concat(non_budget, budget_failures_by_lane[lane])
	n := count(failures)
	evaluated_lane := {
		"lane": lane,
		"rank": ranks[lane],
		"feasible": n == 0,
		"estimatedCost": costs[lane],
		"costClass": policy_lanes[lane].costClass,
		"reasons": array.concat(
			object.get({0: ["feasible"]}, n, failures),
			{true: ["deterministic-verification-preferred"], false: []}[lane == preferred],
		),
	}
} if quality.deterministic_lane

else := {lane: evaluated_lane |
	# the tables read per lane, bound once (a local lookup per lane, not a rule lookup)
	budget_failures_by_lane := budget.failures_by_lane
	ranks := lanes.rank
	costs := cost.lane_costs
	policy_lanes := config.policy_lanes
	some lane, non_budget in non_budget_failures
	failures := array.concat(non_budget, budget_failures_by_lane[lane])
	n := count(failures)
	evaluated_lane := {
		"lane": lane,
		"rank": ranks[lane],
		"feasible": n == 0,
		"estimatedCost": costs[lane],
		"costClass": policy_lanes[lane].costClass,
		"reasons": object.get({0: ["feasible"]}, n, failures),
	}
}

# METADATA
# description: The candidate set, in candidateOrder.
candidate_set := [evaluated_lanes[lane] | # regal ignore:prefer-some-in-iteration
	# evaluation is read once, not once per lane (about 16 allocations fewer); `lane` is bound below
	evaluated_lanes := evaluation
	some lane in lanes.candidate_order
]
