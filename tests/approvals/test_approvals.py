"""Verified approvals end to end: the router's evaluation time, tokens verified by the policy (never a
permission from a blank, invisible or altered approval), approvals recorded without the token, and the
operator tools. Every decision here is the real OPA's."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router import InvalidBundle, Router, approvals, paths
from router.bundle_input import prepare

BUNDLES = paths.EXAMPLES / "bundles"
DEMO_KEY = paths.EXAMPLES / "approvals" / "demo-issuer-2026.ed25519.pem"
PREMIUM = {"high-end", "pro"}
HOSTED = {"cheap", "standard", "high-end", "pro"}
INVISIBLE = ["", " ", "\t", "\n", "\u200b", "\u200b" * 40, " \u00a0\u2028\u3000\ufeff\u200d\u2060" * 8, "\u0000\u0001\u007f" * 10]


def example(name: str) -> dict:
    return json.loads((BUNDLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    with Router(receipts_dir=tmp_path_factory.mktemp("receipts"), timeout_ms=5000,
                evaluation_time=approvals.FIXTURE_EVALUATION_TIME) as r:
        yield r


def permits(decision, kinds: set[str]) -> bool:
    """Whether the decision lets the request use a lane in KINDS (agent) or the personal/hosted target."""
    return decision.permitted and decision.route in kinds


# -- evaluation time -----------------------------------------------------------------------------


def test_a_caller_supplied_evaluation_time_is_unusable_input():
    bundle = example("agent-architecture-escalated")
    bundle["evaluation"] = {"time": "2026-06-01T12:00:00Z", "timeNs": 1780315200000000000}
    with pytest.raises(InvalidBundle) as exc:
        prepare(bundle, "caller.json")
    assert [(v.file, v.path) for v in exc.value.violations] == [("caller.json", "$.evaluation")]


def test_cli_refuses_a_caller_supplied_evaluation_time_with_exit_2(tmp_path):
    bundle = example("agent-architecture-escalated")
    bundle["evaluation"] = {"time": "2099-01-01T00:00:00Z", "timeNs": 4070908800000000000}
    path = tmp_path / "caller.json"
    path.write_text(json.dumps(bundle))
    out = _cli("decide", str(path), "--no-receipts")
    assert out.returncode == 2
    assert f"{path}: $.evaluation:" in out.stderr.decode()


def test_the_decision_and_receipt_record_the_fixed_evaluation_time(router):
    d = router.decide(BUNDLES / "agent-architecture-escalated.json")
    stamp = approvals.parse_evaluation_time(approvals.FIXTURE_EVALUATION_TIME)
    assert d.get("evaluation") == stamp
    assert d.receipt["evaluation"] == {**stamp, "source": "input"}  # the time OPA evaluated at


def test_without_a_fixed_time_the_router_stamps_its_own_clock(monkeypatch, tmp_path):
    monkeypatch.delenv(approvals.EVALUATION_TIME_ENV, raising=False)
    before = approvals.now_evaluation()["timeNs"]
    with Router(receipts=False, timeout_ms=5000) as r:
        assert r.fixed_evaluation is None
        d = r.decide(BUNDLES / "agent-routine-code-execution.json")
    assert d.get("evaluation")["timeNs"] >= before - 10**9


def test_replay_reuses_a_recorded_evaluation_time(router):
    recorded = approvals.parse_evaluation_time("2026-06-01T12:30:00Z")
    d = router.decide(BUNDLES / "agent-architecture-escalated.json", evaluation=recorded)
    assert d.get("evaluation") == recorded
    late = router.decide(BUNDLES / "agent-architecture-escalated.json", evaluation=approvals.parse_evaluation_time("2027-01-01T00:00:00Z"))
    assert not permits(late, PREMIUM)
    assert "escalation-receipt-invalid:expired" in late.get("requestedEvaluation")["reasons"]


def test_an_unusable_fixed_evaluation_time_is_refused(monkeypatch):
    monkeypatch.setenv(approvals.EVALUATION_TIME_ENV, "yesterday")
    with pytest.raises(approvals.ApprovalError, match="MODEL_ROUTER_EVALUATION_TIME"):
        Router(receipts=False)


# -- blank, invisible and control-character approvals never permit ---------------------------------


@pytest.mark.parametrize("text", INVISIBLE, ids=repr)
def test_invisible_receipt_and_justification_never_permit_a_premium_lane(router, text):
    bundle = example("agent-architecture-escalated")
    esc = bundle["request"]["escalation"]
    esc.pop("receiptToken")
    esc.update({"receiptRef": text or None, "humanJustification": text or None})
    assert not permits(router.decide(bundle), PREMIUM)
    with_token = example("agent-architecture-escalated")
    with_token["request"]["escalation"]["humanJustification"] = text or None
    d = router.decide(with_token)
    assert not permits(d, PREMIUM)
    assert "human-justification-required" in d.get("requestedEvaluation")["reasons"]


@pytest.mark.parametrize("text", INVISIBLE[1:], ids=repr)
def test_invisible_token_text_never_permits(router, text):
    bundle = example("agent-architecture-escalated")
    bundle["request"]["escalation"]["receiptToken"] = text
    d = router.decide(bundle)
    assert not permits(d, PREMIUM)
    assert "escalation-receipt-invalid:malformed" in d.get("requestedEvaluation")["reasons"]


@pytest.mark.parametrize("text", INVISIBLE[1:], ids=repr)
def test_invisible_egress_approval_never_permits_a_hosted_lane(router, text):
    bundle = example("agent-routine-code-confidential-approved")
    bundle["request"].pop("egressApprovalToken")
    bundle["request"]["egressApprovalRef"] = text
    assert not permits(router.decide(bundle), HOSTED)


@pytest.mark.parametrize("text", INVISIBLE[1:], ids=repr)
def test_invisible_consent_and_ledger_approval_never_permit_personal_local(router, text):
    bundle = example("personal-office-assist-consented")
    personal = bundle["request"]["personal"]
    personal.pop("ledgerApprovalToken")
    personal.update({"consentRef": text, "ledgerApprovalRef": text})
    d = router.decide(bundle)
    assert d.route != "personal-local"
    hosted = example("personal-hosted-approved")
    hosted["request"].pop("egressApprovalToken")
    hosted["request"]["egressApprovalRef"] = text
    assert router.decide(hosted).route != "hosted"


def _invisible_cli_cases() -> list[tuple[str, dict, set[str]]]:
    premium = example("agent-architecture-escalated")
    premium["request"]["escalation"] = {"reason": "architecture-decision", "receiptRef": " ", "humanJustification": "\u200b" * 30}
    hosted = example("agent-routine-code-confidential-approved")
    hosted["request"].pop("egressApprovalToken")
    hosted["request"]["egressApprovalRef"] = "\t"
    personal = example("personal-office-assist-consented")
    personal["request"]["personal"].pop("ledgerApprovalToken")
    personal["request"]["personal"].update({"consentRef": " ", "ledgerApprovalRef": "\u200b"})
    return [("premium", premium, PREMIUM), ("hosted", hosted, HOSTED), ("personal", personal, {"personal-local"})]


@pytest.mark.parametrize("case", _invisible_cli_cases(), ids=lambda c: c[0])
def test_cli_never_permits_invisible_approvals(tmp_path, case):
    _, bundle, kinds = case
    path = tmp_path / "zw.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    out = _cli("decide", str(path), "--no-receipts", env={approvals.EVALUATION_TIME_ENV: approvals.FIXTURE_EVALUATION_TIME})
    decision = json.loads(out.stdout)
    route = decision["selected"].get("lane", decision["selected"].get("target"))
    assert route not in kinds, decision["selected"]


def test_an_oversized_or_ill_typed_token_is_unusable_input():
    for token in ("A" * 8193, 42, ["x"]):
        bundle = example("agent-architecture-escalated")
        bundle["request"]["escalation"]["receiptToken"] = token
        with pytest.raises(InvalidBundle) as exc:
            prepare(bundle, "t.json")
        assert any(v.path == "$.request.escalation.receiptToken" for v in exc.value.violations)


# -- any mutation of a valid token is never more permissive than no token ---------------------------

CASES = {
    # bundle, where the token sits, what the token may permit
    "agent-architecture-escalated": (("request", "escalation", "receiptToken"), PREMIUM),
    "agent-routine-code-confidential-approved": (("request", "egressApprovalToken"), HOSTED),
    "personal-office-assist-consented": (("request", "personal", "ledgerApprovalToken"), {"personal-local"}),
    "personal-hosted-approved": (("request", "egressApprovalToken"), {"hosted"}),
}


def _set(doc: dict, where: tuple, value) -> dict:
    out = copy.deepcopy(doc)
    node = out
    for key in where[:-1]:
        node = node[key]
    if value is None:
        node.pop(where[-1], None)
    else:
        node[where[-1]] = value
    return out


@st.composite
def mutations(draw, token: str):
    i = draw(st.integers(0, len(token) - 1))
    op = draw(st.sampled_from(["replace", "delete", "insert"]))
    char = draw(st.characters(codec="utf-8", exclude_characters="\x00") | st.sampled_from(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=")))
    if op == "replace":
        if char == token[i]:
            char = "A" if token[i] != "A" else "B"
        return token[:i] + char + token[i + 1:]
    if op == "delete":
        return token[:i] + token[i + 1:]
    return token[:i] + char + token[i:]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_mutated_token_is_never_more_permissive_than_no_token(router, name):
    where, kinds = CASES[name]
    bundle = example(name)
    node = bundle
    for key in where:
        node = node[key]
    token = node
    assert permits(router.decide(bundle), kinds), "the unmutated token must permit, or the test proves nothing"
    baseline = router.decide(_set(bundle, where, None))
    assert not permits(baseline, kinds)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(mutated=mutations(token))
    def check(mutated):
        d = router.decide(_set(bundle, where, mutated))
        assert not d.fault, d.detail
        if d.permitted:
            assert d.route == baseline.route and baseline.permitted, (mutated, d.route)
        assert not permits(d, kinds)

    check()


# -- evidence: approvals in decisions and receipts, never the token ---------------------------------


def test_approvals_are_recorded_with_a_digest_never_the_token(router):
    bundle = example("agent-architecture-escalated")
    token = bundle["request"]["escalation"]["receiptToken"]
    d = router.decide(bundle)
    kinds = {a["kind"]: a for a in d.get("approvals")}
    receipt = kinds["escalation-receipt"]
    assert receipt["verdict"] == "valid"
    assert receipt["issuer"] == "urn:socioprophet:approval-issuer:demo"
    assert receipt["kid"] == "demo-2026-01"
    assert receipt["ref"] == bundle["request"]["escalation"]["receiptRef"]
    assert receipt["tokenDigest"] == "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    assert d.receipt["approvals"] == d.get("approvals")
    for text in (json.dumps(d.to_dict()), json.dumps(d.receipt), router.receipts_path.read_text(encoding="utf-8")):
        for part in token.split("."):
            assert part not in text


def test_personal_decisions_record_the_consent_contract_and_status(router):
    d = router.decide(BUNDLES / "personal-office-assist-consented.json")
    consent = next(a for a in d.get("approvals") if a["kind"] == "consent")
    assert consent["contractId"] == "urn:socioprophet:personal-tuning-contract:demo-user-local-llama32"
    assert consent["consentStatus"] == "granted"
    assert consent["verdict"] == "valid"
    assert d.receipt["approvals"] == d.get("approvals")


def test_explain_renders_an_expired_receipt_with_its_remediation(router):
    late = approvals.parse_evaluation_time("2027-01-01T00:00:00Z")
    with Router(receipts=False, timeout_ms=5000, evaluation_time=late["time"]) as r:
        text = r.explain(BUNDLES / "agent-architecture-escalated.json").text
    assert "escalation-receipt-invalid:expired" in text
    assert "obtain a new escalation receipt: the one given expired at 2026-06-01T15:50:00Z" in text


# -- operator tools ----------------------------------------------------------------------------------


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    return subprocess.run([sys.executable, "-m", "router.cli", *args], capture_output=True, cwd=paths.ROOT,
                          env={**base, **(env or {})}, timeout=120)


def test_keygen_issue_inspect_round_trip(tmp_path, router):
    key = tmp_path / "issuer.pem"
    out = _cli("approvals", "keygen", "--out", str(key), "--kid", "k-1")
    assert out.returncode == 0, out.stderr
    entry = json.loads(out.stdout)
    assert entry["kid"] == "k-1" and entry["status"] == "active" and entry["jwk"]["kty"] == "OKP"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE" not in out.stdout
    again = _cli("approvals", "keygen", "--out", str(key), "--kid", "k-2")
    assert again.returncode == 2 and b"already exists" in again.stderr
    issued = _cli("approvals", "issue", "--purpose", "egress-approval", "--key", str(DEMO_KEY), "--kid", "demo-2026-01",
                  "--issuer", "urn:socioprophet:approval-issuer:demo", "--request-id", "req-agent-x", "--jti", "urn:x:1",
                  "--data-class", "internal", "--max-lane", "standard", "--issued-at", "1780315000")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.decode().strip()
    shown = json.loads(_cli("approvals", "inspect", token).stdout)
    assert shown["header"] == {"alg": "EdDSA", "kid": "demo-2026-01", "typ": "JWT"}
    assert shown["claims"]["dataClasses"] == ["internal"] and shown["claims"]["exp"] == 1780315000 + 3600
    assert "verdict" not in shown
    bad = _cli("approvals", "inspect", "not-a-token")
    assert bad.returncode == 2 and b"three base64url segments" in bad.stderr


# -- hostile tokens: decided by the policy (strict built-in errors), never an engine fault ----------


def _b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hostile_tokens(valid: str) -> list[str]:
    header, claims, sig = valid.split(".")
    shown = approvals.inspect(valid)
    good_header, good_claims = shown["header"], shown["claims"]
    h = _b64(json.dumps(good_header).encode())
    nested = ('{"a":' * 30 + "1" + "}" * 30).encode()
    variants = [
        f"{header}.{claims}.{sig[:40]}", f"{header}.{claims}.{sig[:84]}", f"{header}.{claims}.", f"{header}..{sig}",
        f".{claims}.{sig}", f"{header}.{claims}.{_b64(b'x' * 63)}", f"{header}.{claims}.{_b64(b'x' * 65)}",
        f"{_b64(b'1')}.{claims}.{sig}", f"{_b64(b'[1]')}.{claims}.{sig}", f"{h}.{_b64(b'null')}.{sig}",
        f"{h}.{_b64(b'[1]')}.{sig}", f"{h}.{_b64(bytes(range(256)))}.{sig}", f"{h}.{_b64(b'{}')}.{sig}",
        f"{_b64(json.dumps({**good_header, 'kid': {'a': 1}}).encode())}.{claims}.{sig}",
        f"{_b64(json.dumps({**good_header, 'alg': 'none'}).encode())}.{claims}.",
        f"{_b64(json.dumps({**good_header, 'cty': 'JWT'}).encode())}.{claims}.{sig}",
        f"{h}.{_b64(nested)}.{sig}",
    ]
    for patch in ({"exp": 1e300}, {"exp": -1}, {"exp": "soon"}, {"iat": "now"}, {"nbf": None}, {"iat": 1e300},
                  {"dataClasses": "internal"}, {"maxLane": ["pro"]}, {"requestId": {"x": 1}}, {"jti": 7},
                  {"iss": ["x"]}, {"purpose": None}, {"taskClass": "\u200b"}):
        variants.append(f"{h}.{_b64(json.dumps({**good_claims, **patch}).encode())}.{sig}")
    return variants


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_tokens_are_verdicts_not_faults(router, name):
    where, kinds = CASES[name]
    bundle = example(name)
    node = bundle
    for key in where:
        node = node[key]
    decisions = router.decide_many([_set(bundle, where, t) for t in _hostile_tokens(node)])
    for token, d in zip(_hostile_tokens(node), decisions, strict=False):
        assert not d.fault, (token, d.detail)
        assert not permits(d, kinds), token
        digest = "sha256:" + hashlib.sha256(token.encode()).hexdigest()
        assert [a["verdict"] for a in d.get("approvals") if a["tokenDigest"] == digest and a["verdict"] == "valid"] == []
