"""Contract tests against guardrail-fabric's own code: every example bundle, faults and unusable input
become its PolicyDecision, its render_claude_code_response (PreToolUse and PostToolUse) blocks exactly
what the router refuses, its append_decision logs them, every reason code is in `reason`, and the route
evidence its Evidence cannot hold is in the side record keyed by the guardrail decision id."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from router import InvalidBundle, Router, guardrail, paths
from router import engine as eng
from router.approvals import EVALUATION_TIME_ENV

# the integration module imports without guardrail-fabric (require() reports its absence)
from router.integrations import guardrail_fabric as gfi

gfd = pytest.importorskip("guardrail_fabric.decision")
gfh = pytest.importorskip("guardrail_fabric.hooks")
gfl = pytest.importorskip("guardrail_fabric.log")
gfp = pytest.importorskip("guardrail_fabric.policies")

# guardrail-fabric's own schema (vendored unchanged in schemas/)
GUARDRAIL_VALIDATOR = Draft202012Validator(json.loads((paths.SCHEMAS / "sourceos.guardrail.decision.v0.1.schema.json").read_text()))
GUARDRAIL_SCHEMA = None


def schema_errors(doc, _schema=None) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in GUARDRAIL_VALIDATOR.iter_errors(doc)]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def example_bundles() -> list[Path]:
    return sorted(p for p in (paths.EXAMPLES / "bundles").glob("*.json") if not p.name.endswith(".expected.json"))


BLOCKING = {"deny", "quarantine", "defer", "escalate"}
EVIDENCE_FIELDS = {f.name for f in dataclasses.fields(gfd.Evidence)}
BUNDLES = example_bundles()


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    with Router(receipts_dir=tmp_path_factory.mktemp("receipts"), timeout_ms=5000) as r:
        yield r


@pytest.fixture(scope="module")
def decided(router):
    """(name, decision or None, projection) for every example bundle; None when the bundle is unusable."""
    out = []
    for path in BUNDLES:
        try:
            decision = router.decide(path)
        except InvalidBundle as exc:
            out.append((path.name, None, guardrail.unusable_projection(exc.violations, router._guardrail_context)))
            continue
        out.append((path.name, decision, decision.to_guardrail()))
    return out


def _check_rendering(pd):
    """guardrail-fabric's renderer blocks exactly the blocking decisions, for both hook events."""
    value = pd.decision.value
    pre, pre_code = gfh.render_claude_code_response(pd, event_name="PreToolUse")
    post, post_code = gfh.render_claude_code_response(pd, event_name="PostToolUse")
    assert pre_code == post_code == 0
    if value == "allow":
        assert pre is None and post is None
    elif value in BLOCKING:
        assert pre["hookSpecificOutput"]["permissionDecision"] == "deny"
        assert post["decision"] == "block"
    else:
        assert "permissionDecision" not in pre["hookSpecificOutput"] and "decision" not in post
        assert pre["hookSpecificOutput"]["additionalContext"] == gfh.decision_message(pd)
    return pre, post


def _check_logged(pd, evidence, log_file: Path):
    gfi.append_decision(pd, path=log_file, evidence=evidence)
    logged = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert logged[-1] == json.loads(pd.to_json())
    side = [json.loads(line) for line in (log_file.parent / gfi.EVIDENCE_LOG_NAME).read_text().splitlines()]
    assert side[-1]["guardrailDecisionId"] == pd.decisionId
    return side[-1]["routeEvidence"]


