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
#   Every catalog model is judged once: authorization first, then eligibility, then its score (read
#   from the precomputed model_router.models.tables when model_router.models.entries.current says they
#   are current, else evaluated here; from the tables a one-lane request without profile or fallbacks
#   reads its stored result, and one naming no profile its lanes' stored pieces when each lane's models
#   are contiguous in catalog order).
#   Eligible models are ranked by group (chosen slots, then fallback slots in order), score (highest
#   first), locality (local first) and catalog order. The first model of the chosen slots is
#   selected; the next eligible models follow as fallbacks (at most limits.fallbacks of them). Models
#   of lanes the decision did not admit never appear except as blocked candidates.
package model_router.models.selection

import data.model_router.models.authorization
import data.model_router.models.catalog
import data.model_router.models.eligibility
import data.model_router.models.entries

# METADATA
# title: select
# description: |
#   The model selection for REQUEST: {"model", "fallbacks", "fallbacksOmitted", "blockedCandidates",
#   "blockedCandidatesOmitted", "blockedReasonCounts", "deferReason", "sources"}. deferReason is set
#   when the chosen slots have catalog models but none can serve. At most limits.fallbacks fallbacks
#   and limits.blockedPerLane blocked candidates per lane are listed (catalog.limits); the rest is
#   counted. The selection is read lane by lane from the precomputed tables when the request names no
#   profile and the catalog's lanes are contiguous (tables.lane_tables), else made from candidates:
#   from the tables when they cover the request, else from evaluating every catalog model. All give
#   the same selection.
select(request) := picked if {
	picked := _lane_select(request, entries.current)
} else := finish(candidates(request), catalog.limits)

# the selection of REQUEST from the lane pieces of TABLE (model_router.models.tables.lane_tables) when
# it names no profile and the catalog's lanes are contiguous: each lane the request admits is read in
# its role, every other lane as role "none" (noneListed, noneReasonCounts); undefined otherwise
_lane_select(request, table) := _finish(ranked, found, object.get(catalog.limits, "fallbacks", count(ranked)), listed) if {
	table.lanesContiguous == true
	not _names_a_profile(request)
	task := table.byRequirement[table.tasks[request.taskClass]]
	places := _lane_places(request)
	chosen := {lane: piece | some lane, place in places; piece := task.pieces[lane][place[0]]}
	ranked := sort([[places[lane][1], e[0], e[1]] | some lane, piece in chosen; some e in piece.eligible])
	listed := [shown | some [lane, none_listed] in task.noneListed; some shown in object.get(chosen, [lane, "listed"], none_listed)]
	eligible_count := sum([piece.eligibleCount | some piece in chosen])
	primary := [piece | some lane, piece in chosen; places[lane][0] == "primary"]
	found := {
		"eligibleCount": eligible_count,
		"blockedCount": table.modelCount - eligible_count,
		"reasonCounts": _reason_counts(task.noneReasonCounts, [piece.countChange | some piece in chosen; piece.countChange != {}]),
		"primaryCount": sum([piece.count | some piece in primary]),
		"primaryAuthorized": sum([piece.authorized | some piece in primary]),
	}
}

# [role, group] of each lane REQUEST names when no slot names a profile (see placements)
_lane_places(request) := object.union(
	{lane: ["fallback", 1 + min(served)] |
		some lane in {slot.lane | some slot in request.fallbackSlots}
		served := {i | some i, slot in request.fallbackSlots; slot.lane == lane}
	},
	{slot.lane: ["primary", 0] | some slot in request.slots},
)

# METADATA
# title: solo
# description: |
#   The stored {fields, deferReason} of REQUEST (model_router.models.tables.solo: the fields
#   model_router.models.wiring merges into the decision for select(REQUEST)) when REQUEST's only slot
#   is one lane naming no profile, it has no fallback slots and the tables are current; undefined
#   otherwise.
solo(request) := entries.current.byRequirement[entries.current.tasks[request.taskClass]].solo[slot.lane] if {
	request.fallbackSlots == []
	[slot] := request.slots
	object.get(slot, "profileRef", null) == null
}

# METADATA
# title: uncapped
# description: The selection for REQUEST with every fallback and every blocked candidate listed (no limits).
uncapped(request) := finish(evaluated_candidates(request), {})

# METADATA
# title: candidates
# description: |
#   What the selection is made from, for REQUEST: {eligible ({group: slot group, rank, view}),
#   eligibleCount, blocked ({rank, lane, catalogIndex, shown: view with reasons}, to be limited per
#   lane), blockedFinal ([catalogIndex, shown] pairs already limited), blockedCount, reasonCounts,
#   primaryCount, primaryAuthorized}.
#   From the tables (table_candidates) when they hold the request's task class, else evaluated_candidates.
candidates(request) := found if {
	found := table_candidates(request, entries.current)
} else := evaluated_candidates(request)

