"""What a receipt records (the prompt-free request summary, the evaluation time, a prompt digest keyed
per log) and the signing key (keygen, a configured key, the router's own)."""

from __future__ import annotations

import copy
import hashlib
import json
import stat

import pytest
from bundles import personal_bundle
from click.testing import CliRunner

from router import Router, paths
from router.cli import main
from router.receipts import (
    LOG_NAME,
    ReceiptLog,
    build_receipt,
    checkpoint,
    default_key_path,
    read_head,
    verify,
)

PROMPT = "yes"  # a short prompt: a dictionary of prompts would confirm a plain sha256 at once


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    with Router(receipts_dir=tmp_path_factory.mktemp("unused"), timeout_ms=10000) as r:
        yield r


def use_log(router, folder, **kw) -> None:
    router.receipt_log.close()
    router.receipt_log = ReceiptLog(folder / LOG_NAME, fsync=False, **kw)


def example(name: str) -> dict:
    return json.loads((paths.EXAMPLES / "bundles" / f"{name}.json").read_text(encoding="utf-8"))


def test_a_receipt_records_the_request_without_its_prompt(router, tmp_path):
    use_log(router, tmp_path / "a")
    bundle = example("agent-architecture-escalated")
    bundle["request"]["prompt"] = {"text": "a secret plan for the architecture"}
    bundle["request"]["escalation"]["humanJustification"] = "free text that is not recorded in the receipt"
    receipt = router.decide(bundle).receipt
    request = receipt["request"]
    assert request["taskClass"] == "architecture-decision" and request["stage"] == "planning"
    assert request["riskClass"] == "high" and request["dataClass"] == "internal" and request["requestedLane"] == "high-end"
    assert request["escalation"] == {"reason": "architecture-decision", "receiptRef": "urn:socioprophet:escalation-receipt:arch-031"}
    assert request["personal"] is None and request["subject"]["userRef"] == "urn:socioprophet:user:demo-user"
    text = (tmp_path / "a" / LOG_NAME).read_text()
    assert "secret plan" not in text and "free text" not in text
    personal = router.decide(personal_bundle("p-1")).receipt["request"]
    assert personal["personal"] == {"bindingRef": "urn:socioprophet:model-router-binding:demo-user-local-llama32", "routeId": "local-router"}


def test_the_evaluation_time_comes_from_the_input_when_it_carries_one():
    doc = {"kind": "LocalPersonalRouteDecision", "decisionId": "urn:socioprophet:model-route-decision:" + "0" * 24,
           "policyRevision": "r", "selected": {"target": None, "status": "denied", "reason": "x", "reasons": ["x"]}}
    given = {"request": {"requestId": "r"}, "evaluation": {"time": "2026-05-01T10:00:00Z", "timeNs": 1777629600000000000}}
    clock = {"time": "2026-11-30T00:00:00.000Z", "timeNs": 1}
    from_input = build_receipt(doc, input_digest="sha256:" + "0" * 64, prompt_digest=None, issued_at="t", bundle=given, evaluation=clock)
    assert from_input["evaluation"] == {"time": "2026-05-01T10:00:00Z", "timeNs": 1777629600000000000, "source": "input"}
    from_router = build_receipt(doc, input_digest="sha256:" + "0" * 64, prompt_digest=None, issued_at="t", bundle={"request": {}}, evaluation=clock)
    assert from_router["evaluation"] == {"time": "2026-11-30T00:00:00.000Z", "timeNs": 1, "source": "router"}


def test_the_receipt_records_the_time_the_policy_evaluated_at(router, tmp_path):
    """The router stamps input.evaluation on every query; the receipt records that stamp (as echoed by the
    decision), not the later moment the receipt was written."""
    use_log(router, tmp_path / "e")
    d = router.decide(personal_bundle("e-1"))
    stamped = d.get("evaluation")
    assert isinstance(stamped, dict) and stamped["time"]
    assert d.receipt["evaluation"] == {**stamped, "source": "input"}


def test_the_prompt_digest_is_keyed_per_log(router, tmp_path):
    plain = hashlib.sha256(PROMPT.encode()).hexdigest()
    seen = []
    for name in ("one", "two"):
        use_log(router, tmp_path / name)
        d = router.decide(personal_bundle(f"k-{name}", prompt={"text": PROMPT}))
        log = tmp_path / name / LOG_NAME
        assert d.prompt_digest == "sha256:" + plain  # the caller's own decision keeps the request's digest
        assert plain not in log.read_text()  # the log does not
        secret = checkpoint.prompt_digest_key(checkpoint.load_private_key(default_key_path(log)), read_head(log)[0]["logId"])
        assert d.receipt["promptDigest"] == checkpoint.keyed_prompt_digest(secret, "sha256:" + plain)  # whoever holds the key can confirm
        seen.append(d.receipt["promptDigest"])
    assert seen[0] != seen[1]  # another log, another key: the same prompt cannot be linked across logs


def test_keygen_makes_a_private_key_and_the_router_signs_with_the_configured_one(tmp_path):
    key = tmp_path / "keys" / "signing.key"
    result = CliRunner().invoke(main, ["receipts", "keygen", str(key)])
    assert result.exit_code == 0 and "ed25519:" in result.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    again = CliRunner().invoke(main, ["receipts", "keygen", str(key)])
    assert again.exit_code == 2 and "not overwriting" in again.output
    folder = tmp_path / "receipts"
    with Router(receipts_dir=folder, receipts_key=key, timeout_ms=10000) as r:
        assert r.decide(personal_bundle("signed")).receipt is not None
    assert not default_key_path(folder / LOG_NAME).exists()  # no key of its own when one is configured
    result = CliRunner().invoke(main, ["receipts", "verify", str(folder), "--key", f"{key}.pub"])
    assert result.exit_code == 0 and "pinned key" in result.output
    other = tmp_path / "other.key"
    CliRunner().invoke(main, ["receipts", "keygen", str(other)])
    result = CliRunner().invoke(main, ["receipts", "verify", str(folder), "--key", f"{other}.pub"])
    assert result.exit_code == 3 and "does not verify with the pinned key" in result.output


@pytest.mark.parametrize("problem", ["missing", "readable-by-others"])
def test_an_unusable_configured_key_fails_closed(router, tmp_path, problem):
    key = tmp_path / "signing.key"
    if problem == "readable-by-others":
        checkpoint.generate_key(key)
        key.chmod(0o644)
    use_log(router, tmp_path / "r", key_path=key)
    d = router.decide(personal_bundle("no-key"))
    assert d.fault == "evidence-unavailable" and d.receipt is None
    assert ("does not exist" if problem == "missing" else "readable by others") in d.detail


def test_a_receipt_written_by_the_log_validates_against_the_schema(router, tmp_path):
    from jsonschema import Draft202012Validator

    schema = json.loads((paths.SCHEMAS / "route-decision-receipt.schema.json").read_text())
    use_log(router, tmp_path / "s")
    bundles = [example("agent-architecture-escalated"), personal_bundle("s-1", prompt={"text": PROMPT}), example("agent-log-triage-local")]
    for d in router.decide_many(copy.deepcopy(bundles)):
        assert list(Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(d.receipt)) == []
    assert verify(tmp_path / "s" / LOG_NAME).ok
