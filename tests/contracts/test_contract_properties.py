"""Property tests: valid documents mutated at random never crash a validator, and a validator never
accepts a document its JSON Schema rejects (every schema error is reported, with a path)."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from contracts_support import CONTRACT_EXAMPLES, OUR_KINDS, fixture_context, valid_fixtures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.contracts import UnusableInput, detect_kind, load_document, parse_document, validate_document, validator_for
from router.contracts.runner import run_validator

BASES = [(detect_kind(load_document(p)), load_document(p)) for p in [*CONTRACT_EXAMPLES.values(), *valid_fixtures()]]
TEXTS = [p.read_text(encoding="utf-8") for p in CONTRACT_EXAMPLES.values()]
CONTEXT = fixture_context()

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["no-model", "high-end", "pro", "deny", "hosted", "task", "v0.1", "urn:socioprophet:model-routing-policy:x", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def all_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(all_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(all_paths(value, (*prefix, i)))
    return out


def parent_of(doc: Any, path: tuple) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def mutate(data, doc: Any) -> Any:
    """One random change somewhere in DOC (in place): delete, replace, add, duplicate, retype."""
    paths = [p for p in all_paths(doc) if p]
    path = data.draw(st.sampled_from(paths), label="path")
    parent, last = parent_of(doc, path), path[-1]
    op = data.draw(st.sampled_from(["delete", "replace", "add-field", "duplicate", "retype", "empty"]), label="op")
    if op == "delete":
        del parent[last]
    elif op == "replace":
        parent[last] = data.draw(json_values, label="value")
    elif op == "add-field" and isinstance(parent[last], dict):
        parent[last][data.draw(st.text(min_size=1, max_size=10), label="key")] = data.draw(json_scalars, label="value")
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(last, json.loads(json.dumps(parent[last])))
    elif op == "retype":
        value = parent[last]
        parent[last] = str(value) if not isinstance(value, str) else (int(value) if value.isdigit() else [value])
    elif op == "empty":
        value = parent[last]
        parent[last] = type(value)() if isinstance(value, (dict, list, str)) else None
    return doc


@SETTINGS
@given(data=st.data())
def test_mutated_documents_never_crash_and_schema_errors_are_never_lost(data):
    kind, base = data.draw(st.sampled_from(BASES), label="base")
    doc = json.loads(json.dumps(base))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        if not isinstance(doc, dict) or not doc:
            break
        doc = mutate(data, doc)
    violations = validate_document(doc, source="mutant.json", kind=kind, context=CONTEXT)
    schema_valid = validator_for(kind).is_valid(doc)
    assert schema_valid == (not any(v.rule == "schema" for v in violations))
    if not schema_valid:
        assert violations, "a document the schema rejects was accepted"
    for v in violations:
        assert v.file == "mutant.json" and v.path.startswith("$")
        assert v.found and v.expected and v.rule
        assert str(v).startswith(f"mutant.json: {v.path}: found ")


@SETTINGS
@given(data=st.data())
def test_the_runner_agrees_with_validate_document_on_mutated_files(data):
    kind, base = data.draw(st.sampled_from(BASES[:4]), label="base")
    doc = mutate(data, json.loads(json.dumps(base)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        code = run_validator([path], out=out, err=err)
    try:
        detected = detect_kind(doc)
    except UnusableInput:
        assert code == 2
        return
    violations = validate_document(doc, source=str(path), kind=detected)
    assert code == (1 if violations else 0)
    assert err.getvalue().count(": found ") == len(violations)


@SETTINGS
@given(data=st.data())
def test_corrupted_json_text_is_unusable_input_or_an_object(data):
    text = data.draw(st.sampled_from(TEXTS), label="text")
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="edits")):
        pos = data.draw(st.integers(min_value=0, max_value=len(text)), label="pos")
        if data.draw(st.booleans(), label="insert"):
            text = text[:pos] + data.draw(st.sampled_from(list('{}[],:"\\ 0eE-+.ntfNaI') + ["NaN", "Infinity"]), label="char") + text[pos:]
        else:
            text = text[:pos] + text[pos + 1 :]
    try:
        doc = parse_document(text, "corrupt.json")
    except UnusableInput as exc:
        assert str(exc).startswith("corrupt.json: ")
        return
    assert isinstance(doc, dict)
    kind = doc.get("kind")
    if kind in OUR_KINDS:
        validate_document(doc, source="corrupt.json", kind=kind, context=CONTEXT)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_contract_validators_long_campaign(data):
    """`make fuzz`: the first property above, with many more examples."""
    test_mutated_documents_never_crash_and_schema_errors_are_never_lost.hypothesis.inner_test(data)
