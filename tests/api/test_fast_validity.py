"""The hot path's yes/no check (jsonschema-rs when installed) gives the same verdict as jsonschema."""

from __future__ import annotations

import copy
import json

import pytest
from api_helpers import example_bundles, expected_for, load, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from router import Router, paths
from router.bundle_input import fast_validator
from router.contracts.schemas import FORMAT_CHECKER

SCHEMAS = ["route-input-bundle", "agent-execution-route-decision", "local-personal-route-decision"]


def _validators(name):
    schema = json.loads((paths.SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER), fast_validator(schema)


VALIDATORS = {name: _validators(name) for name in SCHEMAS}


@pytest.fixture(scope="module")
def documents():
    # the schema-valid examples (examples/bundles/ also keeps bundles meant to be rejected)
    valid = [p for p in example_bundles() if expected_for(p).get("schemaValidInput") is not False]
    docs = [("route-input-bundle", load(p)) for p in valid[::3]]
    with Router(receipts=False, timeout_ms=5000) as router:
        for p in valid[::5]:
            d = router.decide(p)
            docs.append(("local-personal-route-decision" if d.is_personal else "agent-execution-route-decision", d.to_dict()))
    return docs


def test_the_fast_check_is_in_use_and_valid_documents_pass(documents):
    for name, doc in documents:
        plain, fast = VALIDATORS[name]
        assert fast.accelerated, "jsonschema-rs is a dependency: the fast check must be compiled"
        assert plain.is_valid(doc) and fast.is_valid(doc), name


def test_an_invalid_document_still_gets_precise_errors(documents):
    name, doc = next((n, d) for n, d in documents if n == "route-input-bundle")
    broken = copy.deepcopy(doc)
    broken["request"]["stage"] = 7
    plain, fast = VALIDATORS[name]
    assert not fast.is_valid(broken)
    assert [e.message for e in fast.iter_errors(broken)] == [e.message for e in plain.iter_errors(broken)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_and_plain_verdicts_agree_on_mutated_documents(documents, data):
    name, doc = data.draw(st.sampled_from(documents))
    doc = mutate(doc, data)
    plain, fast = VALIDATORS[name]
    assert fast.is_valid(doc) == plain.is_valid(doc)
