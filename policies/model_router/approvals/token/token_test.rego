package model_router.approvals.token_test

import data.model_router.approvals.testing_test as t
import data.model_router.approvals.token

_kind := "escalation-receipt"

_ref := "urn:socioprophet:escalation-receipt:test-0001"

_expected := {"requestId": "req-test-0001", "taskClass": "routine-code", "reason": "architecture-decision"}

_ranks := {"standard": 3, "high-end": 4, "pro": 5}

_premium := {"high-end", "pro"}

_verdict(tok, lane) := v if {
	whys := token.failures(_kind, tok, _ref, _expected)
	lane_whys := {"lane" | token.lane_exceeds(token.claim(tok, "maxLane"), lane, _ranks, _premium)}
	v := token.verdict(_kind, whys | lane_whys)
}

_judge(tok, lane) := v if {
	v := _verdict(tok, lane) with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as t.anchors
}

test_success_valid_token_for_each_premium_lane if {
	_judge(t.tokens.valid, "high-end") == "valid"
	_judge(t.tokens.valid, "pro") == "valid"
}

test_success_iat_and_nbf_within_the_allowed_skew if {
	_judge(t.tokens["within-skew"], "pro") == "valid"
}

test_fail_each_check_reports_its_code if {
	every name, want in {
		"signature": "signature",
		"signature-other-key": "signature",
		"issuer-unknown": "issuer",
		"issuer-retired-key": "issuer",
		"purpose": "purpose",
		"purpose-not-allowed-for-issuer": "purpose",
		"ref-mismatch": "ref-mismatch",
		"expired": "expired",
		"not-yet-valid": "not-yet-valid",
		"nbf-future": "not-yet-valid",
		"lifetime": "lifetime",
		"request": "request",
		"task-class": "task-class",
		"reason": "reason",
		"lane-unknown": "lane",
	} {
		_judge(t.tokens[name], "high-end") == sprintf("escalation-receipt-invalid:%s", [want])
	}
}

test_fail_lane_above_max_lane if {
	_judge(t.tokens["lane-high-end"], "high-end") == "valid"
	_judge(t.tokens["lane-high-end"], "pro") == "escalation-receipt-invalid:lane"
}

test_fail_malformed_tokens if {
	every bad in [
		"", "abc", "a.b", "a.b.c", 42, true, {"token": 1}, ["x"],
		concat(".", [t.tokens.valid, "x"]),
		concat("", [t.tokens.valid, concat("", ["A" | some _ in numbers.range(1, 8192)])]),
		# a header with alg none, and one with an extra member
		concat(".", ["eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiZGVtby0yMDI2LTAxIn0", split(t.tokens.valid, ".")[1], ""]),
		concat(
			".",
			[
				"eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImRlbW8tMjAyNi0wMSIsImp3ayI6e319",
				split(t.tokens.valid, ".")[1],
				split(t.tokens.valid, ".")[2],
			],
		),
	] {
		_judge(bad, "high-end") == "escalation-receipt-invalid:malformed"
	}
}

test_fail_the_first_failing_check_wins if {
	# other request and other task class and lane: request comes first
	whys := {"request", "task-class", "lane", "data-class"}
	token.verdict("egress-approval", whys) == "egress-approval-invalid:request"
	token.verdict("egress-approval", {"contract", "binding", "artifact"}) == "egress-approval-invalid:binding"
}

test_fail_without_an_evaluation_time_no_token_is_valid if {
	v := _verdict(t.tokens.valid, "high-end") with data.model_router_data.trustAnchors as t.anchors
	v == "escalation-receipt-invalid:expired"
}

test_fail_without_trust_anchors_every_issuer_is_unknown if {
	v := _verdict(t.tokens.valid, "high-end") with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as {}
	v == "escalation-receipt-invalid:issuer"
}

