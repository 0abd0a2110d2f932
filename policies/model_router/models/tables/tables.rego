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
#   by the selection. `current` is the stored table when it was built from the documents in force.
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
import data.model_router.models.authorization
import data.model_router.models.catalog
import data.model_router.models.eligibility
import data.model_router.models.scoring

# METADATA
# title: build
# description: |
#   The tables for the documents in force: {digests, modelCount, limits, groups: [{lane, locality,
#   localProfileRef, count, authorized, roleReasons}], laneGroups: [[lane, [group index, ...]], ...],
#   tasks: {taskClass: index in byRequirement}, byRequirement: [{required, cells: [cell per group, in
#   the order of groups], noneBlocked: [[lane, [candidate, ...]], ...], noneReasonCounts}]}: task
#   classes that require the same tasks share one entry. noneBlocked and noneReasonCounts are what the
#   decision lists and counts for the models of a lane it does not admit (role "none"), and agent
#   (see agent) when the agent-execution documents are configured.
build := object.union(_models, _agent_entry)

default _agent_entry := {}

_agent_entry := {"agent": agent}

_models := {
	"digests": digests,
	"modelCount": count(catalog.view.models),
	"limits": catalog.limits,
	"groups": groups,
	"laneGroups": [[lane, [i | some i, group in groups; group.lane == lane]] | some lane in {group.lane | some group in groups}],
	"tasks": {task_class: i |
		some task_class, _ in catalog.route_policy.taskRequirements
		some i, required in requirements
		required == eligibility.required_tasks(task_class, catalog.route_policy)
	},
	"byRequirement": [task_table(groups, required) | some required in requirements],
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
	"noneBlocked": [[lane, _top_blocked(entries)] |
		some lane in {group.lane | some group in groups}
		entries := [shown(e, reasons_with(e.base, groups[i].roleReasons.none, e.view.score)) |
			some i, group in groups
			group.lane == lane
			some e in cells[i].all
		]
	],
	"noneReasonCounts": sum_counts([object.union(cells[i].reasonCounts, {code: group.count | some code in group.roleReasons.none}) |
		some i, group in groups
	]),
} if {
	cells := [cell(_members[[group.lane, group.locality, group.localProfileRef]], required) | some group in groups]
}

# the blocked_cap best of ENTRIES (one lane's blocked candidates) as [catalogIndex, shown] pairs
_top_blocked(entries) := [[e.catalogIndex, e.shown] | some row in array.slice(rows, 0, blocked_cap(count(rows))); e := entries[row[1]]] if {
	rows := sort([[e.rank, i] | some i, e in entries])
}

# METADATA
# title: sum_counts
# description: The reason counts of the objects in COUNT_LIST added up per reason; reasons counted 0 are left out.
sum_counts(count_list) := {code: total |
	some code in {code | some counts in count_list; some code, _ in counts}
	total := sum([n | some counts in count_list; n := counts[code]])
	total > 0
}

# METADATA
# scope: document
# title: current
# description: |
#   The stored tables (data.model_router_data.modelTables) when they were built from the documents in
#   force: the active catalog, route policy and mirror entries carry the digests the tables recorded
#   (digests; a digest covers the entry's id and content) and the limits are the same; undefined
#   otherwise (also when an entry has no digest), and the selection then evaluates every catalog
#   model itself.
current := stored if {
	stored := object.get(data.model_router_data, "modelTables", null)
	digests := stored.digests
	digests.modelCatalog == data.model_router_data.modelCatalogs[_active.modelCatalog].digest
	digests.routePolicy == data.model_router_data.routePolicies[_active.routePolicy].digest
	digests.routeAuthorization == data.model_router_data.routeAuthorizations[_active.routeAuthorization].digest
	stored.limits == catalog.limits
}

_active := data.model_router_data.active

# METADATA
# title: digests
# description: |
#   The digests of the active catalog, route policy and authorization mirror entries (router.model_data
#   stamps each entry of data.model_router_data with the digest of its content), null when absent.
digests := {
	"modelCatalog": _digest("modelCatalogs", "modelCatalog"),
	"routePolicy": _digest("routePolicies", "routePolicy"),
	"routeAuthorization": _digest("routeAuthorizations", "routeAuthorization"),
}

_digest(collection, role) := object.get(data.model_router_data, [collection, object.get(_active, role, ""), "digest"], null)

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
	"rank": rank_key(known, _ranks),
	"view": view(known),
}) if {
	some ref, model in catalog.view.models
	known := fact(model)
}

_scores[ref] := score_of(model) if some ref, model in catalog.view.models

