package model_router.models.authorization_test

import data.model_router.models.authorization
import data.model_router.models.catalog_test

candidate(route) := {"modelRef": "m:x", "governanceRoute": route}

record(status, flag, evidence) := {"r.x": {
	"route_id": "r.x",
	"status": status,
	"authorized": flag,
	"promotion_evidence_present": evidence,
	"ledger_entry": "model://x",
}}

test_authorized_route_with_evidence_passes if {
	authorization.route_authorized("r.x", record("authorized", true, true))
	authorization.reasons(candidate("r.x"), record("authorized", true, true)) == []
}

test_missing_governance_route_is_blocked if {
	authorization.reasons({"modelRef": "m:x"}, catalog_test.routes) == ["unauthorized-no-governance-route"]
}

test_null_or_empty_governance_route_is_blocked if {
	authorization.reasons(candidate(null), catalog_test.routes) == ["unauthorized-no-governance-route"]
	empty_route := {"": {"status": "authorized", "authorized": true, "promotion_evidence_present": true}}
	authorization.reasons(candidate(""), empty_route) == ["unauthorized-no-governance-route"]
}

test_route_without_a_record_is_unledgered if {
	authorization.reasons(candidate("r.unknown"), record("authorized", true, true)) == ["unauthorized-unledgered-model"]
}

test_proposed_and_denied_routes_are_unledgered if {
	authorization.reasons(candidate("r.x"), record("proposed", false, false)) == ["unauthorized-unledgered-model"]
	authorization.reasons(candidate("r.x"), record("denied", false, false)) == ["unauthorized-unledgered-model"]
}

test_authorized_status_without_promotion_evidence_fails_closed if {
	not authorization.route_authorized("r.x", record("authorized", true, false))
	authorization.reasons(candidate("r.x"), record("authorized", true, false)) == ["unauthorized-unledgered-model"]
}

test_inconsistent_authorized_flag_fails_closed if {
	authorization.reasons(candidate("r.x"), record("authorized", false, true)) == ["unauthorized-unledgered-model"]
	authorization.reasons(candidate("r.x"), record("proposed", true, true)) == ["unauthorized-unledgered-model"]
}
