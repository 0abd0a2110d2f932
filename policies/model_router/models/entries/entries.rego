# METADATA
# title: catalog model entries and the stored tables in force
# description: |
#   What the selection (model_router.models.selection) and the precomputed tables
#   (model_router.models.tables) share: how a catalog model is shown (view, shown with its reasons),
#   scored (score_of) and ranked (score_ranks, rank_key), how reasons are counted, and `current`, the
#   stored tables (data.model_router_data.modelTables) when they were built from the documents in
#   force. The tables are built from the selection's own functions, so the selection reads them from
#   here, not from the package that builds them.
package model_router.models.entries

import data.model_router.models.catalog
import data.model_router.models.scoring

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
	active := data.model_router_data.active
	stored.digests.modelCatalog == data.model_router_data.modelCatalogs[active.modelCatalog].digest
	stored.digests.routePolicy == data.model_router_data.routePolicies[active.routePolicy].digest
	stored.digests.routeAuthorization == data.model_router_data.routeAuthorizations[active.routeAuthorization].digest
	stored.limits == object.get(data.model_router_data, "modelSelectionLimits", {})
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
# title: view
# description: 'What a decision shows of a fallback E (a fact or an evaluation): {modelRef, lane, governanceRoute, score}.'
view(e) := {"modelRef": e.modelRef, "lane": e.lane, "governanceRoute": e.governanceRoute, "score": e.score}

# METADATA
# title: reasons_with
# description: |
#   The full reasons of a candidate: BASE, then the role reasons EXTRA, then score-unavailable when
#   SCORE is null (the order of model_router.models.selection.evaluate).
reasons_with(base, extra, score) := array.concat(array.concat(base, extra), [code | score == null; code := "score-unavailable"])

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
