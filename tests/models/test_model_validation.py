"""Schemas and semantic rules of the model catalog, route policy and authorization mirror, and the
tools/validate_model_catalogs.py script."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from router import model_explain, paths
from router.contracts import model_rules, validate_document

CATALOG = paths.EXAMPLES / "model-catalog.demo.json"
POLICY = paths.EXAMPLES / "model-route-policy.local-first-v1.json"
MIRROR = paths.EXAMPLES / "model-route-authorization.demo.json"
TOOL = paths.ROOT / "tools" / "validate_model_catalogs.py"


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def violations(doc, source="doc.json"):
    return [(v.path, v.rule) for v in validate_document(doc, source=source)]


@pytest.mark.parametrize("path", [CATALOG, POLICY, paths.EXAMPLES / "model-route-policy.local-only-v1.json", MIRROR])
def test_examples_are_valid(path):
    assert validate_document(load(path), source=path.name) == []


def test_weights_must_sum_to_exactly_one():
    doc = load(POLICY)
    doc["scoreWeights"]["cost"] = 0.1000001
    found = validate_document(doc, source="p.json")
    assert [(v.path, v.rule) for v in found] == [("$.scoreWeights", "score-weights-sum-to-one")]
    assert "1.0000001" in found[0].found and found[0].expected == "weights summing to exactly 1.0"
    doc["scoreWeights"]["cost"] = 0.1 + 1e-12  # within the 1e-9 tolerance
    assert violations(doc) == []


def test_local_first_policy_must_prefer_local():
    doc = load(POLICY)
    doc["preferLocal"] = False
    assert violations(doc) == [("$.preferLocal", "local-first-prefers-local")]


def test_score_tiers_must_be_ordered():
    doc = load(POLICY)
    doc["scoreTiers"]["cost"]["low"] = 0.5
    assert violations(doc) == [("$.scoreTiers.cost.low", "score-tiers-ordered")]


@pytest.mark.parametrize(
    ("index", "flag", "value"),
    [(0, "authorized", False), (0, "promotion_evidence_present", False), (5, "authorized", True), (5, "promotion_evidence_present", True)],
)
def test_authorization_status_and_flags_must_agree(index, flag, value):
    doc = load(MIRROR)
    assert doc["records"][5]["status"] == "denied"
    doc["records"][index][flag] = value
    assert violations(doc) == [(f"$.records[{index}].{flag}", "status-flags-consistent")]


def test_authorization_mirror_constants_and_unique_routes():
    doc = load(MIRROR)
    doc["posture"] = "fail_open"
    doc["records"].append(dict(doc["records"][0]))
    found = violations(doc)
    assert ("$.posture", "schema") in found
    assert (f"$.records[{len(doc['records']) - 1}].route_id", "unique-route-ids") in found


def test_catalog_model_without_an_authorization_record_fails_naming_it():
    doc = load(CATALOG)
    doc["models"].append({**doc["models"][0], "modelRef": "model://local/orphan@1.0.0", "governanceRoute": "nobody.orphan"})
    found = validate_document(doc, source="catalog.json")
    assert len(found) == 1
    v = found[0]
    assert (v.path, v.rule) == (f"$.models[{len(doc['models']) - 1}].governanceRoute", "every-model-has-authorization-record")
    assert "model://local/orphan@1.0.0" in str(v) and "nobody.orphan" in str(v)
    assert "urn:socioprophet:model-route-authorization:demo" in v.expected


def test_catalog_model_without_a_governance_route_fails_naming_it():
    doc = load(CATALOG)
    del doc["models"][2]["governanceRoute"]
    found = validate_document(doc, source="catalog.json")
    assert {(v.path, v.rule) for v in found} == {("$.models[2].governanceRoute", "schema"), ("$.models[2].governanceRoute", "every-model-has-authorization-record")}
    assert any("model://local/llama-3.2-3b-instruct" in v.found for v in found)


def test_catalog_authorization_ref_must_name_a_known_mirror():
    doc = load(CATALOG)
    doc["authorizationRef"] = "urn:socioprophet:model-route-authorization:elsewhere"
    assert violations(doc) == [("$.authorizationRef", "every-model-has-authorization-record")]


def test_catalog_duplicate_model_and_hosted_profile():
    doc = load(CATALOG)
    doc["models"].append(dict(doc["models"][0]))
    doc["models"][4]["localProfileRef"] = "urn:srcos:model-profile:local-llama32-1b"
    found = violations(doc)
    assert (f"$.models[{len(doc['models']) - 1}].modelRef", "unique-model-refs") in found
    assert ("$.models[4].localProfileRef", "local-profile-on-local-models") in found


def test_catalog_schema_rejects_unknown_tiers_and_fields():
    doc = load(CATALOG)
    doc["models"][0]["qualityTier"] = "stellar"
    doc["models"][0]["colour"] = "blue"
    found = violations(doc)
    assert ("$.models[0].qualityTier", "schema") in found
    assert ("$.models[0].colour", "schema") in found


def test_tool_validates_the_examples():
    run = subprocess.run([sys.executable, str(TOOL)], capture_output=True, text=True, cwd=paths.ROOT)
    assert run.returncode == 0, run.stderr
    assert "ok: examples/model-catalog.demo.json (ModelCatalog)" in run.stdout
    assert "model-route-authorization.demo.json" in run.stdout


def test_tool_uses_mirrors_named_on_its_command_line(tmp_path):
    catalog = load(CATALOG)
    catalog["authorizationRef"] = "urn:socioprophet:model-route-authorization:tmp"
    mirror = load(MIRROR)
    mirror["mirror_id"] = "urn:socioprophet:model-route-authorization:tmp"
    mirror["records"] = mirror["records"][1:]  # drop the first model's record
    (tmp_path / "c.json").write_text(json.dumps(catalog), encoding="utf-8")
    (tmp_path / "m.json").write_text(json.dumps(mirror), encoding="utf-8")
    run = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "c.json"), str(tmp_path / "m.json")],
                         capture_output=True, text=True, cwd=paths.ROOT)
    assert run.returncode == 1
    assert "$.models[0].governanceRoute" in run.stderr
    assert "model://local/small-language@0.1.0" in run.stderr and "has no authorization record" in run.stderr
    assert model_rules._run_mirrors == {}


def test_tool_reports_unusable_input(tmp_path):
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    run = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "bad.json")], capture_output=True, text=True, cwd=paths.ROOT)
    assert run.returncode == 2
    wrong_kind = subprocess.run([sys.executable, str(TOOL), str(paths.EXAMPLES / "model-price-catalog.demo.json")],
                                capture_output=True, text=True, cwd=paths.ROOT)
    assert wrong_kind.returncode == 2 and "$.kind" in wrong_kind.stderr


def test_explain_renders_model_fallbacks_and_blocked_reasons():
    doc = {
        "model": {"status": "selected", "modelRef": "model://a@1", "governanceRoute": "r.a", "score": 0.8, "reasons": ["model-selected"]},
        "fallbacks": [{"modelRef": "model://b@1", "lane": "cheap", "governanceRoute": "r.b", "score": 0.7}],
        "blockedCandidates": [
            {"modelRef": "model://c@1", "lane": "cheap", "governanceRoute": "r.c", "score": 0.9, "reasons": ["unauthorized-unledgered-model"]},
            {"modelRef": "model://d@1", "lane": "pro", "governanceRoute": "r.d", "score": 0.7, "reasons": ["lane-mismatch"]},
            {"modelRef": "model://e@1", "lane": "pro", "governanceRoute": "r.e", "score": 0.6, "reasons": ["lane-mismatch"]},
        ],
    }
    text = model_explain.lines(doc, lambda code: f"<{code}>")
    assert text[0] == "model: model://a@1 (governance route r.a, score 0.8)"
    assert "  1. model://b@1 (lane cheap, score 0.7)" in text
    assert "      - <unauthorized-unledgered-model>" in text
    assert text[-1] == "models of lanes this decision did not admit (lane-mismatch): model://d@1, model://e@1"
    assert not any("<lane-mismatch>" in line for line in text)
    blocked = model_explain.lines({"model": {"status": "blocked", "reasons": ["no-authorized-candidates"]}}, lambda c: c)
    assert blocked == ["model: none may be called — no-authorized-candidates"]
    assert model_explain.lines({}, str) == [] and model_explain.summary({}, str) is None
    assert model_explain.summary(doc, str)["blockedCandidates"][0]["reasonTexts"] == ["unauthorized-unledgered-model"]
