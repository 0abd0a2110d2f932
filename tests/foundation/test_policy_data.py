"""The policy-data assembler: contract documents become keyed views under data.model_router_data, every
file under policies/data/ is loaded by convention and validated against the schema it declares, and
every problem is named by file, JSON path and expectation (make data fails on any of them)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from router import paths, policy_data

ROOT = paths.ROOT


def test_default_sources_assemble_with_keyed_views():
    data = policy_data.assemble()
    policy = data["policies"][data["active"]["policy"]]
    assert [lane["laneId"] for lane in policy["document"]["modelLanes"]] == list(policy["lanes"])
    assert policy["taskClasses"]["routine-code"]["defaultLane"] == "standard"
    optimizer = data["optimizers"][data["active"]["optimizer"]]
    assert optimizer["windows"]["session"]["maxSpend"] == 20.0
    catalog = data["priceCatalogs"][data["active"]["priceCatalog"]]
    for lane in catalog["lanes"].values():
        assert lane["defaultProfile"]["profileRef"] == lane["defaultProfileRef"]
    assert "engine-unavailable" in data["reasons"]
    assert "$schema" not in data["reasons"]


def test_every_data_file_is_mounted_by_its_name():
    data = policy_data.assemble()
    sources = json.loads((paths.POLICY_DATA / "sources.json").read_text())
    documents = {(ROOT / rel).resolve() for rel in sources["documents"]}
    files = policy_data.data_files(paths.POLICY_DATA, documents)
    assert {p.relative_to(paths.POLICY_DATA).parts[0] for p in files} >= {"local-profiles.json", "model-score-tiers.json", "reasons"}
    in_data_folder = {p for p in documents if p.is_relative_to(paths.POLICY_DATA.resolve())}
    assert in_data_folder and not in_data_folder & {p.resolve() for p in files}, "contract documents are not data files"
    for path in files:
        rel = path.relative_to(paths.POLICY_DATA)
        key = policy_data.data_key(rel.parts[0] if len(rel.parts) == 2 else path.stem)
        assert key in data, f"{rel} is not mounted at data.model_router_data.{key}"
    assert data["modelScoreTiers"]["scoreTiers"]["quality"]["high"] == 1.0
    assert data["localProfiles"]["urn:srcos:model-profile:local-llama32-1b"]["memoryRequiredBytes"] == 4294967296


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A temporary repository root: a copy of policies/data, the real schemas/ and examples/."""
    root = tmp_path / "repo"
    (root / "policies").mkdir(parents=True)
    shutil.copytree(paths.POLICY_DATA, root / "policies" / "data")
    (root / "schemas").symlink_to(paths.SCHEMAS)
    (root / "examples").symlink_to(paths.EXAMPLES)
    return root


def assemble(root: Path) -> dict:
    return policy_data.assemble(root / "policies" / "data" / "sources.json", root)


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")


SCHEMA_DIR = paths.SCHEMAS / "policy-data"


def test_a_new_data_file_is_loaded_by_convention(repo, tmp_path):
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["$schema", "tenants"],
              "properties": {"$schema": {"type": "string"}, "tenants": {"type": "array", "items": {"type": "string"}}},
              "additionalProperties": False}
    (repo / "schemas").unlink()
    shutil.copytree(paths.SCHEMAS, repo / "schemas")
    write_json(repo / "schemas" / "policy-data" / "blocked-tenants.schema.json", schema)
    write_json(repo / "policies/data/blocked-tenants.json",
               {"$schema": "../../schemas/policy-data/blocked-tenants.schema.json", "tenants": ["urn:tenant:blocked"]})
    data = assemble(repo)
    assert data["blockedTenants"] == {"tenants": ["urn:tenant:blocked"]}


def test_yaml_data_files_are_loaded_too(repo):
    (repo / "policies/data/reasons/extra.yaml").write_text(
        "$schema: ../../../schemas/policy-data/reason-catalogue.schema.json\n"
        "tenant-blocked:\n  summary: The tenant may not use this lane.\n  remediation: ask the tenant admin\n  severity: medium\n",
        encoding="utf-8",
    )
    assert assemble(repo)["reasons"]["tenant-blocked"]["severity"] == "medium"


def test_a_data_file_without_a_schema_is_named(repo):
    write_json(repo / "policies/data/blocked-tenants.json", {"tenants": []})
    with pytest.raises(policy_data.PolicyDataError, match=r"policies/data/blocked-tenants\.json: \$\['\$schema'\]: missing; expected the path"):
        assemble(repo)


def test_a_schema_outside_schemas_is_refused(repo):
    write_json(repo / "policies/data/blocked-tenants.json", {"$schema": "https://example.invalid/x.json"})
    with pytest.raises(policy_data.PolicyDataError, match=r"expected the path of a JSON Schema file under schemas/"):
        assemble(repo)


