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
#   lane check (`lane_exceeds`), which the caller adds per lane. A decision decodes each token once:
#   callers hold `parse(token)` in a complete rule and ask `failures_of`, `claim_of` and `evidence_of`
#   with it; `failures`, `claim` and `evidence` are the same answers for a token not yet decoded. `verdict(kind, whys)` is `valid` or
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

# Every step of parse is guarded so that no built-in can fail on an arbitrary string (the router's
# OPA reports built-in errors as errors, and a token is caller input): the segment's alphabet and
# length are checked (by the pattern) before it is decoded, and the JSON before it is parsed.

# METADATA
# description: The decoded [header, claims] of a well-formed token (undefined for a malformed one).
decoded(token) := parsed if {
	parsed := parse(token)
	parsed != null
}

# METADATA
# scope: document
# description: |
#   The decoded [header, claims] of a token, or null when it is malformed. A caller decodes each token
#   once per decision (a complete rule) and hands the result to `failures_of`, `claim_of` and
#   `evidence_of`, so that no token is decoded twice.
default parse(_) := null

# (the steps are written out here, not in `decoded`: one rule call per token)
parse(token) := [header, claims] if {
	is_string(token)
	count(token) <= max_token_chars
	regex.match(_canonical_token, token)
	segments := split(token, ".")

	# each segment's JSON is checked before it is parsed (written out: no function call per segment)
	header_text := base64url.decode(segments[0])
	json.is_valid(header_text)
	header := json.unmarshal(header_text)
	is_object(header)
	claims_text := base64url.decode(segments[1])
	json.is_valid(claims_text)
	claims := json.unmarshal(claims_text)
	is_object(claims)

	# alg, typ and kid are required below, so three members means no other one
	count(header) == 3
	header.alg == "EdDSA"
	header.typ == "JWT"
	is_string(header.kid)
	is_string(claims.iss)
}

# Only the canonical encoding of each segment is accepted (unpadded base64url whose unused bits are
# zero), so that one signed token has exactly one spelling (and one tokenDigest). One expression checks
# the three segments: whole groups of four characters, then either a whole group or a tail of two or
# three characters whose last one leaves the unused bits zero (4 unused bits: A Q g w; 2 unused bits:
# every fourth character of the alphabet). A segment of length 1 (mod 4) cannot match, nor padding.
_canonical_token := `^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{4}|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])\.(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{4}|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])\.(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{4}|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])$`

# The issuer's anchor entry for the token, or null when the anchors hold none.
default _issuer_of(_) := null

_issuer_of(claims) := data.model_router_data.trustAnchors.issuers[claims.iss]

# The issuer's active key for the token, or null when the anchors hold no such active key.
default _active_key_of(_, _) := null

_active_key_of(header, claims) := key if {
	key := data.model_router_data.trustAnchors.issuers[claims.iss].keys[header.kid]
	key.status == "active"
}

default _bad_signature(_, _) := true

_bad_signature(token, key) := false if io.jwt.verify_eddsa(token, json.marshal(key.jwk))

default _wrong_purpose(_, _, _) := true

_wrong_purpose(kind, claims, issuer) := false if {
	claims.purpose == kind
	kind in issuer.purposes
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
	claims.iat <= _horizon
	_nbf_reached(claims)
}

_nbf_reached(claims) if not "nbf" in object.keys(claims)

_nbf_reached(claims) if {
	is_number(claims.nbf)
	claims.nbf <= _horizon
}

# The latest iat or nbf accepted (the evaluation time plus the allowed skew), once per query.
_horizon := now + skew_seconds

default _lifetime_too_long(_, _) := true