def test_every_example_bundle_through_guardrail_fabric(decided, tmp_path):
    assert len(decided) == len(BUNDLES) and any(d is None for _, d, _ in decided)
    log_file = tmp_path / "logs" / "guardrail-decisions.jsonl"
    seen = set()
    for name, decision, doc in decided:
        pd = gfi.from_projection(doc)
        assert isinstance(pd, gfd.PolicyDecision), name
        assert isinstance(pd.decision, gfd.Decision) and isinstance(pd.scope, gfd.Scope), name
        assert isinstance(pd.evidence, gfd.Evidence) and isinstance(pd.effects, gfd.Effects), name
        assert pd.evidence.actionClass is gfd.ActionClass.MODEL, name
        assert schema_errors(json.loads(pd.to_json()), GUARDRAIL_SCHEMA) == [], name
        assert pd.policyVersion != "unknown" and pd.decisionId, name
        assert pd.effects == gfd.default_effects_for_decision(pd.decision), name
        seen.add(pd.decision.value)
        if decision is None:
            assert pd.decision.value in ("quarantine", "defer"), name
        else:
            # blocking exactly when the router refuses the request
            assert (pd.decision.value in BLOCKING) is (not decision.permitted), name
            assert pd.decisionId == decision.receipt["receiptId"], name
            assert pd.policyVersion == decision.policy_revision, name
            for code in decision.reasons:
                assert code in pd.reason, (name, code)
            remediation = guardrail.remediation_for(decision._guardrail_context.reasons, decision.reason)
            if remediation:
                assert pd.remediation == remediation, name
        _check_rendering(pd)
        kept = _check_logged(pd, gfi.route_evidence(doc), log_file)
        # nothing of the route evidence is lost: each member is in its Evidence or in the side record
        for key, value in doc["evidence"].items():
            if key == "actionClass":
                assert pd.evidence.actionClass.value == value == "model"
            elif key in EVIDENCE_FIELDS:
                assert getattr(pd.evidence, key) == value, (name, key)
            else:
                assert kept[key] == value, (name, key)
        if decision is not None:
            assert kept["routeDecisionId"] == decision.decision_id and kept["reasonCodes"] == list(decision.reasons)
    assert {"allow", "allow_with_context", "defer", "deny", "quarantine"} <= seen


def test_to_policy_decision_uses_the_event_context(router):
    ctx = gfp.PolicyContext(tool="model-call", action_class=gfd.ActionClass.MODEL, tool_input={}, cwd="/w", session_id="s-1",
                            agent_id="claude-code", repo="r", branch="b", commit="c")
    decision = router.decide(BUNDLES[0])
    pd = gfi.to_policy_decision(decision, ctx)
    assert (pd.evidence.cwd, pd.evidence.sessionId, pd.evidence.agentId, pd.evidence.repo) == ("/w", "s-1", "claude-code", "r")
    assert pd.evidence.inputDigest == decision.input_digest and pd.evidence.tool == "model-router"


def test_without_receipts_each_event_gets_a_fresh_guardrail_id():
    with Router(receipts=False, timeout_ms=5000) as r:
        decision = r.decide(BUNDLES[0])
        a, b = gfi.to_policy_decision(decision), gfi.to_policy_decision(decision)
        again = r.decide(BUNDLES[0])
    assert a.decisionId != b.decisionId != gfi.to_policy_decision(again).decisionId
    assert again.decision_id == decision.decision_id  # the route decision stays content-addressed
    assert gfi.route_evidence(decision)["routeDecisionId"] == decision.decision_id


def test_fault_is_a_blocking_decision_with_a_named_version(tmp_path):
    with Router(opa_url=f"http://127.0.0.1:{eng.free_port()}", receipts=False, timeout_ms=500) as r:
        decision = r.decide(BUNDLES[0])
    assert decision.fault == "engine-unavailable"
    pd = gfi.to_policy_decision(decision)
    assert pd.decision is gfd.Decision.DENY
    assert pd.policyVersion == guardrail.FAULT_POLICY_VERSION and pd.policyHash is None
    assert "engine-unavailable" in pd.reason
    pre, _post = _check_rendering(pd)
    assert "engine-unavailable" in pre["hookSpecificOutput"]["permissionDecisionReason"]
    kept = _check_logged(pd, gfi.route_evidence(decision), tmp_path / "g.jsonl")
    assert kept["reasonCodes"] == ["engine-unavailable"] and kept["status"] == "denied"


@pytest.mark.parametrize(("tool_input", "value", "code"), [
    ({}, "quarantine", "invalid-input"),
    ({gfi.ROUTE_BUNDLE_KEY: "not a bundle"}, "quarantine", "invalid-input"),
    ({gfi.ROUTE_BUNDLE_KEY: {"kind": "RouteInputBundle", "request": {"taskClass": 3}}}, "quarantine", "invalid-input"),
    ({gfi.ROUTE_BUNDLE_KEY: {"kind": "RouteInputBundle", "request": {"requestId": "x" * (1024 * 1024 + 1)}}}, "defer", "input-too-large"),
], ids=["no-bundle", "bundle-not-object", "bundle-invalid", "bundle-oversized"])
def test_unusable_bundle_in_the_event_is_quarantine_or_defer(router, tool_input, value, code, tmp_path):
    event = gfi.decide_event(router, tool_input)
    pd = event.policy_decision
    assert event.decision is None and pd.decision.value == value and code in pd.reason
    assert pd.policyVersion != "unknown" and not pd.effects.agentMayContinue
    assert schema_errors(json.loads(pd.to_json()), GUARDRAIL_SCHEMA) == []
    _check_rendering(pd)
    assert _check_logged(pd, event.route_evidence, tmp_path / "g.jsonl")["reasonCodes"] == [code]
    assert "xxxx" not in pd.reason  # the values found are never echoed


