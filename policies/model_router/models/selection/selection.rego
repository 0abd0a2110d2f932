# METADATA
# title: concrete model selection and governed fallback chain
# description: |
#   Picks the concrete model that serves the chosen lane or target, from the active model catalog,
#   and the ordered fallback chain (routing semantics, section 6).
#
#   REQUEST = {
#     "slots":         [{"lane", "profileRef"}]  what the decision chose (a profileRef restricts local models),
#     "fallbackSlots": [{"lane", "profileRef"}]  other lanes or targets the decision found feasible, cheapest first,
#     "taskClass":     the request's task class
#   }
#
#   Every catalog model is evaluated once: authorization first, then eligibility, then its score.
#   Eligible models are ranked by group (chosen slots, then fallback slots in order), score (highest
#   first), locality (local first) and catalog order. The first model of the chosen slots is
#   selected; every other eligible model follows as a fallback. Models of lanes the decision did
#   not admit never appear except as blocked candidates.
package model_router.models.selection

import data.model_router.models.authorization
import data.model_router.models.catalog
import data.model_router.models.eligibility
import data.model_router.models.scoring

# METADATA
# title: select
# description: |
#   The model selection for REQUEST: {"model", "fallbacks", "blockedCandidates", "deferReason",
#   "sources"}. deferReason is set when the chosen slots have catalog models but none can serve.
select(request) := {
	"model": _model(ranked, primary),
	"fallbacks": _fallbacks(ranked),
	"blockedCandidates": [{
		"modelRef": e.modelRef,
		"lane": e.lane,
		"governanceRoute": e.governanceRoute,
		"score": e.score,
		"reasons": e.reasons,
	} |
		some ref in catalog.view.order
		e := evaluated[ref]
		e.reasons != []
	],
	"deferReason": _defer_reason(ranked, primary),
	"sources": catalog.refs,
} if {
	places := placements(request)
	task_class := request.taskClass
	evaluated := {ref: evaluate(model, places[ref], task_class) | some ref, model in catalog.view.models}
	primary := [e | some e in evaluated; e.role == "primary"]
	eligible := [e | some e in evaluated; e.reasons == []]

	# the distinct scores, highest first: a model's position among them ranks it by score
	score_rank := {score: i | some i, score in array.reverse(sort({e.score | some e in eligible}))}
	keys := sort([[e.group, score_rank[e.score], object.get(_locality_rank, e.locality, 1), e.catalogIndex, e.modelRef] |
		some e in eligible
	])
	ranked := [evaluated[key[4]] | some key in keys]
}

# METADATA
# title: placements
# description: |
#   [role, group] of every catalog model for REQUEST, by modelRef: the role role_of gives and its
#   ranking group (0 for "primary", 1 + the index of the first fallback slot it serves for "fallback",
#   -1 for "none"). Only the models of the slots' lanes (the catalog's lanes view) are matched against
#   the slots; a slot whose lane is not a string is matched against every model.
placements(request) := object.union(
	{ref: ["none", -1] | some ref in catalog.view.order},
	object.union(
		{ref: ["fallback", 1 + min(served)] |
			some ref in _lane_refs(request.fallbackSlots)
			served := {i | some i, slot in request.fallbackSlots; serves(catalog.view.models[ref], slot)}
			count(served) > 0
		},
		{ref: ["primary", 0] |
			some ref in _lane_refs(request.slots)
			some slot in request.slots
			serves(catalog.view.models[ref], slot)
		},
	),
)

# the catalog models of the SLOTS' lanes
_lane_refs(slots) := {ref |
	some slot in slots
	some ref in _refs_of_lane(slot.lane)
}

_refs_of_lane(lane) := object.get(catalog.view.lanes, lane, []) if is_string(lane)

_refs_of_lane(lane) := catalog.view.order if not is_string(lane)

# METADATA
# title: evaluate
# description: |
#   One catalog model's evaluation in PLACE ([role, group], see placements) for TASK_CLASS:
#   {modelRef, lane, locality, governanceRoute, catalogIndex, role, group, score, authorized, reasons}.
evaluate(model, place, task_class) := {
	"modelRef": model.modelRef,
	"lane": object.get(model, "lane", null),
	"locality": object.get(model, "locality", null),
	"governanceRoute": object.get(model, "governanceRoute", null),
	"catalogIndex": model.catalogIndex,
	"role": place[0],
	"group": place[1],
	"score": score,
	"authorized": auth == [],
	"reasons": array.concat(array.concat(auth, fit), [code | score == null; code := "score-unavailable"]),
} if {
	auth := authorization.reasons(model, catalog.routes)
	fit := eligibility.reasons(model, place[0], task_class, catalog.route_policy)
	score := _score_or_null(model)
}

# METADATA
# title: role_of
# description: '"primary" when MODEL serves a chosen slot, "fallback" when it serves a fallback slot, else "none".'
role_of(model, request) := "primary" if {
	_serves_any(model, request.slots)
} else := "fallback" if {
	_serves_any(model, request.fallbackSlots)
} else := "none"

# METADATA
# title: serves
# description: |
#   MODEL serves SLOT when it is of the slot's lane and, for a local model when the slot names a
#   profile, runs in that local profile.
serves(model, slot) if {
	object.get(model, "lane", null) == slot.lane
	_profile_matches(model, slot)
}

_profile_matches(_, slot) if object.get(slot, "profileRef", null) == null

_profile_matches(model, _) if object.get(model, "locality", null) != "local"

_profile_matches(model, slot) if {
	object.get(model, "locality", null) == "local"
	object.get(model, "localProfileRef", null) == slot.profileRef
}

_serves_any(model, slots) if {
	some slot in slots
	serves(model, slot)
}

default _score_or_null(_) := null

_score_or_null(model) := score if {
	score := scoring.weighted_score(model, _weighted_units)
} else := scoring.score(model, catalog.route_policy)

_weighted_units := scoring.weighted_units(catalog.route_policy, catalog.score_units)

# local models rank before any other locality
_locality_rank := {"local": 0}

_model(ranked, _) := {
	"status": "selected",
	"modelRef": ranked[0].modelRef,
	"governanceRoute": ranked[0].governanceRoute,
	"score": ranked[0].score,
	"reasons": ["model-selected"],
} if ranked[0].group == 0

_model(ranked, primary) := {
	"status": "blocked",
	"modelRef": null,
	"governanceRoute": null,
	"score": null,
	"reasons": [blocked_reason(primary)],
} if not _has_selection(ranked)

_has_selection(ranked) if ranked[0].group == 0

_fallbacks(ranked) := [{"modelRef": e.modelRef, "lane": e.lane, "governanceRoute": e.governanceRoute, "score": e.score} |
	some i, e in ranked
	i > 0
] if _has_selection(ranked)

_fallbacks(ranked) := [] if not _has_selection(ranked)

# METADATA
# scope: document
# title: blocked_reason
# description: Why nothing of the chosen slots can serve, given their evaluations PRIMARY.
blocked_reason(primary) := "no-eligible-candidates" if {
	some e in primary
	e.authorized
}

blocked_reason(primary) := "no-authorized-candidates" if {
	every e in primary {
		not e.authorized
	}
}

_defer_reason(ranked, _) := null if _has_selection(ranked)

_defer_reason(ranked, primary) := blocked_reason(primary) if {
	not _has_selection(ranked)
	count(primary) > 0
}

_defer_reason(ranked, primary) := null if {
	not _has_selection(ranked)
	count(primary) == 0
}
