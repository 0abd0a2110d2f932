# METADATA
# title: request-independent model tables
# description: |
#   Everything about the catalog models that does not depend on the request, computed once when the
#   policy data is assembled (router.policy_data evaluates `build` with `opa eval` and stores the result
#   as data.model_router_data.modelTables), so that a decision reads a few short lists instead of
#   evaluating every catalog model.
#
#   Models are put in groups that every request treats alike: same lane, same locality and, for a
#   local model, the same local profile (model_router.models.selection.serves reads nothing else).
#   For every group and every task class of the route policy's taskRequirements a cell holds:
#   - eligible: the best eligible models (score, then local first, then catalog order), at most
#     1 + limits.fallbacks of them, and eligibleCount;
#   - blocked: the best models with a reason, at most limits.blockedPerLane, each with its reasons;
#   - all: the best models of the group whatever their reasons (for a request that admits none of
#     the group), each with the reasons of base_reasons;
#   - reasonCounts: how many models of the group have each reason.
#   The reasons that depend on the request (model_router.models.eligibility.role_reasons) are added
#   by the selection, through model_router.models.entries.current (the stored table when it was built
#   from the documents in force).
#   Per task class (lane_tables) the tables also hold what a request that names no profile reads lane
#   by lane (every lane in each role, the lists of the lanes it does not admit) and, for a request of
#   one lane and no fallbacks, the whole result (solo).
#
#   `agent` holds what agent-execution decisions derive from the active routing policy, optimizer
#   and price catalog alone (prices in pico-units, window maxSpend and tier ceilings in micro-dollars,
#   reason codes); model_router.agent.config.tables is the stored one when it was built from the
#   documents in force.
package model_router.models.tables

import data.model_router.agent.budget
import data.model_router.agent.config
import data.model_router.agent.cost
import data.model_router.agent.decision
import data.model_router.agent.lanes
import data.model_router.models.authorization
import data.model_router.models.catalog
import data.model_router.models.eligibility
import data.model_router.models.entries
import data.model_router.models.selection
import data.model_router.models.wiring

# METADATA
# title: build
# description: |
#   The tables for the documents in force: {digests (entries.digests), modelCount, limits, groups: [{lane, locality,
#   localProfileRef, count, authorized, roleReasons}], laneGroups: [[lane, [group index, ...]], ...],
#   tasks: {taskClass: index in byRequirement}, byRequirement: [{required, cells: [cell per group, in
#   the order of groups], noneBlocked: [[lane, [candidate, ...]], ...], noneReasonCounts}]}: task
#   classes that require the same tasks share one entry. noneBlocked and noneReasonCounts are what the
#   decision lists and counts for the models of a lane it does not admit (role "none"); each entry also
#   holds solo, noneListed and pieces (lane_tables); lanesContiguous says whether each lane's models
#   sit together in catalog order (the selection reads the pieces only then); and agent (see agent)
#   when the agent-execution documents are configured.
build := object.union(_models, _agent_entry)

default _agent_entry := {}

_agent_entry := {"agent": agent}

_models := {
	"digests": entries.digests,
	"modelCount": count(catalog.view.models),
	"limits": catalog.limits,
	"groups": groups,
	"laneGroups": [[lane, [i | some i, group in groups; group.lane == lane]] | some lane in {group.lane | some group in groups}],
	"tasks": {task_class: i |
		some task_class, _ in catalog.route_policy.taskRequirements
		some i, required in requirements
		required == eligibility.required_tasks(task_class, catalog.route_policy)
	},
	"byRequirement": [object.union(task_table(groups, required), lane_tables(task_table(groups, required), groups, required)) |
		some required in requirements
	],
	"lanesContiguous": lanes_contiguous,
} if {
	groups := [_group(key, _members[key]) | some key in _group_keys]
	requirements := sort({eligibility.required_tasks(task_class, catalog.route_policy) |
		some task_class, _ in catalog.route_policy.taskRequirements
	})
}

