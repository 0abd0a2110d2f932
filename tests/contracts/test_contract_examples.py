"""Every schema is a sound draft 2020-12 schema and accepts the realistic examples of its kind."""

from __future__ import annotations

import json
import re

import pytest
from contracts_support import CONTRACT_EXAMPLES, EXAMPLES, OUR_KINDS, ROOT, fixture_context, valid_fixtures
from jsonschema import Draft202012Validator

from router.contracts import (
    GUARDRAIL_ABI,
    KINDS,
    detect_kind,
    load_document,
    parse_document,
    schema_for,
    validate_document,
    validator_for,
)
from router.contracts.kinds import load_extensions
from router.contracts.runner import discover

SCHEMAS = ROOT / "schemas"


@pytest.mark.parametrize("kind", OUR_KINDS)
def test_schema_is_draft_2020_12_and_compiles(kind):
    schema = schema_for(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert validator_for(kind) is validator_for(kind)  # compiled once, reused


def test_every_schema_file_belongs_to_a_kind():
    load_extensions()
    files = {p.name for p in SCHEMAS.glob("*.schema.json")}
    assert files == {KINDS[k].schema_file for k in KINDS}
    assert {KINDS[k].schema_file for k in OUR_KINDS} <= files


@pytest.mark.parametrize("kind", [k for k in OUR_KINDS if k != GUARDRAIL_ABI])
def test_every_object_in_our_schemas_is_closed(kind):
    """contracts: additionalProperties false on every object, except maps keyed by data (windows, flags)."""
    open_objects = []

    def walk(node, where):
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema_for(kind), "#")
    # the receipt's laneDecision `then` branch only narrows types of properties declared above
    assert [w for w in open_objects if "/then" not in w and "/if" not in w] == []


@pytest.mark.parametrize("kind,path", CONTRACT_EXAMPLES.items(), ids=list(CONTRACT_EXAMPLES))
def test_default_examples_are_valid(kind, path):
    doc = load_document(path)
    assert detect_kind(doc) == kind
    assert list(validator_for(kind).iter_errors(doc)) == []
    assert validate_document(doc, source=path.name) == []


@pytest.mark.parametrize("path", discover(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_under_examples_is_valid(path):
    assert [str(v) for v in validate_document(load_document(path), source=path.name)] == []


@pytest.mark.parametrize("path", valid_fixtures(), ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_valid_fixtures_are_valid(path):
    doc = load_document(path)
    assert KINDS[detect_kind(doc)].slug == path.parent.parent.name
    assert [str(v) for v in validate_document(doc, source=path.name, context=fixture_context())] == []


def test_there_is_a_realistic_example_of_every_kind():
    kinds = {detect_kind(load_document(p)) for p in [*discover(), *valid_fixtures()]}
    assert kinds >= set(OUR_KINDS)


def test_guardrail_schema_is_the_vendored_upstream_file_with_its_notice():
    schema = schema_for(GUARDRAIL_ABI)
    assert schema["$id"].endswith("/sourceos.guardrail.decision.v0.1.schema.json")
    notice = (SCHEMAS / "THIRD-PARTY-NOTICE.md").read_text(encoding="utf-8")
    assert "guardrail-fabric" in notice and "MIT" in notice and "unchanged" in notice


def test_vocabularies_agree_across_schemas():
    """The lane vocabulary is spelled identically wherever a schema enumerates it."""
    lanes = ["no-model", "local-cheap", "cheap", "standard", "high-end", "pro"]
    seen = []

    def walk(node):
        if isinstance(node, dict):
            enum = node.get("enum")
            if isinstance(enum, list) and "high-end" in enum and "no-model" in enum:
                seen.append([x for x in enum if x is not None])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for kind in OUR_KINDS:
        walk(schema_for(kind))
    assert seen and all(found == lanes for found in seen)


def test_input_bundle_declares_the_documented_defaults():
    request = schema_for("RouteInputBundle")["properties"]["request"]["properties"]
    assert request["standardLaneFailures"]["default"] == 0
    assert request["deterministicVerificationAvailable"]["default"] is False
    assert request["dataClass"]["default"] == "internal"
    assert request["requestedLane"]["default"] is None
    assert request["escalation"]["default"] is None
    assert request["egressApprovalRef"]["default"] is None
    assert request["personal"]["default"] is None


def test_binding_schema_declares_the_documented_defaults():
    props = schema_for("LocalPersonalRouteBinding")["properties"]
    assert props["personalization"]["properties"]["activationRequiresLedgerApproval"]["default"] is True
    assert props["policy"]["properties"]["personalizationRequiresConsent"]["default"] is True


def test_schemas_are_plain_json_files():
    for path in SCHEMAS.glob("*.schema.json"):
        json.loads(path.read_text(encoding="utf-8"))


def test_example_bundles_meant_to_be_rejected_are_rejected_by_the_schema():
    """examples/bundles/ keeps ill-typed bundles (their .expected.json says schemaValidInput false) to show
    how they are denied; discovery leaves them out, and the schema does reject each of them."""
    from router.contracts.runner import meant_to_be_rejected

    rejected = [p for p in sorted(EXAMPLES.rglob("*.json")) if meant_to_be_rejected(p)]
    for path in rejected:
        doc = load_document(path)
        assert detect_kind(doc) == "RouteInputBundle"
        assert not validator_for("RouteInputBundle").is_valid(doc), path.name
        assert path not in discover()


def test_the_complete_examples_in_docs_contracts_md_are_valid():
    """Every ```json block in docs/contracts.md is a complete, valid document (excerpts are ```jsonc)."""
    text = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        doc = parse_document(block, "docs/contracts.md")
        assert [str(v) for v in validate_document(doc, source="docs/contracts.md")] == []