def _model_ctx(tool_input, cwd):
    return gfp.PolicyContext(tool="model-call", action_class=gfd.ActionClass.MODEL, tool_input=tool_input, cwd=str(cwd), agent_id="claude-code")


def test_model_route_policy_is_a_baseline_policy_for_model_events(router, tmp_path):
    policy = gfi.model_route_policy(router)
    assert isinstance(policy, gfp.BaselinePolicy)
    shell = gfp.PolicyContext(tool="Bash", action_class=gfd.ActionClass.SHELL, tool_input={"command": "ls"}, cwd=str(tmp_path))
    assert policy.evaluate(shell) is None
    pd = policy.evaluate(_model_ctx({gfi.ROUTE_BUNDLE_KEY: load(BUNDLES[0])}, tmp_path))
    assert isinstance(pd, gfd.PolicyDecision) and pd.evidence.actionClass is gfd.ActionClass.MODEL and pd.evidence.cwd == str(tmp_path)
    side = gfi.evidence_log_path(cwd=tmp_path)
    assert side.parent == gfl.default_decision_log_path(tmp_path).parent
    record = json.loads(side.read_text().splitlines()[-1])
    assert record["guardrailDecisionId"] == pd.decisionId and record["routeEvidence"]["routeKind"]


def test_guardrail_fabric_evaluation_pipeline_includes_the_router(router, tmp_path, monkeypatch):
    """Its own evaluate_baseline, with the router's policy added to its policy list: a model call is
    decided by the router, a shell command still by its own rules."""
    policies = [*gfp.baseline_policies(), gfi.model_route_policy(router, evidence_log=tmp_path / "side.jsonl")]
    monkeypatch.setattr(gfp, "baseline_policies", lambda: policies)
    refused = next(p for p in BUNDLES if p.name == "agent-log-triage-battery-critical-requests-local.json")
    pd = gfp.evaluate_baseline(_model_ctx({gfi.ROUTE_BUNDLE_KEY: load(refused)}, tmp_path))
    assert pd.decision is gfd.Decision.DEFER and "upgrade-requires-explicit-request" in pd.reason
    pd = gfp.evaluate_baseline(gfp.PolicyContext(tool="Bash", action_class=gfd.ActionClass.SHELL, tool_input={"command": "sudo ls"}))
    assert pd.policyId == "sourceos/shell/block-privilege-escalation"


# -- the hook command, run as a real process ------------------------------------------------------------


@pytest.fixture(scope="module")
def opa_url():
    with eng.ManagedEngine(timeout_s=5.0, auth=False) as engine:
        yield engine.url