# METADATA
# title: task_table
# description: The cells of every group for the REQUIRED tasks and what a decision shows of the groups it does not admit.
task_table(groups, required) := {
	"required": required,
	"cells": cells,
	"noneBlocked": [[lane, _top_blocked(lane_entries)] |
		some lane in {group.lane | some group in groups}
		lane_entries := [entries.shown(e, entries.reasons_with(e.base, groups[i].roleReasons.none, e.view.score)) |
			some i, group in groups
			group.lane == lane
			some e in cells[i].all
		]
	],
	"noneReasonCounts": entries.sum_counts([object.union(cells[i].reasonCounts, {code: group.count | some code in group.roleReasons.none}) |
		some i, group in groups
	]),
} if {
	cells := [cell(_members[[group.lane, group.locality, group.localProfileRef]], required) | some group in groups]
}

# METADATA
# title: solo
# description: |
#   What a decision merges in (model_router.models.wiring.fields, and the deferReason of the selection)
#   for a request of the REQUIRED tasks whose only slot is one lane and names no profile and that has
#   no fallback slots, by lane (every lane of the catalog): {lane: {fields, deferReason}}, the
#   selection made under catalog.limits. The commonest request is then one table lookup. Evaluated
#   for a task class that requires REQUIRED (the selection reads the task class only through the tasks
#   it requires).
solo(required) := {lane: {"fields": wiring.fields(picked), "deferReason": picked.deferReason} |
	some lane, _ in catalog.view.lanes
	request := {"slots": [{"lane": lane, "profileRef": null}], "fallbackSlots": [], "taskClass": task_class}
	picked := selection.finish(selection.evaluated_candidates(request), catalog.limits)
} if {
	task_class := min({task_class |
		some task_class, _ in catalog.route_policy.taskRequirements
		eligibility.required_tasks(task_class, catalog.route_policy) == required
	})
}

# METADATA
# scope: document
# title: lanes_contiguous
# description: |
#   True when every catalog model has a lane (a string) and the models of each lane are next to one
#   another in catalog order: a decision's blocked candidates, listed in catalog order, are then its
#   lanes' lists one after another (see lane_tables).
default lanes_contiguous := false

lanes_contiguous if {
	every model in catalog.view.models {
		is_string(object.get(model, "lane", null))
	}
	every _, refs in catalog.view.lanes {
		indices := [catalog.view.models[ref].catalogIndex | some ref in refs]
		(max(indices) - min(indices)) + 1 == count(indices)
	}
}

# the catalog's lanes in catalog order (of their first model)
_lane_order := [row[1] | some row in sort({[min(indices), lane] |
	some lane, refs in catalog.view.lanes
	indices := [catalog.view.models[ref].catalogIndex | some ref in refs]
})]

# METADATA
# title: lane_tables
# description: |
#   What a request that names no profile reads of TASK (task_table of GROUPS for the REQUIRED tasks);
#   always built, read only when lanes_contiguous, except solo: solo (see solo); noneListed: [[lane, [shown, ...]], ...] in catalog order,
#   the candidates a decision lists of a lane it does not admit, in catalog order; pieces: {lane:
#   {role: piece}} for roles "primary" and "fallback", what a decision reads of a lane it admits in
#   that role (lane_piece).
lane_tables(task, groups, required) := {
	"solo": solo(required),
	"noneListed": [[lane, [pair[1] | some pair in sort(pairs)]] |
		some lane in _lane_order
		some [lane_key, pairs] in task.noneBlocked
		lane_key == lane
	],
	"pieces": {lane: {role: lane_piece(task.cells, groups, lane, role) | some role in ["primary", "fallback"]} |
		some lane, _ in catalog.view.lanes
	},
}