test_success_issuer_lifetime_limit_applies_per_issuer if {
	ok := token.failures(
		"egress-approval",
		t.tokens["egress-desk"],
		"urn:socioprophet:policy-decision:egress-test-0001",
		{"requestId": "req-test-0001", "dataClass": "internal"},
	) with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as t.anchors
	ok == set()
	long := token.failures(
		"egress-approval",
		t.tokens["egress-desk-lifetime"],
		"urn:socioprophet:policy-decision:egress-test-0001",
		{"requestId": "req-test-0001", "dataClass": "internal"},
	) with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as t.anchors
	long == {"lifetime"}
}

test_fail_data_class_not_approved if {
	whys := token.failures(
		"egress-approval",
		t.tokens["egress-data-class"],
		"urn:socioprophet:policy-decision:egress-test-0001",
		{"requestId": "req-test-0001", "dataClass": "internal"},
	) with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as t.anchors
	whys == {"data-class"}
}

test_success_evidence_never_holds_the_token if {
	e := token.evidence(_kind, t.tokens.valid, _ref, "valid")
	e.kind == _kind
	e.issuer == "urn:socioprophet:approval-issuer:demo"
	e.kid == "demo-2026-01"
	e.tokenDigest == sprintf("sha256:%s", [crypto.sha256(t.tokens.valid)])
	e.expiresAt == "2026-06-01T12:50:00Z"
	not t.tokens.valid in {v | some v in e}
}

test_success_evidence_of_a_malformed_token if {
	token.evidence(_kind, 42, null, "x") == {
		"kind": _kind, "ref": null, "issuer": null, "kid": null, "tokenDigest": null, "verdict": "x", "expiresAt": null,
	}
}

test_success_evaluation_echo if {
	token.evaluation == t.evaluation with input.evaluation as t.evaluation
	token.evaluation == null with input.evaluation as {"time": 1}
}

test_fail_non_canonical_base64url_is_malformed if {
	[h, c, s] := split(t.tokens.valid, ".")

	# the last character of a 64-byte signature carries 2 bits of data and 4 unused bits: flipping an
	# unused bit decodes to the same signature, and is still refused
	last := substring(s, count(s) - 1, 1)
	other := {"A": "B", "Q": "R", "g": "h", "w": "x"}[last]
	forged := concat(".", [h, c, concat("", [substring(s, 0, count(s) - 1), other])])
	_judge(forged, "high-end") == "escalation-receipt-invalid:malformed"
	_judge(concat(".", [h, c, concat("", [s, "=="])]), "high-end") == "escalation-receipt-invalid:malformed"
}

# The checks one at a time, as `failures_of` reports them when its fast path does not decide.
_slow_failures(tok, ref, expected) := {"malformed"} if {
	token.parse(tok) == null
} else := {why |
	[header, claims] := token.parse(tok)
	some [why, failed] in token._checks(_kind, tok, header, claims, ref, expected)
	failed
}

test_success_fast_path_agrees_with_every_check if {
	every name, tok in t.tokens {
		fast := token.failures_of(_kind, tok, token.parse(tok), _ref, _expected) with input.evaluation as t.evaluation
			with data.model_router_data.trustAnchors as t.anchors
		slow := _slow_failures(tok, _ref, _expected) with input.evaluation as t.evaluation
			with data.model_router_data.trustAnchors as t.anchors
		[name, fast] == [name, slow]
	}
}

test_success_fast_path_agrees_for_egress_expectations if {
	expected := {"requestId": "req-test-0001", "dataClass": "internal"}
	ref := "urn:socioprophet:policy-decision:egress-test-0001"
	every name, tok in t.tokens {
		fast := token.failures_of("egress-approval", tok, token.parse(tok), ref, expected) with input.evaluation as t.evaluation
			with data.model_router_data.trustAnchors as t.anchors
		slow := {why |
			[header, claims] := token.parse(tok)
			some [why, failed] in token._checks("egress-approval", tok, header, claims, ref, expected)
			failed
		} with input.evaluation as t.evaluation
			with data.model_router_data.trustAnchors as t.anchors
		[name, fast] == [name, slow]
	}
}

