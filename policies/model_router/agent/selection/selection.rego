# METADATA
# title: Selection and status
# description: |
#   Chooses among feasible candidates and sets the status (routing-semantics, section 3):
#   - the model-free lane preferred for deterministic verification wins when feasible;
#   - an explicit escalation wins: a feasible requested lane with a valid escalation for it is chosen;
#   - otherwise the best feasible lane at or below the requested lane by the optimizer's tie-breakers
#     (status `selected` when it is the requested lane, `downgraded` when it ranks below);
#   - never silently upgrade: when only lanes above the requested lane are feasible, nothing is chosen
#     (`deferred`, `upgrade-requires-explicit-request:<requested>`, `suggestedLane`);
#   - no feasible candidate: the policy's `enforcement.onViolation` (`no-feasible-candidate`);
#   - an exhausted budget window denies (`budget-exhausted:<window>`, when `denyOnBudgetExhausted`);
#   - budget pressure (the lane that would win is excluded only by the budget rules) applies the
#     optimizer's `onBudgetPressure` (`budget-pressure:<window>`).
package model_router.agent.selection

import data.model_router.agent.budget
import data.model_router.agent.candidates
import data.model_router.agent.config
import data.model_router.agent.cost
import data.model_router.agent.escalation
import data.model_router.agent.lanes
import data.model_router.agent.quality
import data.model_router.agent.request
import data.model_router.agent.reserve
import data.model_router.agent.signals

_req := request.asked_lane

_selection := config.optimizer.selectionPolicy

# METADATA
# description: Candidate lanes that pass every rule.
feasible := {lane |
	some lane in lanes.candidate_order
	candidates.evaluation[lane].feasible
}

# METADATA
# description: Candidate lanes that pass every rule except the budget rules (18-19).
feasible_ignoring_budget := {lane |
	some lane in lanes.candidate_order
	count(candidates.non_budget_failures[lane]) == 0
}

# Tie-breaker values, smaller is better. Apart from `lower-cost` they depend only on whether a lane
# is local, so both vectors are computed once; "cost" marks where a lane's estimate goes.
_local_values := {
	"lower-cost": "cost", "local-first": 0, "less-context-egress": 0,
	"higher-quota-remaining": -1, "higher-provider-health": 0, "lower-latency": 0,
}

_hosted_values := {
	"lower-cost": "cost", "local-first": 1, "less-context-egress": 1,
	"higher-quota-remaining": 0 - reserve.share,
	"higher-provider-health": object.get(signals.value, "providerErrorRate", 1),
	"lower-latency": object.get(signals.value, "providerLatencyP95Ms", 0),
}

_vectors := {
	true: [value | some tie_breaker in _selection.tieBreakers; value := _local_values[tie_breaker]],
	false: [value | some tie_breaker in _selection.tieBreakers; value := _hosted_values[tie_breaker]],
}

# METADATA
# description: >-
#   The sort key of a lane: tie-breaker values in declared order (unknown tie-breakers are ignored),
#   then rank, then the lane id.
sort_key(lane) := array.concat(
	[object.get(fill, value, value) | some value in _vectors[lane in lanes.local]],
	[lanes.rank[lane], lane],
) if {
	# "cost" reads the lane's estimate; every other value stands (a lookup, not a rule call per value)
	fill := {"cost": cost.lane_micros[lane]}
}

_keys[lane] := sort_key(lane) if {
	some lane in lanes.candidate_order
}

# METADATA
# description: The best lane of a set of candidate lanes under the tie-breakers (undefined for an empty set).
best(lane_set) := lane if {
	# the usual set of one lane needs no sort key (an evaluated lane has the estimate and rank one reads)
	count(lane_set) == 1
	some lane in lane_set
	candidates.evaluation[lane]
} else := keys[0][count(keys[0]) - 1] if {
	keys := sort([key | some lane in lane_set; key := _keys[lane]])
	count(keys) > 0
}

_at_or_below(lane_set, ceiling) := {lane |
	some lane in lane_set
	lanes.rank[lane] <= lanes.rank[ceiling]
}

# METADATA
# scope: document
# description: |
#   What would be chosen from a set of feasible lanes: {lane, via} with via one of `deterministic`,
#   `escalation`, `within` (at or below the requested lane), `upgrade` (only higher lanes; nothing
#   chosen, lane is the suggestion), `cheapest` (nothing requested) or `none`.
default plan(_) := {"lane": null, "via": "none"}

plan(lane_set) := {"lane": lane, "via": "deterministic"} if {
	lane := quality.deterministic_lane
	lane_set[lane]
} else := {"lane": _req, "via": "escalation"} if {
	lane_set[_req]
	escalation.valid_for(_req)
} else := {"lane": lane, "via": "within"} if {
	_req != null
	lane := best(_at_or_below(lane_set, _req))
} else := {"lane": lane, "via": "upgrade"} if {
	_req != null
	_selection.neverSilentlyUpgrade == true
	lane := best(lane_set)
} else := {"lane": lane, "via": "cheapest"} if {
	lane := best(lane_set)
}