def hook(*args: str, stdin: bytes, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_") or k == EVALUATION_TIME_ENV}
    return subprocess.run([sys.executable, "-m", "router.cli", "hook", *args], input=stdin, capture_output=True, check=False,
                          cwd=paths.ROOT, env=env, timeout=timeout)


def _payload(bundle, event="PreToolUse", cwd=None) -> bytes:
    return json.dumps({"hook_event_name": event, "tool_name": "model-call", "session_id": "s-9", "cwd": cwd,
                       "tool_input": {gfi.ROUTE_BUNDLE_KEY: bundle}}).encode()


HOOK_CASES = [
    "agent-architecture-escalated.json",  # allow
    "agent-log-triage-battery-critical-requests-local.json",  # defer
    "personal-office-assist-no-consent.json",  # allow_with_context
]


@pytest.mark.parametrize("event", ["PreToolUse", "PostToolUse"])
@pytest.mark.parametrize("name", HOOK_CASES)
def test_hook_prints_what_guardrail_fabric_renders(opa_url, router, name, event, tmp_path):
    bundle = load(paths.EXAMPLES / "bundles" / name)
    proc = hook("--opa-url", opa_url, "--no-receipts", "--write-log", "--log-path", str(tmp_path / "g.jsonl"),
                stdin=_payload(bundle, event, str(tmp_path)))
    expected, code = gfh.render_claude_code_response(gfi.to_policy_decision(router.decide(bundle)), event_name=event)
    assert proc.returncode == code == 0, proc.stderr
    assert proc.stdout.decode() == ("" if expected is None else json.dumps(expected, sort_keys=True) + "\n")
    logged = json.loads((tmp_path / "g.jsonl").read_text())
    side = json.loads((tmp_path / gfi.EVIDENCE_LOG_NAME).read_text())
    assert side["guardrailDecisionId"] == logged["decisionId"] and logged["evidence"]["sessionId"] == "s-9"
    assert logged["evidence"]["actionClass"] == "model" and logged["evidence"]["cwd"] == str(tmp_path)


@pytest.mark.parametrize(("stdin", "args", "value"), [
    (b"{not json", (), "quarantine"),
    (b"\xff\xfe", (), "quarantine"),
    (b"[1, 2]", (), "quarantine"),
    (json.dumps({"tool_name": "model-call", "tool_input": {}}).encode(), (), "quarantine"),
    (b"x" * 300, ("--payload-limit-bytes", "100"), "defer"),
], ids=["unparsable", "not-utf8", "not-object", "no-bundle", "oversized"])
@pytest.mark.parametrize("event", ["PreToolUse", "PostToolUse"])
def test_hook_refuses_unusable_input(opa_url, stdin, args, value, event, tmp_path):
    if stdin.startswith(b"{\"") and event == "PostToolUse":
        stdin = json.dumps({**json.loads(stdin), "hook_event_name": event}).encode()
    proc = hook("--opa-url", opa_url, "--no-receipts", "--debug-decision", *args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["decision"] == value and doc["policyVersion"] != "unknown"
    assert schema_errors(doc, GUARDRAIL_SCHEMA) == []
    proc = hook("--opa-url", opa_url, "--no-receipts", *args, stdin=stdin)
    response = json.loads(proc.stdout)
    name = json.loads(stdin).get("hook_event_name", "PreToolUse") if value == "quarantine" and stdin.startswith(b"{\"") else "PreToolUse"
    if name == "PostToolUse":
        assert response["decision"] == "block"
    else:
        assert response["hookSpecificOutput"]["permissionDecision"] == "deny"


# -- the documented examples run as shown ---------------------------------------------------------------

def _usage_section() -> str:
    text = (paths.ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    return text[text.index("## 6. Use from guardrail-fabric"):]


def test_documented_python_example_runs(tmp_path):
    section = _usage_section()
    start = section.index("```python\n") + len("```python\n")
    code = section[start:section.index("```", start)]
    code = code.replace("build/doc-guardrail", str(tmp_path))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_") or k == EVALUATION_TIME_ENV}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")  # the example's default receipt log, not the user's
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False, cwd=paths.ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["defer", "deny", "allow"]
    assert (tmp_path / gfi.EVIDENCE_LOG_NAME).read_text().count("\n") == 2  # append_decision and the policy


def test_documented_hook_example_prints_what_the_docs_show(opa_url):
    section = _usage_section()
    shown = section[section.index("$ model-router hook --no-receipts < examples/hooks/claude-code-model-call.json\n"):].splitlines()[1]
    payload = (paths.EXAMPLES / "hooks" / "claude-code-model-call.json").read_bytes()
    proc = hook("--opa-url", opa_url, "--no-receipts", stdin=payload)
    assert proc.returncode == 0 and proc.stdout.decode().strip() == shown


# -- the hook fails closed ----------------------------------------------------------------------------------

@pytest.mark.parametrize("event", ["PreToolUse", "PostToolUse"])
def test_hook_with_the_engine_unreachable_blocks(event):
    bundle = load(paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json")  # an allow when OPA answers
    proc = hook("--opa-url", f"http://127.0.0.1:{eng.free_port()}", "--timeout-ms", "500", "--no-receipts",
                stdin=_payload(bundle, event))
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    if event == "PostToolUse":
        assert response["decision"] == "block" and "engine-unavailable" in response["reason"]
    else:
        assert response["hookSpecificOutput"]["permissionDecision"] == "deny"
        assert "engine-unavailable" in response["hookSpecificOutput"]["permissionDecisionReason"]


def test_hook_without_guardrail_fabric_exits_2(tmp_path):
    """Claude Code treats exit 2 from a hook as blocking: a missing consumer package never allows."""
    broken = tmp_path / "guardrail_fabric"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('simulated absence')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_") or k == EVALUATION_TIME_ENV}
    env["PYTHONPATH"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "router.cli", "hook", "--no-receipts"], input=b"{}", capture_output=True, check=False,
                          cwd=paths.ROOT, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"model-router[guardrail]" in proc.stderr


def test_hook_with_unusable_settings_exits_2(tmp_path):
    config = tmp_path / "model-router.yaml"
    config.write_text("no_such_setting: 1\n")
    bundle = load(paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json")
    proc = hook("--config", str(config), stdin=_payload(bundle))
    assert proc.returncode == 2 and proc.stdout == b"" and b"no_such_setting" in proc.stderr
