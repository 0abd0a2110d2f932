package system.authz_test

import data.system.authz

token_digest := crypto.sha256("s3cret-token")

allowed(method, path) if {
	authz.allow with input as {"identity": "s3cret-token", "path": path, "method": method}
		with data.system.model_router_auth.token_sha256 as token_digest
}

test_evaluation_with_the_token_is_allowed if {
	allowed("POST", ["v1", "data", "model_router", "decision"])
	allowed("GET", ["v1", "data", "model_router_data", "active"])
	allowed("POST", ["v1", "data"])
}

test_health_with_the_token_is_allowed if {
	allowed("GET", ["health"])
}

test_writes_are_denied_even_with_the_token if {
	not allowed("PUT", ["v1", "data", "model_router_data"])
	not allowed("PATCH", ["v1", "data"])
	not allowed("DELETE", ["v1", "data", "model_router_data", "active"])
	not allowed("PUT", ["v1", "policies", "evil"])
	not allowed("DELETE", ["v1", "policies", "model_router", "decision.rego"])
}

test_other_apis_are_denied_even_with_the_token if {
	not allowed("GET", ["v1", "policies"])
	not allowed("POST", ["v1", "query"])
	not allowed("POST", ["v1", "compile"])
	not allowed("GET", ["v1", "config"])
	not allowed("GET", ["v1", "status"])
	not allowed("GET", ["metrics"])
	not allowed("POST", ["health"])
	not allowed("POST", ["v0", "data"])
}

test_request_with_another_token_is_denied if {
	not authz.allow with input as {"identity": "guess", "path": ["health"], "method": "GET"}
		with data.system.model_router_auth.token_sha256 as token_digest
}

test_request_without_identity_is_denied if {
	not authz.allow with input as {"path": ["health"], "method": "GET"}
		with data.system.model_router_auth.token_sha256 as token_digest
}

test_nothing_is_allowed_without_a_configured_digest if {
	not authz.allow with input as {"identity": "s3cret-token", "path": ["health"], "method": "GET"}
}