_ranks := score_ranks([score | some score in _scores])

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
	"score": score_of(model),
}

# METADATA
# title: view
# description: 'What a decision shows of a fallback E (a fact or an evaluation): {modelRef, lane, governanceRoute, score}.'
view(e) := {"modelRef": e.modelRef, "lane": e.lane, "governanceRoute": e.governanceRoute, "score": e.score}

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
# title: reasons_with
# description: |
#   The full reasons of a candidate: BASE, then the role reasons EXTRA, then score-unavailable when
#   SCORE is null (the order of model_router.models.selection.evaluate).
reasons_with(base, extra, score) := array.concat(array.concat(base, extra), [code | score == null; code := "score-unavailable"])

# METADATA
# title: cell
# description: |
#   The cell of one group (MEMBERS, facts in catalog order) for the REQUIRED tasks (see the package
#   description). Entries: eligible {rank, view}; blocked {rank, lane, catalogIndex, shown: the view
#   with its reasons}; all {rank, lane, catalogIndex, view, base}.
cell(members, required) := {
	"eligible": [{"rank": e.rank, "view": e.view} | some e in array.slice(eligible_rows, 0, eligible_cap(count(eligible_rows)))],
	"eligibleCount": count(eligible_rows),
	"blocked": [shown(e, reasons_with(e.base, [], e.score)) | some e in array.slice(blocked_rows, 0, blocked_cap(count(blocked_rows)))],
	"all": [{"rank": e.rank, "lane": e.lane, "catalogIndex": e.catalogIndex, "view": e.view, "base": e.base} |
		some e in array.slice(ranked, 0, blocked_cap(count(ranked)))
	],
	"reasonCounts": reason_counts([reasons_with(e.base, [], e.score) | some e in evaluated]),
} if {
	evaluated := [object.union(member, {"base": base_reasons(member, required)}) | some member in members]
	ranked := [evaluated[row[1]] | some row in sort([[e.rank, i] | some i, e in evaluated])]
	eligible_rows := [e | some e in ranked; eligible(e)]
	blocked_rows := [e | some e in ranked; not eligible(e)]
}

# METADATA
# title: shown
# description: |
#   A blocked candidate entry for E (with rank, lane, catalogIndex and view) and its REASONS:
#   {rank, lane, catalogIndex, shown}.
shown(e, reasons) := {
	"rank": e.rank,
	"lane": e.lane,
	"catalogIndex": e.catalogIndex,
	"shown": object.union(e.view, {"reasons": reasons}),
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
# title: score_ranks
# description: 'Each distinct number of SCORES by its position, highest first (null scores are left out: they rank last).'
score_ranks(scores) := {score: i | some i, score in array.reverse(sort({s | some s in scores; s != null}))}

# METADATA
# title: rank_key
# description: |
#   How E ranks among candidates whose scores RANKS indexes (score_ranks): [score position (null
#   last), local first, catalog order].
rank_key(e, ranks) := [object.get(ranks, e.score, count(ranks)), object.get(_locality_rank, e.locality, 1), e.catalogIndex]

# local models rank before any other locality
_locality_rank := {"local": 0}

# METADATA
# title: reason_counts
# description: How many of the reason lists REASON_LISTS hold each reason.
reason_counts(reason_lists) := {code: count([1 | some list in reason_lists; code in list]) |
	some code in {code | some list in reason_lists; some code in list}
}

# METADATA
# scope: document
# title: score_of
# description: The score of MODEL under the route policy in force (integer form first, see scoring), or null.
default score_of(_) := null

score_of(model) := score if {
	score := scoring.weighted_score(model, _weighted_units)
} else := scoring.score(model, catalog.route_policy)

_weighted_units := scoring.weighted_units(catalog.route_policy, catalog.score_units)

# METADATA
# scope: document
# title: agent
# description: |
#   The request-independent agent-execution tables: {inputs: the documents they were built from
#   (model_router.agent.config.table_inputs; model_router.agent.config.tables is the stored tables when
#   they match), laneRates: {lane: model_router.agent.cost.lane_rates}, windows: {window:
#   model_router.agent.budget.window_table}, noFailures: {declared lane: []}, evidence: the evidence
#   section of every decision, model_router.agent.decision.evidence}.
agent := {
	"inputs": config.table_inputs,
	"laneRates": {lane: cost.lane_rates(priced) | some lane, priced in config.catalog_lanes},
	"windows": {window: budget.window_table(window) | some window in config.window_order},
	"noFailures": {lane: [] | some lane, _ in config.policy_lanes},
	"evidence": decision.evidence,
}
