# METADATA
# title: Approval tokens (EdDSA JWTs) verified against the trust anchors
# description: |
#   An approval token is a compact JWS: header {"alg": "EdDSA", "typ": "JWT", "kid"}, Ed25519 signature,
#   verified with io.jwt.verify_eddsa against the key the trust anchors
#   (data.model_router_data.trustAnchors.issuers[iss].keys[kid]) hold for the token's issuer, never a
#   key the token carries. Times are compared with input.evaluation (stamped by the router; a policy
#   never reads a clock) with 60 s of allowed skew; without an evaluation time no token is valid.
#
#   `failures(kind, token, ref, expected)` is the set of checks a present token fails, apart from the
#   lane check (`lane_exceeds`), which the caller adds per lane. `verdict(kind, whys)` is `valid` or
#   `<kind>-invalid:<why>` for the first failing check in the order of `check_order`:
#   malformed, issuer, signature, purpose, ref-mismatch, expired, not-yet-valid, lifetime, request,
#   task-class, reason, lane, data-class, binding, artifact, contract.
#
#   `expected` names the claims the request fixes (`requestId`, and per purpose `taskClass`, `reason`,
#   `dataClass`, `bindingRef`, `artifactRef`, `contractId`); a claim not named is not checked.
#   A token that is not a string, longer than `max_token_chars`, not three canonical (unpadded,
#   zero unused bits) base64url segments, whose
#   header or claims are not JSON objects, whose header is not exactly alg EdDSA, typ JWT and a string
#   kid, or whose `iss` is not a string, is `malformed`.
package model_router.approvals.token

# METADATA
# description: The order in which token checks are reported (the first failing one wins).
check_order := [
	"malformed", "issuer", "signature", "purpose", "ref-mismatch", "expired", "not-yet-valid", "lifetime",
	"request", "task-class", "reason", "lane", "data-class", "binding", "artifact", "contract",
]

# METADATA
# description: The longest token the policy reads (8 KiB); a longer one is malformed.
max_token_chars := 8192

# METADATA
# description: Allowed clock skew, in seconds, for iat and nbf.
skew_seconds := 60

# The issuer's token lifetime limit when its anchor entry names none.
_default_max_lifetime := 86400

_header_keys := {"alg", "typ", "kid"}

# The claims a request-bound expectation is compared with, by the reason reported when they differ.
_expected_claims := [
	["request", "requestId"],
	["task-class", "taskClass"],
	["reason", "reason"],
	["binding", "bindingRef"],
	["artifact", "artifactRef"],
	["contract", "contractId"],
]

# METADATA
# description: The evaluation time in seconds (input.evaluation.timeNs / 1e9), undefined without one.
now := input.evaluation.timeNs / 1000000000 if is_number(input.evaluation.timeNs)

# METADATA
# scope: document
# description: The evaluation time echoed into decisions ({time, timeNs}), or null without a well-formed one.
default evaluation := null

evaluation := {"time": input.evaluation.time, "timeNs": input.evaluation.timeNs} if {
	is_string(input.evaluation.time)
	is_number(input.evaluation.timeNs)
}

# METADATA
# description: The decoded [header, claims] of a well-formed token (undefined for a malformed one).
decoded(token) := [header, claims] if {
	is_string(token)
	count(token) <= max_token_chars
	segments := split(token, ".")
	count(segments) == 3
	every segment in segments {
		_canonical_base64url(segment)
	}
	header := _json_object(segments[0])
	claims := _json_object(segments[1])
	count(object.remove(header, _header_keys)) == 0
	header.alg == "EdDSA"
	header.typ == "JWT"
	is_string(header.kid)
	is_string(claims.iss)
}

# Every step is guarded so that no built-in can fail on an arbitrary string (the router's OPA reports
# built-in errors as errors, and a token is caller input): the segment's alphabet and length are
# checked before it is decoded, and the JSON before it is parsed.
_json_object(segment) := value if {
	text := base64url.decode(segment)
	json.is_valid(text)
	value := json.unmarshal(text)
	is_object(value)
}

# Only the canonical encoding of each segment is accepted (unpadded base64url whose unused bits are
# zero), so that one signed token has exactly one spelling (and one tokenDigest).
_canonical_base64url(segment) if {
	regex.match(`^[A-Za-z0-9_-]+$`, segment)
	count(segment) % 4 != 1
	base64url.encode_no_pad(base64url.decode(segment)) == segment
}

_issuer(claims) := data.model_router_data.trustAnchors.issuers[claims.iss]

_active_key(header, claims) := key if {
	key := _issuer(claims).keys[header.kid]
	key.status == "active"
}

default _unknown_key(_, _) := true

_unknown_key(header, claims) := false if _active_key(header, claims)

default _bad_signature(_, _, _) := true

_bad_signature(token, header, claims) := false if {
	key := _active_key(header, claims)
	io.jwt.verify_eddsa(token, json.marshal(key.jwk))
}

