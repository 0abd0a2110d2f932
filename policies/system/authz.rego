# METADATA
# title: managed OPA authorization
# description: |
#   Loaded only into the OPA server that model-router starts itself (with --authentication=token
#   --authorization=basic). Every API request must carry the random bearer token generated for that
#   process; the server knows only the token's SHA-256 (data.system.model_router_auth.token_sha256).
# entrypoint: true
package system.authz

# METADATA
# title: allow
# description: True when the request's bearer token hashes to the configured digest.
default allow := false

allow if {
	is_string(input.identity)
	crypto.sha256(input.identity) == data.system.model_router_auth.token_sha256
}
