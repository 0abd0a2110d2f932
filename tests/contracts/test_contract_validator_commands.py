"""The validator commands as a user runs them: tools/validate_*.py from the repository root (also under
a python3 without the dependencies) and `model-router validate`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from contracts_support import CONTRACT_EXAMPLES, FIXTURES, ROOT, read, write

from router.contracts.command import validate_command

TOOLS = {
    "AgentExecutionModelRoutingPolicy": "tools/validate_agent_execution_model_routing_policies.py",
    "AgentExecutionBudgetResourceOptimizer": "tools/validate_agent_execution_budget_resource_optimizers.py",
    "LocalPersonalRouteBinding": "tools/validate_local_personal_route_bindings.py",
    "ModelPriceCatalog": "tools/validate_model_price_catalogs.py",
}
PYTHON3 = shutil.which("python3") or sys.executable


def run(*args: str, python: str = PYTHON3, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    proc = subprocess.run([python, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("kind,tool", TOOLS.items(), ids=list(TOOLS))
def test_tool_without_arguments_checks_every_example_of_its_kind(kind, tool):
    proc = run(tool)
    assert proc.returncode == 0, proc.stderr
    checked = [line for line in proc.stdout.splitlines() if line.startswith("ok: ")]
    assert f"ok: {CONTRACT_EXAMPLES[kind].relative_to(ROOT)} ({kind})" in checked
    assert all(line.endswith(f"({kind})") for line in checked)
    assert proc.stderr == ""


def test_policy_tool_reports_every_violation_of_a_broken_copy(tmp_path):
    doc = read(CONTRACT_EXAMPLES["AgentExecutionModelRoutingPolicy"])
    doc["taskClasses"][3]["defaultLane"] = "premium"
    doc["defaultPosture"]["highEndDefault"] = "allow"
    del doc["toolPolicy"]["toolsOffUnlessNeeded"]
    broken = write(tmp_path / "policy.json", doc)
    proc = run(TOOLS["AgentExecutionModelRoutingPolicy"], str(broken))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"{broken}: $.taskClasses[3].defaultLane: found \"premium\"; expected one of: no-model, local-cheap, cheap, standard, high-end, pro [schema]",
        f"{broken}: $.toolPolicy.toolsOffUnlessNeeded: found no value (field absent); expected a value: the field is required [schema]",
        f"{broken}: $.defaultPosture.highEndDefault: found \"allow\"; expected \"deny\" [high-end-default-deny]",
        "checked 1 document: 0 valid, 1 invalid (3 violations)",
    ]


def test_optimizer_tool_checks_the_policy_ref_and_its_lanes(tmp_path):
    doc = read(CONTRACT_EXAMPLES["AgentExecutionBudgetResourceOptimizer"])
    doc["policyRef"] = "urn:socioprophet:model-routing-policy:missing"
    doc["budgetPolicy"]["windows"][0]["proMaxShare"] = 0.5
    broken = write(tmp_path / "optimizer.json", doc)
    proc = run(TOOLS["AgentExecutionBudgetResourceOptimizer"], str(broken))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == f"{broken}: $.budgetPolicy.windows[0].proMaxShare: found 0.5; expected a share of at most 0.05 [window-premium-shares]"
    assert lines[1].startswith(f'{broken}: $.policyRef: found "urn:socioprophet:model-routing-policy:missing"; expected the policyId of a known routing policy')
    assert lines[1].endswith("[policy-ref-known]")
    # a policy given on the same command line is known to the optimizer
    policy = read(CONTRACT_EXAMPLES["AgentExecutionModelRoutingPolicy"])
    policy["policyId"] = "urn:socioprophet:model-routing-policy:missing"
    write(tmp_path / "policy.json", policy)
    result = CliRunner().invoke(validate_command, [str(tmp_path / "policy.json"), str(broken)])
    assert result.exit_code == 1
    assert "[policy-ref-known]" not in result.output
    assert "[window-premium-shares]" in result.output


def test_binding_tool_on_a_broken_copy(tmp_path):
    doc = read(CONTRACT_EXAMPLES["LocalPersonalRouteBinding"])
    doc["routes"][1]["requiresConsent"] = False
    doc["routes"][2]["preferredTarget"] = "cloud"
    broken = write(tmp_path / "binding.json", doc)
    proc = run(TOOLS["LocalPersonalRouteBinding"], str(broken))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[:2] == [
        f'{broken}: $.routes[2].preferredTarget: found "cloud"; expected one of: base-local, personal-local, quality-local, hosted, deny [schema]',
        f"{broken}: $.routes[1].requiresConsent: found false; expected true: the route's preferredTarget is personal-local [personal-local-requires-consent]",
    ]


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "no such file"),
        ('{\n  "kind": "LocalPersonalRouteBinding",\n  "routes": [,]\n}', "not valid JSON: Expecting value at line 3 column 14"),
        ("[]", "$: found an array; expected a JSON object"),
        ('{"kind": "Binding"}', '$.kind: found "Binding"; expected one of'),
        ('{"kind": "ModelPriceCatalog"}', "$.kind: found 'ModelPriceCatalog'; expected a LocalPersonalRouteBinding document"),
    ],
    ids=["missing", "malformed", "not-an-object", "unknown-kind", "other-kind"],
)
def test_unusable_input_exits_2_with_a_message(tmp_path, content, message):
    path = tmp_path / "binding.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    proc = run(TOOLS["LocalPersonalRouteBinding"], str(path), str(CONTRACT_EXAMPLES["LocalPersonalRouteBinding"]))
    assert proc.returncode == 2
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{path}: {message}")
    assert proc.stdout.startswith("ok: ")  # the usable file is still checked
    assert proc.stderr.splitlines()[-1] == "checked 2 documents: 1 valid, 1 unusable"


def test_tool_help_and_unknown_options():
    assert run(TOOLS["ModelPriceCatalog"], "--help").returncode == 0
    proc = run(TOOLS["ModelPriceCatalog"], "--strict")
    assert proc.returncode == 2 and "unknown option --strict" in proc.stderr


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="needs the project's .venv")
def test_tool_reruns_itself_under_the_venv_when_python3_lacks_the_dependencies():
    """`python -S` has no site-packages, so jsonschema is missing: the tool re-runs under .venv/bin/python."""
    proc = run("-S", TOOLS["ModelPriceCatalog"])
    assert proc.returncode == 0, proc.stderr
    assert "ok: examples/model-price-catalog.demo.json (ModelPriceCatalog)" in proc.stdout


def test_tool_without_dependencies_or_venv_names_make_setup(tmp_path):
    shutil.copytree(ROOT / "router", tmp_path / "router", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / TOOLS["ModelPriceCatalog"], tmp_path / "tools")
    proc = run("-S", TOOLS["ModelPriceCatalog"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot import jsonschema" in proc.stderr and "make setup" in proc.stderr


# ---- model-router validate ---------------------------------------------------------------------


def _invoke(*args: str):
    from router.cli import main

    return CliRunner().invoke(main, ["validate", *args])


def test_model_router_validate_detects_the_kind_of_each_file():
    files = [
        str(CONTRACT_EXAMPLES["ModelPriceCatalog"]),
        str(FIXTURES / "route-input-bundle" / "valid" / "agent-security-review.json"),
        str(FIXTURES / "route-decision-receipt" / "valid" / "agent-escalated.json"),
        str(FIXTURES / "sourceos.guardrail.decision.v0.1" / "valid" / "personal-allow.json"),
    ]
    result = _invoke(*files)
    assert result.exit_code == 0, result.output
    assert "(ModelPriceCatalog)" in result.output and "(RouteInputBundle)" in result.output
    assert "(RouteDecisionReceipt)" in result.output and "(sourceos.guardrail.decision.v0.1)" in result.output


def test_model_router_validate_reports_a_broken_decision(tmp_path):
    doc = read(FIXTURES / "agent-execution-route-decision" / "valid" / "selected-high-end.json")
    doc["selected"]["status"] = "chosen"
    doc["candidateSet"][4]["rank"] = "4"
    path = write(tmp_path / "decision.json", doc)
    result = _invoke(str(path))
    assert result.exit_code == 1
    assert f'{path}: $.candidateSet[4].rank: found "4" (a string); expected an integer [schema]' in result.output
    assert f'{path}: $.selected.status: found "chosen"; expected one of: selected, downgraded, deferred, denied, quarantined [schema]' in result.output


def test_model_router_validate_with_an_unknown_kind_exits_2(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"kind": "Mystery"}', encoding="utf-8")
    result = _invoke(str(path))
    assert result.exit_code == 2
    assert f'{path}: $.kind: found "Mystery"; expected one of' in result.output


def test_model_router_validate_kind_option_restricts_the_kinds():
    result = CliRunner().invoke(validate_command, ["--kind", "RouteInputBundle", str(CONTRACT_EXAMPLES["ModelPriceCatalog"])])
    assert result.exit_code == 2
    assert "expected a RouteInputBundle document" in result.output