default _wrong_purpose(_, _) := true

_wrong_purpose(kind, claims) := false if {
	claims.purpose == kind
	kind in _issuer(claims).purposes
}

default _claim_differs(_, _, _) := true

_claim_differs(claims, claim, value) := false if {
	is_string(claims[claim])
	claims[claim] == value
}

default _expired(_) := true

_expired(claims) := false if {
	is_number(claims.exp)
	now < claims.exp
}

default _not_yet_valid(_) := true

_not_yet_valid(claims) := false if {
	is_number(claims.iat)
	claims.iat <= now + skew_seconds
	_nbf_reached(claims)
}

_nbf_reached(claims) if not "nbf" in object.keys(claims)

_nbf_reached(claims) if {
	is_number(claims.nbf)
	claims.nbf <= now + skew_seconds
}

_max_lifetime(claims) := object.get(_issuer(claims), "maxLifetimeSeconds", _default_max_lifetime)

default _lifetime_too_long(_) := true

_lifetime_too_long(claims) := false if {
	is_number(claims.iat)
	is_number(claims.exp)
	claims.exp - claims.iat <= _max_lifetime(claims)
}

default _data_class_not_approved(_, _) := false

_data_class_not_approved(expected, claims) if {
	"dataClass" in object.keys(expected)
	not _data_class_approved(expected.dataClass, claims)
}

_data_class_approved(data_class, claims) if {
	is_array(claims.dataClasses)
	data_class in claims.dataClasses
}

_checks(kind, token, header, claims, ref, expected) := array.concat(
	[
		["issuer", _unknown_key(header, claims)],
		["signature", _bad_signature(token, header, claims)],
		["purpose", _wrong_purpose(kind, claims)],
		["ref-mismatch", _claim_differs(claims, "jti", ref)],
		["expired", _expired(claims)],
		["not-yet-valid", _not_yet_valid(claims)],
		["lifetime", _lifetime_too_long(claims)],
		["data-class", _data_class_not_approved(expected, claims)],
	],
	[[why, _claim_differs(claims, claim, expected[claim])] |
		some [why, claim] in _expected_claims
		claim in object.keys(expected)
	],
)

# METADATA
# scope: document
# description: |
#   The checks a present token fails (a set of why codes), apart from the lane check. A token that
#   cannot be decoded fails `malformed` only.
failures(_, token, _, _) := {"malformed"} if not decoded(token)

failures(kind, token, ref, expected) := whys if {
	[header, claims] := decoded(token)
	whys := {why |
		some [why, failed] in _checks(kind, token, header, claims, ref, expected)
		failed
	}
}

# METADATA
# scope: document
# description: The value of a claim of a well-formed token, or null (decode once, then look up lanes with it).
default claim(_, _) := null

claim(token, name) := value if {
	[_, claims] := decoded(token)
	value := claims[name]
}

# METADATA
# scope: document
# description: |
#   Whether LANE is above MAX_LANE (a token's `maxLane` claim, see `claim`): the claim must be one of
#   ALLOWED (the lanes this purpose may approve) and rank at or above LANE in RANKS.
default lane_exceeds(_, _, _, _) := true

lane_exceeds(max_lane, lane, ranks, allowed) := false if {
	max_lane in allowed
	ranks[lane] <= ranks[max_lane]
}

# METADATA
# scope: document
# description: "`valid` when WHYS is empty, otherwise `<kind>-invalid:<why>` for the first failing check."
verdict(_, whys) := "valid" if count(whys) == 0

verdict(kind, whys) := sprintf("%s-invalid:%s", [kind, first]) if {
	count(whys) > 0
	first := [why | some why in check_order; why in whys][0]
}

# METADATA
# scope: document
# description: The SHA-256 digest of a token (`sha256:<hex>`), or null when it is not a string.
default digest(_) := null

digest(token) := sprintf("sha256:%s", [crypto.sha256(token)]) if is_string(token)

# METADATA
# description: |
#   The evidence of one approval (never the token itself): {kind, ref, issuer, kid, tokenDigest,
#   verdict, expiresAt}; issuer, kid and expiry come from a decodable token, null otherwise.
evidence(kind, token, ref, verdict_code) := object.union(
	{"kind": kind, "ref": ref, "tokenDigest": digest(token), "verdict": verdict_code},
	_token_fields(token),
)

default _token_fields(_) := {"issuer": null, "kid": null, "expiresAt": null}

_token_fields(token) := {"issuer": _string_or_null(claims.iss), "kid": header.kid, "expiresAt": _expiry(claims)} if {
	[header, claims] := decoded(token)
}

default _string_or_null(_) := null

_string_or_null(value) := value if is_string(value)

default _expiry(_) := null

_expiry(claims) := time.format(round(claims.exp) * 1000000000) if {
	is_number(claims.exp)
	claims.exp > 0
	claims.exp < 253402300800
}