test_fail_fast_path_is_never_looser_than_the_checks if {
	# a claim the checks ignore still has to match for the fast path; the checks then decide
	more := object.union(_expected, {"other": "x"})
	whys := token.failures_of(_kind, t.tokens.valid, token.parse(t.tokens.valid), _ref, more) with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as t.anchors
	whys == set()

	# a bad signature alone is reported alone
	bad := token.failures_of(_kind, t.tokens.signature, token.parse(t.tokens.signature), _ref, _expected) with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as t.anchors
	bad == {"signature"}

	# a token whose claim is named dataClass does not stand in for dataClasses
	[header, claims] := token.parse(t.tokens["egress-data-class"])
	forged := object.union(claims, {"dataClass": "internal"})
	egress_ref := "urn:socioprophet:policy-decision:egress-test-0001"
	egress_token := t.tokens["egress-data-class"]
	forged_whys := token.failures_of("egress-approval", egress_token, [header, forged], egress_ref, {"dataClass": "internal"})
		with input.evaluation as t.evaluation
		with data.model_router_data.trustAnchors as t.anchors
	"data-class" in forged_whys
}

test_success_parse_once_then_reuse if {
	token.decoded(t.tokens.valid) == token.parse(t.tokens.valid)
	not token.decoded("a.b.c")
	[header, claims] := token.parse(t.tokens.valid)
	header.kid == "demo-2026-01"
	token.claim_of([header, claims], "maxLane") == "pro"
	token.claim_of([header, claims], "absent") == null
	token.claim(t.tokens.valid, "maxLane") == "pro"
	every bad in [42, "a.b.c", null] {
		token.parse(bad) == null
		token.claim_of(token.parse(bad), "maxLane") == null
		token.failures_of(_kind, bad, token.parse(bad), _ref, _expected) == {"malformed"}
	}
}

test_success_evidence_of_a_parsed_token if {
	parsed := token.parse(t.tokens.valid)
	token.evidence_of(_kind, t.tokens.valid, parsed, _ref, "valid") == token.evidence(_kind, t.tokens.valid, _ref, "valid")
	e := token.evidence_of(_kind, "x", [{"kid": "k"}, {"iss": "i", "exp": "never"}], _ref, "v")
	e == {"kind": _kind, "ref": _ref, "issuer": "i", "kid": "k", "tokenDigest": token.digest("x"), "verdict": "v", "expiresAt": null}
}

# The canonical-base64url check as it was written per segment (alphabet, length, round trip).
default _round_trip_canonical(_) := false

_round_trip_canonical(segment) if {
	regex.match(`^[A-Za-z0-9_-]+$`, segment)
	count(segment) % 4 != 1
	base64url.encode_no_pad(base64url.decode(segment)) == segment
}

test_success_one_pattern_matches_the_round_trip_check if {
	chars := ["A", "E", "Q", "R", "w", "9", "-", "="]
	segments := {concat("", parts) |
		some a in chars
		some b in array.concat([""], chars)
		some c in ["", "Q", "w", "B", "+"]
		some d in ["", "A", "E", "0", "1"]
		parts := [a, b, c, d]
	} | {"", "AAAAA", "AAAAAQ", "AAAAAAE", "AAAAAAB", "AAAA=", "AA\n"}
	every segment in segments {
		matched := regex.match(token._canonical_token, concat(".", [segment, "AA", "AAAA"]))
		[segment, matched] == [segment, _round_trip_canonical(segment)]
	}
}

# max_rank is the one definition of the lane check: lane_exceeds and the callers that judge every
# lane against one token (hosted, escalation) compare a lane's rank with it
test_max_rank_is_the_rank_of_an_allowed_max_lane_else_minus_one if {
	token.max_rank("pro", _ranks, _premium) == 5
	token.max_rank("standard", _ranks, _premium) == -1
	token.max_rank(null, _ranks, _premium) == -1
	token.max_rank("unranked", _ranks, {"unranked"}) == -1
}

test_lane_exceeds_agrees_with_max_rank_for_every_lane if {
	every max_lane in ["standard", "high-end", "pro", null] {
		every lane, rank in _ranks {
			above := rank > token.max_rank(max_lane, _ranks, _premium)
			token.lane_exceeds(max_lane, lane, _ranks, _premium) == above
		}
	}
}
