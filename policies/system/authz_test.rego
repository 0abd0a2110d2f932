package system.authz_test

import data.system.authz

token_digest := crypto.sha256("s3cret-token")

test_request_with_the_token_is_allowed if {
	authz.allow with input as {"identity": "s3cret-token", "path": ["v1", "data", "model_router", "decision"], "method": "POST"}
		with data.system.model_router_auth.token_sha256 as token_digest
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