_lifetime_too_long(claims, issuer) := false if {
	issuer != null
	is_number(claims.iat)
	is_number(claims.exp)
	claims.exp - claims.iat <= object.get(issuer, "maxLifetimeSeconds", _default_max_lifetime)
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

# Every check of a token (the issuer and its active key are looked up once, or null).
_checks(kind, token, header, claims, ref, expected) := array.concat(
	[
		["issuer", key == null],
		["signature", _bad_signature(token, key)],
		["purpose", _wrong_purpose(kind, claims, issuer)],
		["ref-mismatch", _claim_differs(claims, "jti", ref)],
		["expired", _expired(claims)],
		["not-yet-valid", _not_yet_valid(claims)],
		["lifetime", _lifetime_too_long(claims, issuer)],
		["data-class", _data_class_not_approved(expected, claims)],
	],
	[[why, _claim_differs(claims, claim, value)] |
		some [why, claim] in _expected_claims
		value := expected[claim]
	],
) if {
	issuer := _issuer_of(claims)
	key := _active_key_of(header, claims)
}

# METADATA
# scope: document
# description: |
#   The checks a present token fails (a set of why codes), apart from the lane check. A token that
#   cannot be decoded fails `malformed` only.
failures(kind, token, ref, expected) := failures_of(kind, token, parse(token), ref, expected)

# METADATA
# scope: document
# description: |
#   `failures` of a token already decoded by `parse` (PARSED is its [header, claims], or null for a
#   malformed token).
failures_of(_, _, null, _, _) := {"malformed"}

# The usual path: every check but the lane passes, written out in one body (no rule call) and with
# one signature verification, the last step. It may be stricter than the checks it stands for (then
# the next bodies decide, as `_checks` would), never looser: a claim `expected` names outside
# `_expected_claims` must also match. A failing token that passes every step up to the claims the
# request fixes is judged by those claims and its signature (the next body), any other by `_checks`.
failures_of(kind, token, [header, claims], ref, expected) := set() if {
	issuer := data.model_router_data.trustAnchors.issuers[claims.iss]
	key := issuer.keys[header.kid]
	key.status == "active"
	claims.purpose == kind
	kind in issuer.purposes
	is_string(ref)
	claims.jti == ref
	is_number(claims.exp)
	is_number(claims.iat)
	now < claims.exp
	claims.iat <= _horizon

	# an absent nbf is reached; a present one must be a number (else the checks decide)
	nbf := object.get(claims, "nbf", 0)
	is_number(nbf)
	nbf <= _horizon
	claims.exp - claims.iat <= object.get(issuer, "maxLifetimeSeconds", _default_max_lifetime)

	# dataClass, when expected, is one of the claimed dataClasses (an array; one element as a
	# subarray, no other call): the slice is [] when it is not expected, else [expected.dataClass]
	classes := object.get(claims, "dataClasses", [])
	is_array(classes)
	rest := object.remove(expected, {"dataClass"})
	object.subset(classes, array.slice([object.get(expected, "dataClass", null)], 0, count(expected) - count(rest)))
	every claim, value in rest {
		is_string(value)
		claims[claim] == value
	}

	# the signature last, after every cheap check (it is not part of the loop above)
	# regal ignore:non-loop-expression
	io.jwt.verify_eddsa(token, json.marshal(key.jwk))
} else := ({"signature" | not io.jwt.verify_eddsa(token, json.marshal(key.jwk))} | {why |
	some [why, claim] in _expected_claims
	_claim_differs(claims, claim, expected[claim])
}) | {"data-class" | _data_class_not_approved(expected, claims)} if {
	# the same steps as above up to the claims the request fixes (written out again, no rule call on
	# the usual path): a token that passes them fails only the checks of those claims and the
	# signature, the checks that remain
	issuer := data.model_router_data.trustAnchors.issuers[claims.iss]
	key := issuer.keys[header.kid]
	key.status == "active"
	claims.purpose == kind
	kind in issuer.purposes
	is_string(ref)
	claims.jti == ref
	is_number(claims.exp)
	is_number(claims.iat)
	now < claims.exp
	claims.iat <= _horizon
	nbf := object.get(claims, "nbf", 0)
	is_number(nbf)
	nbf <= _horizon
	claims.exp - claims.iat <= object.get(issuer, "maxLifetimeSeconds", _default_max_lifetime)
} else := {why |
	some [why, failed] in _checks(kind, token, header, claims, ref, expected)
	failed
}

# METADATA
# scope: document
# description: The value of a claim of a well-formed token, or null (decode once, then look up lanes with it).
claim(token, name) := claim_of(parse(token), name)

# METADATA
# scope: document
# description: The value of a claim of a token decoded by `parse`, or null (also for a malformed token).
default claim_of(_, _) := null

claim_of([_, claims], name) := claims[name]

# METADATA
# scope: document
# description: |
#   The rank in RANKS of MAX_LANE (a token's `maxLane` claim, see `claim`) when it is one of ALLOWED
#   (the lanes this purpose may approve), else -1: a lane passes the lane check (`lane_exceeds`)
#   exactly when its rank is at most this, so a caller judging every lane against one token computes
#   it once.
default max_rank(_, _, _) := -1

max_rank(max_lane, ranks, allowed) := ranks[max_lane] if max_lane in allowed

# METADATA
# scope: document
# description: |
#   Whether LANE is above MAX_LANE (a token's `maxLane` claim, see `claim`): the claim must be one of
#   ALLOWED (the lanes this purpose may approve) and rank at or above LANE in RANKS.
default lane_exceeds(_, _, _, _) := true

lane_exceeds(max_lane, lane, ranks, allowed) := false if ranks[lane] <= max_rank(max_lane, ranks, allowed)

# METADATA
# scope: document
# description: "`valid` when WHYS is empty, otherwise `<kind>-invalid:<why>` for the first failing check."
verdict(kind, whys) := "valid" if {
	count(whys) == 0
} else := sprintf("%s-invalid:%s", [kind, first]) if {
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
evidence(kind, token, ref, verdict_code) := evidence_of(kind, token, parse(token), ref, verdict_code)

# METADATA
# scope: document
# description: "`evidence` of a token already decoded by `parse` (PARSED: [header, claims], or null)."
evidence_of(kind, token, null, ref, verdict_code) := {
	"kind": kind, "ref": ref, "issuer": null, "kid": null, "tokenDigest": digest(token),
	"verdict": verdict_code, "expiresAt": null,
}

# A decoded token is a string and its issuer too (`decoded` requires both): the digest is written out.
evidence_of(kind, token, [header, claims], ref, verdict_code) := {
	"kind": kind, "ref": ref, "issuer": claims.iss, "kid": header.kid,
	"tokenDigest": sprintf("sha256:%s", [crypto.sha256(token)]),
	"verdict": verdict_code, "expiresAt": _expiry(claims),
}

default _expiry(_) := null

_expiry(claims) := time.format(round(claims.exp) * 1000000000) if {
	is_number(claims.exp)
	claims.exp > 0
	claims.exp < 253402300800
}
