# METADATA
# title: concrete-model documents in force
# description: |
#   The active model catalog, model route policy and route authorization mirror, read from the
#   keyed views in data.model_router_data (assembled by router.model_data). No rule here decides
#   anything: it only names the documents the selection reads.
package model_router.models.catalog

# METADATA
# scope: document
# title: configured
# description: True when an active model catalog, route policy and authorization mirror are all loaded.
default configured := false

configured if {
	data.model_router_data.modelCatalogs[_active.modelCatalog]
	data.model_router_data.routePolicies[_active.routePolicy].effective
	data.model_router_data.routeAuthorizations[_active.routeAuthorization].routes
}

# METADATA
# title: refs
# description: The ids of the active catalog, route policy and authorization mirror (null when not loaded).
refs := {
	"modelCatalogRef": active.modelCatalog,
	"routePolicyRef": active.routePolicy,
	"routeAuthorizationRef": active.routeAuthorization,
} if {
	# the usual case, all three named: three lookups (no object.get)
	active := data.model_router_data.active
} else := {
	"modelCatalogRef": object.get(_active, "modelCatalog", null),
	"routePolicyRef": object.get(_active, "routePolicy", null),
	"routeAuthorizationRef": object.get(_active, "routeAuthorization", null),
}

_active := object.get(data.model_router_data, "active", {})

# METADATA
# title: view
# description: The active catalog view {document, models (by modelRef), order, lanes (modelRefs by lane)}.
view := data.model_router_data.modelCatalogs[_active.modelCatalog]

# METADATA
# title: route_policy
# description: The active ModelRoutePolicy with documented defaults filled in (scoreTiers, taskRequirements, targetLanes).
route_policy := data.model_router_data.routePolicies[_active.routePolicy].effective

# METADATA
# scope: document
# title: score_units
# description: |
#   The active route policy's score weights and tier values as integer counts of 1/scale
#   ({scale, scoreWeights, scoreTiers}; only the values with an exact integer form), {} when absent.
default score_units := {}

score_units := data.model_router_data.routePolicies[_active.routePolicy].scoreUnits

# METADATA
# title: routes
# description: The authorization mirror's records keyed by governance route id.
routes := data.model_router_data.routeAuthorizations[_active.routeAuthorization].routes

# METADATA
# scope: document
# title: limits
# description: |
#   How many fallbacks and blocked candidates per lane a decision lists (policy data
#   model-selection-limits.json: {fallbacks, blockedPerLane}); {} when absent (nothing is left out).
default limits := {}

limits := data.model_router_data.modelSelectionLimits