_violation_status := {"deny": "denied", "defer": "deferred", "quarantine": "quarantined"}

# METADATA
# description: The status for "no feasible candidate" under the policy's enforcement.onViolation (denied when unknown).
no_feasible_status := object.get(_violation_status, config.policy.enforcement.onViolation, "denied")

_outcome(lane, status, reasons, suggested, human) := {
	"lane": lane,
	"status": status,
	"reasons": reasons,
	"suggestedLane": suggested,
	"requiresHumanApproval": human,
}

_downgrade_reason := [sprintf("requested-lane-not-optimal-or-feasible:%s", [_req]) | _req != null]

_unconstrained := plan(feasible_ignoring_budget)

_p := plan(feasible)

# METADATA
# description: The budget window under pressure, when the lane that would win is excluded only by budget rules.
pressure_window := budget.failed_windows[_unconstrained.lane][0] if {
	_unconstrained.via != "upgrade"
	not feasible[_unconstrained.lane]
}

_cheaper_lanes contains lane if {
	some lane in feasible
	lanes.rank[lane] < lanes.rank[_unconstrained.lane]
}

_cheaper_than_unconstrained := best(_cheaper_lanes)

default _cheaper_or_null := null

_cheaper_or_null := best(_cheaper_lanes)

_pressure_actions := {"downgrade", "deny", "defer", "require-human-approval"}

default _on_pressure := "deny"

# An unknown onBudgetPressure value denies (fail closed).
_on_pressure := action if {
	action := config.optimizer.budgetPolicy.onBudgetPressure
	action in _pressure_actions
}

_pressure_reason := sprintf("budget-pressure:%s", [pressure_window])

_pressure_outcome("downgrade") := _outcome(
	_cheaper_than_unconstrained,
	"downgraded",
	array.concat([_pressure_reason], _downgrade_reason),
	null,
	false,
)

_pressure_outcome("downgrade") := _outcome(null, no_feasible_status, ["no-feasible-candidate", _pressure_reason], null, false) if {
	not _cheaper_than_unconstrained
}

_pressure_outcome("deny") := _outcome(null, "denied", [_pressure_reason], null, false)

_pressure_outcome("defer") := _outcome(null, "deferred", [_pressure_reason], _cheaper_or_null, false)

_pressure_outcome("require-human-approval") := _outcome(null, "deferred", [_pressure_reason], _unconstrained.lane, true)

_below_requested(lane) if lanes.rank[lane] < lanes.rank[_req]

_status_for(lane) := "downgraded" if _below_requested(lane)

_status_for(lane) := "selected" if not _below_requested(lane)

_plain_outcome("deterministic") := _outcome(
	_p.lane, _status_for(_p.lane), array.concat(
		[r | some r in _downgrade_reason; _status_for(_p.lane) == "downgraded"],
		["deterministic-verification-preferred"],
	),
	null, false,
)

# the usual outcomes are written out (no second call)
_plain_outcome("escalation") := {
	"lane": _p.lane, "status": "selected", "reasons": ["escalation-accepted"],
	"suggestedLane": null, "requiresHumanApproval": false,
}

_plain_outcome("within") := {
	"lane": _p.lane, "status": "selected", "reasons": ["selected-cheapest-feasible"],
	"suggestedLane": null, "requiresHumanApproval": false,
} if {
	_p.lane == _req
} else := {
	"lane": _p.lane, "status": "downgraded", "reasons": _downgrade_reason,
	"suggestedLane": null, "requiresHumanApproval": false,
}

_plain_outcome("upgrade") := _outcome(null, "deferred", [sprintf("upgrade-requires-explicit-request:%s", [_req])], _p.lane, false)

_plain_outcome("cheapest") := {
	"lane": _p.lane, "status": "selected", "reasons": ["selected-cheapest-feasible"],
	"suggestedLane": null, "requiresHumanApproval": false,
}

_plain_outcome("none") := {
	"lane": null, "status": no_feasible_status, "reasons": ["no-feasible-candidate"],
	"suggestedLane": null, "requiresHumanApproval": false,
}

# METADATA
# description: The selection outcome {lane, status, reasons, suggestedLane, requiresHumanApproval}.
outcome := _outcome(null, "denied", [sprintf("budget-exhausted:%s", [w]) | some w in budget.exhausted], null, false) if {
	config.optimizer.enforcement.denyOnBudgetExhausted == true
	count(budget.exhausted) > 0
} else := _pressure_outcome(_on_pressure) if {
	pressure_window
} else := _plain_outcome(_p.via)