# METADATA
# title: evaluated_candidates
# description: The candidates of REQUEST from evaluating every catalog model (see candidates).
evaluated_candidates(request) := {
	"eligible": [{"group": e.group, "rank": entries.rank_key(e, ranks), "view": entries.view(e)} | some e in evaluated; e.reasons == []],
	"eligibleCount": count([1 | some e in evaluated; e.reasons == []]),
	"blocked": [entries.shown(object.union(e, {"rank": entries.rank_key(e, ranks), "view": entries.view(e)}), e.reasons) | some e in blocked],
	"blockedFinal": [],
	"blockedCount": count(blocked),
	"reasonCounts": entries.reason_counts([e.reasons | some e in blocked]),
	"primaryCount": count(primary),
	"primaryAuthorized": count([1 | some e in primary; e.authorized]),
} if {
	places := placements(request)
	task_class := request.taskClass
	evaluated := {ref: evaluate(model, places[ref], task_class) | some ref, model in catalog.view.models}
	primary := [e | some e in evaluated; e.role == "primary"]
	blocked := [e | some e in evaluated; e.reasons != []]
	ranks := entries.score_ranks([e.score | some e in evaluated])
}

# METADATA
# title: table_candidates
# description: |
#   The candidates of REQUEST read from TABLES (model_router.models.tables). Only the model groups of
#   the lanes the request's slots name are looked at: a group's role for the request decides whether
#   its eligible models count (and its blocked ones with their own reasons), or every model of it is
#   blocked with the role's reasons added. The models of every other lane are blocked with
#   lane-mismatch, as the tables already list and count them (blockedFinal, noneReasonCounts).
#   Undefined when the tables hold no cells for the request's task class.
table_candidates(request, table) := {
	"eligible": [{"group": part.place[1], "rank": e.rank, "view": e.view} |
		some part in parts
		part.extra == []
		some e in part.cell.eligible
	],
	"eligibleCount": eligible_count,
	"blocked": _table_blocked(parts),
	"blockedFinal": [e |
		some [lane, entries] in task.noneBlocked
		not lane in lanes
		some e in entries
	],
	"blockedCount": table.modelCount - eligible_count,
	"reasonCounts": _reason_counts(task.noneReasonCounts, [change | some part in parts; change := _count_change(part); change != {}]),
	"primaryCount": sum([group.count | some group in primary]),
	"primaryAuthorized": sum([group.authorized | some group in primary]),
} if {
	task := table.byRequirement[table.tasks[request.taskClass]]
	lanes := {slot.lane | some slot in array.concat(request.slots, request.fallbackSlots)}
	parts := _parts(table, task, request, lanes)
	eligible_count := sum([part.cell.eligibleCount | some part in parts; part.extra == []])
	primary := [part.group | some part in parts; part.place[0] == "primary"]
}

# the groups of the LANES with their cells and their place for REQUEST. When no slot names a local
# profile a group's place depends on its lane alone: one lookup per group instead of matching it
# against every slot (a catalog whose lanes are contiguous takes _lane_select before this)
_parts(table, task, request, lanes) := [_part(table.groups[i], task.cells[i], request) |
	some [lane, indices] in table.laneGroups
	lane in lanes
	some i in indices
] if {
	_names_a_profile(request)
} else := [part |
	some [lane, indices] in table.laneGroups
	lane in lanes
	place := places[lane]
	some i in indices
	group := table.groups[i]
	part := {"group": group, "cell": task.cells[i], "place": place, "extra": group.roleReasons[place[0]]}
] if {
	places := _lane_places(request)
}

_names_a_profile(request) if object.get(request.slots[_], "profileRef", null) != null

_names_a_profile(request) if object.get(request.fallbackSlots[_], "profileRef", null) != null

# the blocked candidates of the groups PARTS: a group the request admits shows its own blocked
# models, any other every model with the role's reasons added
_table_blocked(parts) := array.concat(
	[e | some part in parts; part.extra == []; some e in part.cell.blocked],
	[entries.shown(e, entries.reasons_with(e.base, part.extra, e.view.score)) |
		some part in parts
		part.extra != []
		some e in part.cell.all
	],
)

# a group (model_router.models.tables) has the lane, locality and localProfileRef serves() reads
_part(group, cell, request) := {"group": group, "cell": cell, "place": place, "extra": group.roleReasons[place[0]]} if {
	place := _place(group, request)
}

# the reason counts COUNTS (those of role "none") with the CHANGES of the request's groups added: only
# the codes a change names are summed again (entries.sum_counts of all of them gives the same: no
# count is negative, and codes that come to 0 are left out)
_reason_counts(counts, []) := counts

