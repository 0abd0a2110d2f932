"""Router against the real managed OPA: decisions, batches, explanations, guardrail projection,
prompt-text hygiene, settings, and concurrent use from threads."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from api_helpers import (
    GUARDRAIL_SCHEMA,
    decision_schema,
    example_bundles,
    expected_for,
    load,
    personal_bundle,
    schema_errors,
)

from router import Decision, InvalidBundle, Router, demo
from router import engine as eng
from router import expected as expected_mod
from router.bundle_input import load as bi_prepare
from router.config import ConfigError
from router.decision import decision_id
from router.receipts import verify

CANARY = "CANARY-7f3a-prompt-text-must-never-leave-the-caller"
EXAMPLES = [p for p in example_bundles() if expected_for(p)]
PERSONAL_EXAMPLES = [p for p in EXAMPLES if p.name.startswith("personal-")]
VALID_EXAMPLES = [p for p in EXAMPLES if expected_for(p).get("schemaValidInput") is not False]


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    with Router(receipts_dir=tmp_path_factory.mktemp("receipts"), timeout_ms=5000) as r:
        yield r


@pytest.fixture(scope="module")
def logged_router(tmp_path_factory):
    """A router whose OPA writes its decision log (every input it receives) to a file we can grep."""
    folder = tmp_path_factory.mktemp("logged")
    with Router(
        receipts_dir=folder / "receipts",
        timeout_ms=5000,
        opa_args=["--set", "decision_logs.console=true", "--log-level", "info"],
        opa_log=folder / "opa.log",
    ) as r:
        yield r, folder / "opa.log"


def _opa_log_entries(log: Path, path_suffix: str) -> list[dict]:
    out = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "Decision Log" and str(entry.get("path", "")).endswith(path_suffix):
            out.append(entry)
    return out


# -- decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_bundles_decide_as_expected_with_valid_documents(router, path):
    expected = expected_for(path)
    try:
        bi_prepare(path)
    except InvalidBundle as exc:
        # a bundle that fails the input schema is refused before OPA is asked (CLI exit code 2);
        # its expected outcome must be a refusal too
        assert demo.refusal_expected(expected), exc
        with pytest.raises(InvalidBundle):
            router.decide(path)
        return
    decision = router.decide(path)
    assert decision.fault is None, decision.detail
    assert expected_mod.problems(router.engine, decision.to_dict(), expected) == []  # the one comparison (router.expected)
    doc = decision.to_dict()
    assert schema_errors(doc, decision_schema(decision)) == []
    assert doc["decisionId"] == decision.decision_id and doc["policyRevision"] == decision.policy_revision
    assert decision.policy_revision == router.engine.bundle_revision
    assert decision.input_digest.startswith("sha256:")
    assert schema_errors(decision.receipt, "route-decision-receipt") == []
    assert decision.receipt["decisionId"] == decision.decision_id
    guardrail = decision.to_guardrail()
    assert schema_errors(guardrail, GUARDRAIL_SCHEMA) == []
    if decision.is_personal:
        assert guardrail["decision"] == {"selected": "allow", "fallback": "allow_with_context", "denied": "deny"}[decision.status]
    elif decision.requires_human_approval and decision.status == "deferred":
        assert guardrail["decision"] == "escalate"
    else:
        assert guardrail["decision"] == {"selected": "allow", "downgraded": "allow_with_context", "deferred": "defer",
                                         "denied": "deny", "quarantined": "quarantine"}[decision.status]
    assert guardrail["effects"]["agentMayContinue"] is decision.permitted
    assert guardrail["decisionId"] == decision.receipt["receiptId"]  # one guardrail event per receipt
    assert guardrail["evidence"]["routeDecisionId"] == decision.decision_id
    assert guardrail["evidence"]["inputDigest"] == decision.input_digest
    assert guardrail["policyVersion"] == decision.policy_revision == guardrail["policyHash"]
    assert decision.exit_code == (0 if decision.status in ("selected", "downgraded", "fallback") else 3)


def test_same_input_same_policy_gives_the_same_decision_id(router):
    bundle = personal_bundle("req-same")
    a, b = router.decide(bundle), router.decide(dict(bundle))
    assert a.decision_id == b.decision_id
    canonical = json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    assert a.decision_id == decision_id(canonical, a.policy_revision)
    assert a.decision_id != decision_id(canonical, "sha256:" + "0" * 64)
    other = router.decide(personal_bundle("req-other"))
    assert other.decision_id != a.decision_id
    assert a.input_digest == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_to_dict_is_a_copy_and_typed_fields_match_it(router):
    decision = router.decide(personal_bundle("req-copy"))
    doc = decision.to_dict()
    doc["selected"]["status"] = "tampered"
    assert decision.status != "tampered"
    assert isinstance(decision, Decision)
    assert decision.kind == "LocalPersonalRouteDecision" and decision.is_personal
    assert [t.target for t in decision.targets] == [t["target"] for t in decision.to_dict()["targets"]]
    assert decision.route == decision.target and decision.lane is None
    assert "Decision(" in repr(decision)


def test_decide_many_matches_single_decisions_in_one_round_trip(logged_router):
    router, log = logged_router
    bundles = [load(p) for p in VALID_EXAMPLES[::8]]  # both families, one batch
    singles = [router.decide(b) for b in bundles]
    before_batch = len(_opa_log_entries(log, "model_router/batch/results"))
    before_single = len(_opa_log_entries(log, "model_router/projection/result"))
    many = router.decide_many(bundles)
    assert len(_opa_log_entries(log, "model_router/batch/results")) == before_batch + 1
    assert len(_opa_log_entries(log, "model_router/projection/result")) == before_single
    assert [d.decision_id for d in many] == [d.decision_id for d in singles]
    strip = lambda d: {k: v for k, v in d.to_dict().items() if k != "createdAt"}  # noqa: E731
    assert [strip(d) for d in many] == [strip(d) for d in singles]
    assert all(d.receipt for d in many)
    assert verify(router.receipts_path).ok
    assert router.decide_many([]) == []


def test_decide_many_rejects_unusable_bundles_before_asking_opa(logged_router):
    router, log = logged_router
    before = len(_opa_log_entries(log, "model_router/batch/results"))
    broken = personal_bundle("req-broken")
    broken["request"]["bogus"] = True
    with pytest.raises(InvalidBundle) as info:
        router.decide_many([personal_bundle("ok"), broken, {"kind": "RouteInputBundle"}])
    sources = {v.file for v in info.value.violations}
    assert sources == {"bundles[1]", "bundles[2]"}
    assert any(v.path == "$.request" or v.path.startswith("$.request") for v in info.value.violations)
    assert len(_opa_log_entries(log, "model_router/batch/results")) == before


# -- prompt text ----------------------------------------------------------------------------


def test_prompt_text_is_hashed_and_never_reaches_opa_receipts_or_outputs(logged_router):
    router, log = logged_router
    bundle = personal_bundle("req-canary", prompt={"text": CANARY})
    original = json.dumps(bundle, sort_keys=True)
    digest = hashlib.sha256(CANARY.encode()).hexdigest()
    decision = router.decide(bundle)
    many = router.decide_many([bundle, personal_bundle("req-canary-2", prompt={"text": CANARY + "!"})])
    explanation = router.explain(bundle)
    assert json.dumps(bundle, sort_keys=True) == original  # the caller's object is untouched
    assert decision.to_dict()["input"]["prompt"] == {"sha256": digest, "chars": len(CANARY)}
    assert decision.prompt_digest == "sha256:" + digest
    # the receipt log keeps only a digest keyed per log (no dictionary confirmation from the log alone)
    from router.receipts import checkpoint, default_key_path, read_head

    secret = checkpoint.prompt_digest_key(checkpoint.load_private_key(default_key_path(router.receipts_path)), read_head(router.receipts_path)[0]["logId"])
    assert decision.receipt["promptDigest"] == checkpoint.keyed_prompt_digest(secret, "sha256:" + digest)
    assert digest not in decision.receipt["promptDigest"]
    outputs = [decision.to_dict(), decision.to_guardrail(), decision.receipt, explanation.to_dict(), explanation.text]
    outputs += [d.to_dict() for d in many] + [d.receipt for d in many]
    assert CANARY not in json.dumps(outputs)
    opa_log = log.read_text(encoding="utf-8", errors="replace")
    assert digest in opa_log  # OPA's decision log did record the input it received...
    assert CANARY not in opa_log  # ...without the prompt text
    for written in router.receipts_path.parent.rglob("*"):
        if written.is_file():
            assert CANARY.encode() not in written.read_bytes()


def test_prompt_digest_given_without_text_is_kept(router):
    digest = "ab" * 32
    decision = router.decide(personal_bundle("req-digest", prompt={"sha256": digest, "chars": 12}))
    assert decision.prompt_digest == "sha256:" + digest
    assert decision.to_dict()["input"]["prompt"] == {"sha256": digest, "chars": 12}


def test_text_that_contradicts_its_digest_is_unusable(router):
    with pytest.raises(InvalidBundle, match=r"\$\.request\.prompt\.sha256"):
        router.decide(personal_bundle("req-x", prompt={"text": "hello", "sha256": "00" * 32, "chars": 5}))


# -- unusable input -------------------------------------------------------------------------


def test_invalid_file_names_file_path_and_expectation(router, tmp_path):
    bad = personal_bundle("req-bad")
    bad["resources"]["batteryState"] = "empty"
    del bad["request"]["taskClass"]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    with pytest.raises(InvalidBundle) as info:
        router.decide(f)
    text = str(info.value)
    assert str(f) in text
    paths_ = {v.path for v in info.value.violations}
    assert "$.resources.batteryState" in paths_
    assert any("taskClass" in v.path or "taskClass" in v.expected for v in info.value.violations)
    battery = next(v for v in info.value.violations if v.path == "$.resources.batteryState")
    assert "normal" in battery.expected and "empty" in battery.found


def test_missing_file_is_unusable(router, tmp_path):
    with pytest.raises(InvalidBundle, match="no such file"):
        router.decide(tmp_path / "absent.json")


# -- explanations -----------------------------------------------------------------------------


def test_explain_renders_every_target_with_reasons_and_remedies(router):
    path = next(p for p in PERSONAL_EXAMPLES if expected_for(p)["status"] == "fallback")
    explanation = router.explain(path)
    decision = explanation.decision
    text = explanation.text
    assert f"{decision.status} target {decision.target}" in text
    rejected = [t for t in decision.targets if not t.admissible]
    assert rejected
    for t in rejected:
        assert t.target in text
        for code in t.reasons:
            assert f"({code})" in text
    assert "what would change the outcome" in text
    assert explanation.changes and all(isinstance(c, str) for c in explanation.changes)
    assert explanation.to_dict()["decision"]["decisionId"] == decision.decision_id


def test_explain_of_a_fault_names_the_fault(tmp_path):
    with Router(opa_url=f"http://127.0.0.1:{eng.free_port()}", receipts=False) as r:
        explanation = r.explain(personal_bundle("req-f"))
    assert explanation.decision.reason == eng.ENGINE_UNAVAILABLE
    assert "engine-unavailable" in explanation.text and "fault:" in explanation.text


# -- threads ----------------------------------------------------------------------------------


def test_concurrent_decisions_from_threads(router):
    paths_ = PERSONAL_EXAMPLES[:8]
    expected = {p: expected_for(p)["status"] for p in paths_}
    start_count = verify(router.receipts_path).receipts if router.receipts_path.exists() else 0
    results, errors = [], []
    lock = threading.Lock()

    def work(k):
        try:
            for i in range(10):
                p = paths_[(k + i) % len(paths_)]
                d = router.decide(p)
                with lock:
                    results.append((p, d))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 80
    for p, d in results:
        assert d.fault is None, d.detail
        assert d.status == expected[p]
    report = verify(router.receipts_path)
    assert report.ok and report.receipts == start_count + 80


# -- remote OPA and settings ------------------------------------------------------------------


def test_remote_opa_by_environment_gives_the_same_decisions(monkeypatch, tmp_path):
    bundle = personal_bundle("req-remote")
    with Router(auth=False, receipts=False) as managed:
        local = managed.decide(bundle)
        monkeypatch.setenv("MODEL_ROUTER_OPA_URL", managed.engine.url)
        monkeypatch.setenv("MODEL_ROUTER_RECEIPTS_DIR", str(tmp_path))
        with Router() as remote:
            assert isinstance(remote.engine, eng.RemoteEngine)
            answer = remote.decide(bundle)
    assert answer.decision_id == local.decision_id
    strip = lambda d: {k: v for k, v in d.to_dict().items() if k != "createdAt"}  # noqa: E731
    assert strip(answer) == strip(local)
    assert verify(tmp_path / "receipts.jsonl").receipts == 1


def test_config_file_sets_the_opa_url_and_receipts(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_ROUTER_OPA_URL", raising=False)
    port = eng.free_port()
    cfg = tmp_path / "model-router.yaml"
    cfg.write_text(f"opa_url: http://127.0.0.1:{port}\ntimeout_ms: 250\nreceipts_dir: {tmp_path / 'r'}\nfsync: false\n")
    with Router(config_file=cfg) as r:
        assert r.engine.timeout_s == 0.25 and r.receipt_log.fsync is False
        d = r.decide(personal_bundle("req-cfg"))
    assert d.reason == eng.ENGINE_UNAVAILABLE
    assert verify(tmp_path / "r" / "receipts.jsonl").receipts == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [("opa_ur: x\n", "unknown setting"), ("timeout_ms: fast\n", "timeout_ms"), ("- a\n", "mapping"), ("receipts: maybe\n", "receipts")],
)
def test_bad_config_file_is_reported_with_its_name(tmp_path, content, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        Router(config_file=cfg)
    assert str(cfg) in str(info.value)


def test_bad_timeout_in_environment_is_reported(monkeypatch):
    monkeypatch.setenv("MODEL_ROUTER_TIMEOUT_MS", "-5")
    with pytest.raises(ConfigError, match="MODEL_ROUTER_TIMEOUT_MS"):
        Router()


def test_receipts_can_be_switched_off(tmp_path):
    with Router(receipts=False, opa_url=f"http://127.0.0.1:{eng.free_port()}") as r:
        d = r.decide(personal_bundle("req-off"))
        assert r.receipts_path is None
    assert d.receipt is None and d.reason == eng.ENGINE_UNAVAILABLE