# METADATA
# title: lane_piece
# description: |
#   What a decision reads of LANE when it admits the lane in ROLE, from the CELLS of the GROUPS:
#   {eligible: [[rank, view], ...] best first (at most eligible_cap), eligibleCount, listed: the
#   blocked candidates it lists of the lane (the blocked_cap best, in catalog order), count and
#   authorized (models of the lane), countChange: how the lane's reason counts differ from those of
#   role "none" (noneReasonCounts)}. A group whose role reasons are empty shows its own eligible and
#   blocked models, any other every model with the role's reasons added.
lane_piece(cells, groups, lane, role) := {
	"eligible": array.slice(eligible_rows, 0, eligible_cap(count(eligible_rows))),
	"eligibleCount": sum([cells[i].eligibleCount | some i in admitted]),
	"listed": [pair[1] | some pair in sort(_top_blocked(blocked))],
	"count": sum([groups[i].count | some i in members]),
	"authorized": sum([groups[i].authorized | some i in members]),
	"countChange": {code: total |
		some code in {code | some change in changes; some code, _ in change}
		total := sum([n | some change in changes; n := change[code]])
	},
} if {
	members := [i | some i, group in groups; group.lane == lane]
	admitted := [i | some i in members; groups[i].roleReasons[role] == []]
	eligible_rows := sort([[e.rank, e.view] | some i in admitted; some e in cells[i].eligible])
	blocked := array.concat(
		[e | some i in admitted; some e in cells[i].blocked],
		[entries.shown(e, entries.reasons_with(e.base, groups[i].roleReasons[role], e.view.score)) |
			some i in members
			groups[i].roleReasons[role] != []
			some e in cells[i].all
		],
	)
	changes := [_count_change(groups[i], groups[i].roleReasons[role]) | some i in members]
}

# how the reason counts of GROUP differ from those of role "none" when its role reasons are EXTRA, the
# reasons of role "primary" or "fallback" (which never hold lane-mismatch, the reason of role "none"):
# the role's own reasons replace those of "none"
_count_change(group, extra) := object.union(
	{code: removed | some code in group.roleReasons.none; removed := 0 - group.count},
	{code: group.count | some code in extra},
)

# the blocked_cap best of ENTRIES (one lane's blocked candidates) as [catalogIndex, shown] pairs
_top_blocked(entries) := [[e.catalogIndex, e.shown] | some row in array.slice(rows, 0, blocked_cap(count(rows))); e := entries[row[1]]] if {
	rows := sort([[e.rank, i] | some i, e in entries])
}

# METADATA
# title: group_key
# description: '[lane, locality, local profile or null]: the fields of MODEL that decide which slots it serves.'
group_key(model) := [lane, locality, profile] if {
	lane := object.get(model, "lane", null)
	locality := object.get(model, "locality", null)
	profile := _profile(model, locality)
}

_profile(model, "local") := object.get(model, "localProfileRef", null)

_profile(_, locality) := null if locality != "local"

_group_keys := sort({group_key(model) | some model in catalog.view.models})

_members[key] := [_facts[ref] |
	some ref in catalog.view.order
	_facts[ref].key == key
] if {
	some key in _group_keys
}

# every catalog model's fact, with what the cells read: its group key, authorization and static
# reasons, the tasks it supports, its rank among all catalog models (rank_key) and its view
_facts[ref] := object.union(known, {
	"key": group_key(model),
	"authorization": authorization.reasons(model, catalog.routes),
	"static": eligibility.static_reasons(model, catalog.route_policy),
	"supportedTasks": object.get(model, "supportedTasks", []),
	"rank": entries.rank_key(known, _ranks),
	"view": entries.view(known),
}) if {
	some ref, model in catalog.view.models
	known := fact(model)
}

_scores[ref] := entries.score_of(model) if some ref, model in catalog.view.models

_ranks := entries.score_ranks([score | some score in _scores])

_group(key, members) := {
	"lane": key[0],
	"locality": key[1],
	"localProfileRef": key[2],
	"count": count(members),
	"authorized": count([1 | some member in members; member.authorization == []]),
	"roleReasons": {role: eligibility.role_reasons({"locality": key[1]}, role, catalog.route_policy) |
		some role in ["primary", "fallback", "none"]
	},
}

# METADATA
# title: fact
# description: |
#   What the decision shows of MODEL and what ranks it: {modelRef, lane, locality, governanceRoute,
#   catalogIndex, score (null when it cannot be computed)}.
fact(model) := {
	"modelRef": model.modelRef,
	"lane": object.get(model, "lane", null),
	"locality": object.get(model, "locality", null),
	"governanceRoute": object.get(model, "governanceRoute", null),
	"catalogIndex": model.catalogIndex,
	"score": entries.score_of(model),
}

