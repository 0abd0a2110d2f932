"""docs/policy-authoring.md, "Adding a task class", performed as written: in a temporary copy of the
repository, the JSON the page shows is added where the page says, `make data`'s assembly refuses the
half-done state with the documented message, and the fixture the page shows is decided through
`Router.decide` (from a bundle of the copied policies and data) with the documented outcome."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from router import Router, approvals, bundle, fixture_data, paths, policy_data

ROOT = paths.ROOT
PAGE = ROOT / "docs" / "policy-authoring.md"
MARKER = re.compile(r"<!-- walkthrough: (?P<name>[^>]+?) -->\n\s*```json\n(?P<body>.*?)\n\s*```", re.DOTALL)
POLICY = "examples/agent-execution-model-routing-policy.default.json"
ROUTE_POLICY = "examples/model-route-policy.local-first-v1.json"
MAPPING = "policies/data/agentplane-lane-mapping.json"
# the example bundles carry approval tokens issued for the time the examples are decided at
FIXTURE_TIME = approvals.FIXTURE_EVALUATION_TIME


def snippets() -> dict[str, object]:
    text = PAGE.read_text(encoding="utf-8")
    found = {m.group("name"): json.loads(m.group("body")) for m in MARKER.finditer(text)}
    assert set(found) == {
        "routing-policy taskClasses", "route-policy taskRequirements", "agentplane taskClasses", "fixture request", "fixture expected",
    }
    return found


def documented_error() -> str:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Adding a task class"):text.index("## Adding a lane")]
    return re.search(r"^\s*error: (.*)$", section, re.MULTILINE).group(1)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for folder in ("policies", "schemas", "examples"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def _signer():
    spec = importlib.util.spec_from_file_location("sign_example_bundles", ROOT / "tools/sign_example_bundles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assemble(root: Path) -> dict:
    return policy_data.assemble(root / "policies/data/sources.json", root, env={})


def test_adding_a_task_class_as_the_page_says(repo, tmp_path):
    s = snippets()
    # 1. the routing policy's taskClasses
    _edit(repo / POLICY, lambda doc: doc["taskClasses"].append(s["routing-policy taskClasses"]))
    # without steps 2 and 3 the assembly refuses, with the documented messages
    with pytest.raises(policy_data.PolicyDataError) as refused:
        _assemble(repo)
    problems = str(refused.value).splitlines()
    assert documented_error() in problems
    assert any(p.startswith(f"{MAPPING}: $.taskClasses['release-notes']") and "[every-task-class-decided]" in p for p in problems)
    # 2. the model route policy's taskRequirements, 3. the agentplane mapping
    _edit(repo / ROUTE_POLICY, lambda doc: doc["taskRequirements"].update(s["route-policy taskRequirements"]))
    _edit(repo / MAPPING, lambda doc: doc["taskClasses"].update(s["agentplane taskClasses"]))
    data = _assemble(repo)
    assert data["policies"][data["active"]["policy"]]["taskClasses"]["release-notes"]["minimumLane"] == "standard"
    # 4. the fixture pair
    bundles = repo / "examples/bundles"
    base = json.loads((bundles / "agent-routine-code-execution.json").read_text(encoding="utf-8"))
    base["request"].update(s["fixture request"])
    del base["request"]["egressApprovalToken"]
    assert _signer().sign_bundle(base, data)  # what tools/sign_example_bundles.py does to it
    (bundles / "agent-release-notes.json").write_text(json.dumps(base, indent=2), encoding="utf-8")
    (bundles / "agent-release-notes.expected.json").write_text(json.dumps(s["fixture expected"], indent=2), encoding="utf-8")
    case = fixture_data.cases(bundles)["agent-release-notes"]
    expected = case["expected"]
    # decided through Router.decide, with a bundle built from the copied policies and data
    built = tmp_path / "bundle.tar.gz"
    bundle.build_from_files(bundle.staged_files(repo / "policies/model_router", data), built)
    with Router(bundle=built, receipts=False, timeout_ms=10000, evaluation_time=FIXTURE_TIME) as router:
        decision = router.decide(bundles / "agent-release-notes.json")
        doc = decision.to_dict()
        assert doc["selected"]["status"] == expected["status"]
        assert doc["selected"]["lane"] == expected["lane"]
        every_reason = set(doc["selected"]["reasons"]) | {r for c in doc["candidateSet"] for r in c["reasons"]}
        assert set(expected["reasonsInclude"]) <= every_reason
        cheap = next(c for c in doc["candidateSet"] if c["lane"] == "cheap")
        assert cheap["reasons"] == ["below-task-class-floor:standard"]
        high_end = next(c for c in doc["candidateSet"] if c["lane"] == "high-end")
        assert "above-task-class-ceiling:standard" in high_end["reasons"]
        # without the floor the stage's cheap default would have won, as the page says
        unbounded = {k: v for k, v in s["routing-policy taskClasses"].items() if k not in ("minimumLane", "maximumLane")}
        _edit(repo / POLICY, lambda d: d.update({"taskClasses": [*d["taskClasses"][:-1], unbounded]}))
        plain = tmp_path / "plain.tar.gz"
        bundle.build_from_files(bundle.staged_files(repo / "policies/model_router", _assemble(repo)), plain)
    with Router(bundle=plain, receipts=False, timeout_ms=10000, evaluation_time=FIXTURE_TIME) as router:
        assert router.decide(bundles / "agent-release-notes.json").to_dict()["selected"]["lane"] == "cheap"


def test_a_rule_whose_data_file_is_absent_fails_closed(repo, tmp_path):
    """Without policies/data/local-profiles.json the memory needs of local profiles are unknown: the local
    targets are not admissible (local-profile-unknown) instead of being admitted on missing data."""
    case = repo / "examples/bundles/personal-battery-low.json"
    with_file = tmp_path / "with.tar.gz"
    bundle.build_from_files(bundle.staged_files(repo / "policies/model_router", _assemble(repo)), with_file)
    (repo / "policies/data/local-profiles.json").unlink()
    data = _assemble(repo)
    assert data["localProfiles"] == {}
    without = tmp_path / "without.tar.gz"
    bundle.build_from_files(bundle.staged_files(repo / "policies/model_router", data), without)
    with Router(bundle=with_file, receipts=False, timeout_ms=10000, evaluation_time=FIXTURE_TIME) as router:
        assert router.decide(case).to_dict()["selected"]["target"] == "base-local"
    with Router(bundle=without, receipts=False, timeout_ms=10000, evaluation_time=FIXTURE_TIME) as router:
        doc = router.decide(case).to_dict()
    assert doc["selected"]["target"] != "base-local"
    local = {t["target"]: t for t in doc["targets"] if t["target"].endswith("-local")}
    assert local and all(not t["admissible"] and "local-profile-unknown" in t["reasons"] for t in local.values())


FILE_MARKER = re.compile(r"<!-- walkthrough-file: (?P<path>\S+) -->\n\s*```(?:json|rego)\n(?P<body>.*?)\n\s*```", re.DOTALL)


def walkthrough_files() -> dict[str, str]:
    """The files of "Adding a data file and a rule", by repository path, as the page shows them."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Adding a data file and a rule"):text.index("## Adding a lane")]
    files = {}
    for m in FILE_MARKER.finditer(section):
        indent = re.match(r"[ ]*", m.group("body")).group(0)
        files[m.group("path")] = "\n".join(line[len(indent):] for line in m.group("body").splitlines()) + "\n"
    return files