_reason_counts(counts, changes) := object.remove(object.union(counts, changed), {code | some code, n in changed; n == 0}) if {
	changes != []
	changed := {code: total |
		some code in {code | some change in changes; some code, _ in change}
		total := object.get(counts, code, 0) + sum([n | some change in changes; n := change[code]])
	}
}

# how the reason counts of PART's group differ from those of role "none" (which noneReasonCounts holds):
# the role's own reasons replace those of "none" (the two are never the same codes when they differ)
_count_change(part) := {} if part.extra == part.group.roleReasons.none

_count_change(part) := object.union(
	{code: removed | some code in part.group.roleReasons.none; removed := 0 - part.group.count},
	{code: part.group.count | some code in part.extra},
) if {
	part.extra != part.group.roleReasons.none
}

# [role, group] of MODEL for REQUEST (see placements)
_place(model, request) := ["primary", 0] if {
	_serves_any(model, request.slots)
} else := ["fallback", 1 + min(served)] if {
	served := {i | some i, slot in request.fallbackSlots; serves(model, slot)}
	count(served) > 0
} else := ["none", -1]

# METADATA
# title: finish
# description: |
#   The selection from CANDIDATES (see candidates) under LIMITS: eligible models ranked by slot group,
#   score (highest first), locality (local first) and catalog order; the first of the chosen slots is
#   selected and the next limits.fallbacks follow as fallbacks; per lane the limits.blockedPerLane
#   highest-scoring blocked candidates are listed, in catalog order.
finish(found, limits) := _finish(ranked, found, fallback_cap, listed) if {
	ranked := sort([[e.group, e.rank, e.view] | some e in found.eligible])
	fallback_cap := object.get(limits, "fallbacks", count(ranked))
	picked := array.concat(
		[[e.catalogIndex, e.shown] | some e in _listed(found.blocked, object.get(limits, "blockedPerLane", count(found.blocked)))],
		found.blockedFinal,
	)
	listed := [pair[1] | some pair in sort(picked)]
}

# a model of the chosen slots ranks first: it is selected, the next ones are the fallbacks
_finish(ranked, found, fallback_cap, listed) := {
	"model": {
		"status": "selected",
		"modelRef": ranked[0][2].modelRef,
		"governanceRoute": ranked[0][2].governanceRoute,
		"score": ranked[0][2].score,
		"reasons": ["model-selected"],
	},
	"fallbacks": fallbacks,
	"fallbacksOmitted": (found.eligibleCount - 1) - count(fallbacks),
	"blockedCandidates": listed,
	"blockedCandidatesOmitted": found.blockedCount - count(listed),
	"blockedReasonCounts": found.reasonCounts,
	"deferReason": null,
	"sources": catalog.refs,
} if {
	ranked[0][0] == 0
	fallbacks := [e[2] | some e in array.slice(ranked, 1, 1 + fallback_cap)]
}

# nothing of the chosen slots can serve: no model, no fallbacks; deferred when the chosen slots have models
_finish(ranked, found, _, listed) := {
	"model": {
		"status": "blocked",
		"modelRef": null,
		"governanceRoute": null,
		"score": null,
		"reasons": [reason],
	},
	"fallbacks": [],
	"fallbacksOmitted": 0,
	"blockedCandidates": listed,
	"blockedCandidatesOmitted": found.blockedCount - count(listed),
	"blockedReasonCounts": found.reasonCounts,
	"deferReason": object.get({true: reason}, found.primaryCount > 0, null),
	"sources": catalog.refs,
} if {
	not ranked[0][0] == 0
	reason := blocked_reason(found)
}

# the blocked candidates to list: per lane the CAP best by rank (score, local first, catalog order)
# (no lane can have more than CAP when all of them together do not: nothing to rank)
_listed(blocked, cap) := blocked if count(blocked) <= cap

_listed(blocked, cap) := [blocked[i] | some i in kept] if {
	count(blocked) > cap
	kept := {row[1] |
		some lane in {e.lane | some e in blocked}
		lane_rows := sort([[e.rank, i] | some i, e in blocked; e.lane == lane])
		some j, row in lane_rows
		j < cap
	}
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
	score := entries.score_of(model)
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

# METADATA
# scope: document
# title: blocked_reason
# description: |
#   Why nothing of the chosen slots can serve, given the candidates FOUND: no-eligible-candidates when
#   some model of the chosen slots is authorized, else no-authorized-candidates.
blocked_reason(found) := "no-eligible-candidates" if found.primaryAuthorized > 0

blocked_reason(found) := "no-authorized-candidates" if found.primaryAuthorized == 0