# METADATA
# title: base_reasons
# description: |
#   The reasons of MEMBER (one of the facts the cells read) that hold whatever the request, when
#   REQUIRED are the tasks the request's task class requires: authorization, then the eligibility
#   checks that do not depend on the model's role (as eligibility.fit_reasons orders them).
base_reasons(member, required) := array.concat(
	member.authorization,
	array.concat(eligibility.task_reasons(member, required), member.static),
)

# METADATA
# title: cell
# description: |
#   The cell of one group (MEMBERS, facts in catalog order) for the REQUIRED tasks (see the package
#   description). Entries: eligible {rank, view}; blocked {rank, lane, catalogIndex, shown: the view
#   with its reasons}; all {rank, lane, catalogIndex, view, base}.
cell(members, required) := {
	"eligible": [{"rank": e.rank, "view": e.view} | some e in array.slice(eligible_rows, 0, eligible_cap(count(eligible_rows)))],
	"eligibleCount": count(eligible_rows),
	"blocked": [entries.shown(e, entries.reasons_with(e.base, [], e.score)) |
		some e in array.slice(blocked_rows, 0, blocked_cap(count(blocked_rows)))
	],
	"all": [{"rank": e.rank, "lane": e.lane, "catalogIndex": e.catalogIndex, "view": e.view, "base": e.base} |
		some e in array.slice(ranked, 0, blocked_cap(count(ranked)))
	],
	"reasonCounts": entries.reason_counts([entries.reasons_with(e.base, [], e.score) | some e in evaluated]),
} if {
	evaluated := [object.union(member, {"base": base_reasons(member, required)}) | some member in members]
	ranked := [evaluated[row[1]] | some row in sort([[e.rank, i] | some i, e in evaluated])]
	eligible_rows := [e | some e in ranked; eligible(e)]
	blocked_rows := [e | some e in ranked; not eligible(e)]
}

# METADATA
# title: eligible
# description: True when E (a fact with its reasons `base`) has no reason and a score, whatever the request.
eligible(e) if {
	e.base == []
	e.score != null
}

# METADATA
# title: eligible_cap
# description: How many eligible models of a group can matter to a decision (the selected one plus the fallbacks), of N.
eligible_cap(n) := 1 + object.get(catalog.limits, "fallbacks", n)

# METADATA
# title: blocked_cap
# description: How many blocked models of a group can matter to a decision (limits.blockedPerLane), of N.
blocked_cap(n) := object.get(catalog.limits, "blockedPerLane", n)

# METADATA
# scope: document
# title: agent
# description: |
#   The request-independent agent-execution tables: {inputs: the documents they were built from
#   (model_router.agent.config.table_inputs; model_router.agent.config.tables is the stored tables when
#   they match), laneRates: {lane: model_router.agent.cost.lane_rates}, laneDefaults: {lane:
#   model_router.agent.cost.default_rates of laneRates}, pricedProfiles: {profileRef: true} of every
#   profile a lane prices, windows: {window: model_router.agent.budget.window_table}, noFailures:
#   {declared lane: []}, laneTiers: model_router.agent.budget.lane_tier_table, checks:
#   model_router.agent.budget.check_table of windows, reasonWindows:
#   model_router.agent.budget.reason_windows of checks, evidence: the evidence section of every
#   decision, model_router.agent.decision.evidence, lanes: the lane views, model_router.agent.lanes.table}.
agent := {
	"inputs": config.table_inputs,
	"laneRates": lane_rates,
	"laneDefaults": {lane: cost.default_rates(rates) | some lane, rates in lane_rates},
	"pricedProfiles": {ref: true | some rates in lane_rates; some ref, _ in rates.profiles},
	"windows": windows,
	"noFailures": {lane: [] | some lane, _ in config.policy_lanes},
	"laneTiers": budget.lane_tier_table,
	"checks": checks,
	"reasonWindows": budget.reason_windows(checks),
	"evidence": decision.evidence,
	"lanes": lanes.table,
} if {
	lane_rates := {lane: cost.lane_rates(priced) | some lane, priced in config.catalog_lanes}
	windows := {window: budget.window_table(window) | some window in config.window_order}
	checks := budget.check_table(windows)
}
