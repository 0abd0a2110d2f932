# METADATA
# title: model selection wired into both decision families
# description: |
#   Turns a lane decision (AgentExecutionRouteDecision) or a local-personal decision
#   (LocalPersonalRouteDecision) into a model selection request and returns the fields the
#   dispatcher merges into the decision: model, fallbacks, fallbacksOmitted, blockedCandidates,
#   blockedCandidatesOmitted, blockedReasonCounts, modelSelection and,
#   when the chosen lane or target has catalog models but none can serve, a `selected` override to
#   `deferred` with reason no-authorized-candidates or no-eligible-candidates.
#
#   Agent decisions: the chosen lane is selected.lane (status selected or downgraded); a lane whose
#   cost class is `none` needs no model. Fallback lanes are the other candidateSet lanes marked
#   feasible, cheapest estimate first (then rank). resources.localProfileRef, when given, restricts
#   local models to that profile.
#   Personal decisions: the chosen target (status selected or fallback) maps to lanes through the
#   route policy's targetLanes; a local target's profileRef restricts local models to its profile.
#   Fallback targets are the other admissible targets, in the order the decision tried them.
package model_router.models.wiring

import data.model_router.models.catalog
import data.model_router.models.selection

_no_model := {
	"model": null,
	"fallbacks": [],
	"fallbacksOmitted": 0,
	"blockedCandidates": [],
	"blockedCandidatesOmitted": 0,
	"blockedReasonCounts": {},
	"modelSelection": catalog.refs,
}

# METADATA
# scope: document
# title: with_model
# description: |
#   DECISION with the model selection merged in: object.union(decision, for_decision(decision)).
#   Anything that is not an object (a stub, an undefined family result) is returned unchanged.
with_model(decision) := object.union(decision, for_decision(decision)) if {
	is_object(decision)
} else := decision

# METADATA
# scope: document
# title: for_decision
# description: |
#   The fields to merge into DECISION. model is null when the decision chose nothing or chose a lane
#   that needs no model. When no model catalog, route policy or authorization mirror is active the
#   result is {} (model selection is not configured, the decision is left as it is).
for_decision(decision) := stored.fields if {
	catalog.configured
	stored := selection.solo(request(decision))
	stored.deferReason == null
} else := object.union(fields, _override(decision, picked.deferReason)) if {
	catalog.configured
	picked := selection.select(request(decision))

	# the object of fields(picked) written out: a call here costs every decision on this path about
	# 80 allocations (opa bench, personal-router-healthy-laptop)
	fields := {
		"model": picked.model,
		"fallbacks": picked.fallbacks,
		"fallbacksOmitted": picked.fallbacksOmitted,
		"blockedCandidates": picked.blockedCandidates,
		"blockedCandidatesOmitted": picked.blockedCandidatesOmitted,
		"blockedReasonCounts": picked.blockedReasonCounts,
		"modelSelection": picked.sources,
	}
} else := _no_model if {
	catalog.configured
} else := {}

# METADATA
# title: fields
# description: |
#   The fields of the selection PICKED (selection.select) that a decision carries: model, fallbacks,
#   fallbacksOmitted, blockedCandidates, blockedCandidatesOmitted, blockedReasonCounts and
#   modelSelection (the selection's sources).
fields(picked) := {
	"model": picked.model,
	"fallbacks": picked.fallbacks,
	"fallbacksOmitted": picked.fallbacksOmitted,
	"blockedCandidates": picked.blockedCandidates,
	"blockedCandidatesOmitted": picked.blockedCandidatesOmitted,
	"blockedReasonCounts": picked.blockedReasonCounts,
	"modelSelection": picked.sources,
}

# METADATA
# scope: document
# title: uncapped
# description: |
#   Every fallback and every blocked candidate of DECISION (a family decision before the model part
#   is merged in, e.g. data.model_router.agent.decision.result), with none left out:
#   {"fallbacks", "blockedCandidates", "blockedReasonCounts"}; {} when DECISION needs no model or
#   model selection is not configured. Evaluates every catalog model: for explanations, not for
#   every decision.
default uncapped(_) := {}

uncapped(decision) := {
	"fallbacks": picked.fallbacks,
	"blockedCandidates": picked.blockedCandidates,
	"blockedReasonCounts": picked.blockedReasonCounts,
} if {
	catalog.configured
	picked := selection.uncapped(request(decision))
}

# METADATA
# scope: document
# title: request
# description: The model selection request for DECISION; undefined when no model is needed.
request(decision) := {
	"slots": [{"lane": lane, "profileRef": profile}],
	"fallbackSlots": [{"lane": key[2], "profileRef": profile} | some key in keys],
	"taskClass": object.get(object.get(decision, "input", {}), "taskClass", null),
} if {
	decision.kind == "AgentExecutionRouteDecision"
	decision.selected.status in {"selected", "downgraded"}
	lane := decision.selected.lane
	is_string(lane)
	object.get(decision.selected, "costClass", null) != "none"
	profile := object.get(object.get(decision, "resources", {}), "localProfileRef", null)
	keys := sort([[candidate.estimatedCost, candidate.rank, candidate.lane] |
		some candidate in object.get(decision, "candidateSet", [])
		candidate.feasible == true
		candidate.lane != lane
	])
}

request(decision) := {
	"slots": _target_slots(target, object.get(decision.selected, "profileRef", null)),
	"fallbackSlots": [slot |
		some tried in object.get(decision, "targets", [])
		tried.admissible == true
		not _same_target(tried, decision.selected)
		some slot in _target_slots(tried.target, object.get(tried, "profileRef", null))
	],
	"taskClass": object.get(object.get(decision, "input", {}), "taskClass", null),
} if {
	decision.kind == "LocalPersonalRouteDecision"
	decision.selected.status in {"selected", "fallback"}
	target := decision.selected.target
	is_string(target)
}

_target_slots(target, profile) := [{"lane": lane, "profileRef": profile} |
	some lane in object.get(catalog.route_policy.targetLanes, target, [])
]

_same_target(tried, selected) if {
	tried.target == selected.target
	object.get(tried, "profileRef", null) == object.get(selected, "profileRef", null)
}

_override(_, null) := {}

_override(decision, reason) := {"selected": {
	"lane": null,
	"suggestedLane": decision.selected.lane,
	"status": "deferred",
	"reason": reason,
	"reasons": array.concat([reason], object.get(decision.selected, "reasons", [])),
}} if {
	is_string(reason)
	decision.kind == "AgentExecutionRouteDecision"
}

_override(decision, reason) := {
	"selected": {
		"target": null,
		"profileRef": null,
		"status": "deferred",
		"reason": reason,
		"reasons": array.concat([reason], object.get(decision.selected, "reasons", [])),
	},
	"egress": {"allowed": false},
} if {
	is_string(reason)
	decision.kind == "LocalPersonalRouteDecision"
}