def test_adding_a_data_file_and_a_rule_as_the_page_says(repo, tmp_path):
    files = walkthrough_files()
    assert set(files) == {
        "schemas/policy-data/blocked-workspaces.schema.json", "policies/data/blocked-workspaces.json",
        "policies/data/reasons/workspaces.json", "policies/model_router/agent/blocks/workspaces/workspaces.rego",
        "policies/model_router/agent/blocks/workspaces/workspaces_test.rego",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    opa = str(paths.TOOLS_BIN / "opa")
    rego = repo / "policies/model_router"
    fmt = subprocess.run([opa, "fmt", "--fail", "--list", str(rego / "agent/blocks")], capture_output=True, text=True)
    assert fmt.returncode == 0, f"the page's Rego is not opa fmt clean: {fmt.stdout}"
    data = _assemble(repo)
    assert data["blockedWorkspaces"] == {"workspaces": ["urn:socioprophet:workspace:suspended"]}
    assert "workspace-blocked" in data["reasons"]
    out = tmp_path / "data"
    policy_data.write(out, data)
    tested = subprocess.run(
        [opa, "test", str(rego), str(out), "--capabilities", str(paths.CAPABILITIES), "--run", r"model_router\.agent\.(blocks|decision)"],
        capture_output=True, text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    case = json.loads((repo / "examples/bundles/agent-routine-code-execution.json").read_text(encoding="utf-8"))
    other = json.loads(json.dumps(case))
    case["request"]["subject"]["workspaceRef"] = "urn:socioprophet:workspace:suspended"
    built = tmp_path / "blocked.tar.gz"
    bundle.build_from_files(bundle.staged_files(rego, data), built)
    with Router(bundle=built, receipts=False, timeout_ms=10000, evaluation_time=FIXTURE_TIME) as router:
        selected = router.decide(case).to_dict()["selected"]
        assert router.decide(other).to_dict()["selected"]["status"] == "selected"  # other workspaces route as before
    assert (selected["status"], selected["reasons"]) == ("denied", ["workspace-blocked"])
    # the data file removed: the rule fails closed
    (repo / "policies/data/blocked-workspaces.json").unlink()
    without = tmp_path / "without.tar.gz"
    bundle.build_from_files(bundle.staged_files(rego, _assemble(repo)), without)
    with Router(bundle=without, receipts=False, timeout_ms=10000, evaluation_time=FIXTURE_TIME) as router:
        selected = router.decide(case).to_dict()["selected"]
    assert (selected["status"], selected["reasons"]) == ("denied", ["policy-data-unavailable:blockedWorkspaces"])
