# METADATA
# title: model route authorization
# description: |
#   Model availability is not authorization. A candidate may be selected, or listed as a fallback,
#   only when it names a governance route and the ledger mirror holds a record for that route that is
#   authorized, flagged authorized and carries promotion evidence. Anything else fails closed.
package model_router.models.authorization

# METADATA
# title: route_authorized
# description: True when ROUTES (records keyed by route id) authorize ROUTE with promotion evidence.
route_authorized(route, routes) if {
	is_string(route)
	record := routes[route]
	record.status == "authorized"
	record.authorized == true
	record.promotion_evidence_present == true
}

# METADATA
# title: reasons
# description: |
#   The authorization reasons of CANDIDATE against ROUTES: [] when authorized,
#   ["unauthorized-no-governance-route"] when it names no route, otherwise ["unauthorized-unledgered-model"].
reasons(candidate, routes) := [] if {
	route := object.get(candidate, "governanceRoute", null)
	route != ""
	route_authorized(route, routes)
} else := ["unauthorized-unledgered-model"] if {
	route := object.get(candidate, "governanceRoute", null)
	is_string(route)
	route != ""
} else := ["unauthorized-no-governance-route"]