def test_an_invalid_data_file_names_file_path_and_schema(repo):
    profiles = repo / "policies/data/local-profiles.json"
    doc = json.loads(profiles.read_text())
    doc["profiles"][1]["memoryRequiredBytes"] = "lots"
    write_json(profiles, doc)
    with pytest.raises(policy_data.PolicyDataError) as err:
        assemble(repo)
    assert ("policies/data/local-profiles.json: $.profiles[1].memoryRequiredBytes: 'lots' is not of type 'integer' "
            "[schema schemas/policy-data/local-profiles.schema.json]") in str(err.value)


def test_a_reason_code_defined_twice_is_named(repo):
    write_json(repo / "policies/data/reasons/zz.json", {
        "$schema": "../../../schemas/policy-data/reason-catalogue.schema.json",
        "feasible": {"summary": "again", "remediation": "none", "severity": "info"},
    })
    with pytest.raises(policy_data.PolicyDataError, match=r"policies/data/reasons/zz\.json: \$\.feasible: already defined"):
        assemble(repo)


def test_a_data_file_may_not_shadow_a_document_collection(repo):
    write_json(repo / "policies/data/policies.json", {"$schema": "../../schemas/policy-data/sources.schema.json",
                                                      "documents": [], "active": {}})
    with pytest.raises(policy_data.PolicyDataError, match=r"policies/data/policies\.json: mounts at data\.model_router_data\.policies"):
        assemble(repo)


def test_an_invalid_contract_document_fails_the_assembly(repo, tmp_path):
    policy = json.loads((paths.EXAMPLES / "agent-execution-model-routing-policy.default.json").read_text())
    policy["defaultPosture"]["highEndDefault"] = "allow"
    policy["taskClasses"][0]["defaultLane"] = "premium"
    write_json(tmp_path / "policy.json", policy)
    sources_file = repo / "policies/data/sources.json"
    sources = json.loads(sources_file.read_text())
    sources["documents"][0] = str(tmp_path / "policy.json")
    write_json(sources_file, sources)
    with pytest.raises(policy_data.PolicyDataError) as err:
        assemble(repo)
    message = str(err.value)
    assert "policy.json: $.taskClasses[0].defaultLane: found \"premium\"" in message
    assert "policy.json: $.defaultPosture.highEndDefault: found \"allow\"; expected \"deny\" [high-end-default-deny]" in message


def test_unknown_kind_is_named_with_its_file(repo, tmp_path):
    write_json(tmp_path / "doc0.json", {"kind": "Nonsense"})
    sources_file = repo / "policies/data/sources.json"
    write_json(sources_file, {"$schema": "../../schemas/policy-data/sources.schema.json", "documents": [str(tmp_path / "doc0.json")], "active": {}})
    with pytest.raises(policy_data.PolicyDataError, match=r"doc0\.json: \$\.kind: unknown document kind 'Nonsense'"):
        assemble(repo)


def test_duplicate_lane_is_named_with_its_path(repo):
    path = repo / "policies/data/policy.json"
    doc = json.loads((paths.EXAMPLES / "agent-execution-model-routing-policy.default.json").read_text())
    doc["modelLanes"].append(dict(doc["modelLanes"][0]))
    sources_file = repo / "policies/data/sources.json"
    sources = json.loads(sources_file.read_text())
    outside = repo / "policy.json"
    write_json(outside, doc)
    sources["documents"][0] = "policy.json"
    write_json(sources_file, sources)
    assert not path.exists()
    with pytest.raises(policy_data.PolicyDataError, match=r"\$\.modelLanes\[6\]\.laneId: duplicate id 'no-model'"):
        assemble(repo)


def test_active_reference_must_name_a_loaded_document(repo):
    sources_file = repo / "policies/data/sources.json"
    sources = json.loads(sources_file.read_text())
    sources["active"]["policy"] = "urn:socioprophet:model-routing-policy:missing"
    write_json(sources_file, sources)
    with pytest.raises(policy_data.PolicyDataError, match=r"policies/data/sources\.json: \$\.active\.policy"):
        assemble(repo)


def test_malformed_json_reports_line_and_column(repo):
    (repo / "policies/data/local-profiles.json").write_text('{\n  "profiles": \n}', encoding="utf-8")
    with pytest.raises(policy_data.PolicyDataError, match=r"policies/data/local-profiles\.json: not JSON: .* line 3 column 1"):
        assemble(repo)


def test_write_places_data_where_opa_mounts_it(tmp_path):
    target = policy_data.write(tmp_path, {"active": {}})
    assert target == tmp_path / "model_router_data" / "data.json"
    assert json.loads(target.read_text()) == {"active": {}}


