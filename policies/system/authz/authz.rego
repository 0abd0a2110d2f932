# METADATA
# title: managed OPA authorization
# description: |
#   Loaded only into the OPA server that model-router starts itself (with --authentication=token
#   --authorization=basic). Every API request must carry the random bearer token generated for that
#   process; the server knows only the token's SHA-256 (data.system.model_router_auth.token_sha256).
#   Even with the token the server is read-only: only the health check and evaluation of data
#   (GET or POST under /v1/data) are allowed, so no REST call can write policies or data, run ad-hoc
#   queries or read the configuration.
# entrypoint: true
package system.authz

# METADATA
# scope: document
# title: allow
# description: True when the request carries the configured token and only reads.
default allow := false

allow if {
	token_matches
	read_only
}

# METADATA
# title: token_matches
# description: The request's bearer token hashes to the configured digest.
token_matches if {
	is_string(input.identity)
	crypto.sha256(input.identity) == data.system.model_router_auth.token_sha256
}

# METADATA
# scope: document
# title: read_only
# description: The health check, or a read or an evaluation of a document under /v1/data.
read_only if {
	input.method == "GET"
	input.path == ["health"]
}

read_only if {
	input.method in {"GET", "POST"}
	input.path[0] == "v1"
	input.path[1] == "data"
}