def test_make_data_command_fails_on_an_invalid_document_and_writes_nothing(repo, tmp_path):
    profiles = repo / "policies/data/local-profiles.json"
    doc = json.loads(profiles.read_text())
    del doc["profiles"][0]["profileRef"]
    write_json(profiles, doc)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "router.policy_data", "--sources", str(repo / "policies/data/sources.json"), "--root", str(repo), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert "error: policies/data/local-profiles.json: $.profiles[0]: 'profileRef' is a required property" in result.stderr
    assert "make data: 1 problem(s)" in result.stderr
    assert not out.exists()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(PY) -m router.policy_data >/dev/null" in makefile, "make data must run the assembler and keep its errors visible"


def test_escalation_reasons_are_policy_data(repo, tmp_path):
    data = assemble(repo)
    assert set(data["escalationReasons"]["reasons"]) >= {"architecture-decision", "repeated-standard-lane-failure"}
    policy_file = repo / "examples/agent-execution-model-routing-policy.default.json"
    policy = json.loads(policy_file.read_text())
    policy["escalationPolicy"]["allowedReasons"].append("data-migration")
    (repo / "examples").unlink()
    shutil.copytree(paths.EXAMPLES, repo / "examples")
    write_json(repo / "examples/agent-execution-model-routing-policy.default.json", policy)
    with pytest.raises(policy_data.PolicyDataError) as err:
        assemble(repo)
    assert ("examples/agent-execution-model-routing-policy.default.json: $.escalationPolicy.allowedReasons[10]: found 'data-migration'; "
            "expected an escalation reason of policies/data/escalation-reasons.json: ") in str(err.value)
    reasons_file = repo / "policies/data/escalation-reasons.json"
    reasons = json.loads(reasons_file.read_text())
    reasons["reasons"]["data-migration"] = {"summary": "A migration of stored data that cannot be replayed."}
    write_json(reasons_file, reasons)
    data = assemble(repo)
    assert "data-migration" in data["policies"][data["active"]["policy"]]["document"]["escalationPolicy"]["allowedReasons"]


# ---- precomputed model tables and the freshness stamp ----------------------------------------------


def test_write_stores_model_tables_keyed_to_the_data_and_policies(tmp_path):
    target = policy_data.write(tmp_path, force=True)
    data = json.loads(target.read_text())
    tables = data[policy_data.TABLES_KEY]
    assert tables["source"] == policy_data.tables_source(data)
    assert tables["modelCount"] == len(data["modelCatalogs"][data["active"]["modelCatalog"]]["models"])
    assert tables["limits"] == data["modelSelectionLimits"]
    assert set(tables["tasks"]) == set(data["routePolicies"][data["active"]["routePolicy"]]["effective"]["taskRequirements"])


def test_tables_are_deterministic_and_recomputed_for_other_data():
    data = policy_data.assemble()
    first = policy_data.with_tables(data)
    assert policy_data.with_tables(data) == first
    assert policy_data.with_tables(first) is first, "tables keyed to this very data are kept"
    changed = json.loads(json.dumps(first))
    changed["modelSelectionLimits"]["fallbacks"] = 2
    again = policy_data.with_tables(changed)
    assert again[policy_data.TABLES_KEY]["limits"]["fallbacks"] == 2
    assert again[policy_data.TABLES_KEY]["source"]["data"] != first[policy_data.TABLES_KEY]["source"]["data"]


def test_no_tables_without_model_selection(tmp_path):
    assert policy_data.TABLES_KEY not in json.loads(policy_data.write(tmp_path, {"active": {}}).read_text())


def test_write_skips_the_assembly_when_nothing_changed(repo, tmp_path, monkeypatch):
    out = tmp_path / "out"
    sources = repo / "policies/data/sources.json"
    first = policy_data.write(out, sources_file=sources, root=repo)
    assert policy_data.stamp_path(out).is_file()
    calls = []
    real = policy_data.assemble
    monkeypatch.setattr(policy_data, "assemble", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert policy_data.write(out, sources_file=sources, root=repo) == first
    assert calls == [], "unchanged inputs: nothing is validated again"
    limits = repo / "policies/data/model-selection-limits.json"
    doc = json.loads(limits.read_text())
    doc["fallbacks"] = 3
    write_json(limits, doc)
    policy_data.write(out, sources_file=sources, root=repo)
    assert len(calls) == 1, "a changed data file is assembled again"
    assert json.loads(first.read_text())["modelTables"]["limits"]["fallbacks"] == 3
    first.write_text(first.read_text().replace('"fallbacks":3', '"fallbacks":4'))
    policy_data.write(out, sources_file=sources, root=repo)
    assert len(calls) == 2, "an edited data.json is written again"
    policy_data.write(out, sources_file=sources, root=repo, force=True)
    assert len(calls) == 3
