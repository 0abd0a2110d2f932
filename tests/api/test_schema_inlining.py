"""The fast validators (local $refs inlined) judge every document exactly as the schemas as written do."""

from __future__ import annotations

import json

import pytest
from api_helpers import example_bundles, load, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from router import Router, paths
from router.bundle_input import fast_validator, inline_local_refs
from router.contracts.schemas import FORMAT_CHECKER

SCHEMAS = ["route-input-bundle", "agent-execution-route-decision", "local-personal-route-decision"]


def validators(name):
    schema = json.loads((paths.SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER), fast_validator(schema)


VALIDATORS = {name: validators(name) for name in SCHEMAS}


def verdict(validator, doc):
    return sorted((tuple(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(doc))


@pytest.fixture(scope="module")
def documents():
    docs = [("route-input-bundle", load(p)) for p in example_bundles()[::4]]
    with Router(receipts=False, timeout_ms=5000) as router:
        for p in example_bundles()[::6]:
            try:
                d = router.decide(p)
            except Exception:
                continue
            docs.append(("local-personal-route-decision" if d.is_personal else "agent-execution-route-decision", d.to_dict()))
    return docs


def test_inlining_leaves_no_local_reference_and_keeps_defs():
    for name in SCHEMAS:
        schema = json.loads((paths.SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
        inlined = inline_local_refs(schema)
        body = {k: v for k, v in inlined.items() if k != "$defs"}
        assert '"$ref": "#/$defs/' not in json.dumps(body)
        assert inlined.get("$defs") == schema.get("$defs")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_and_plain_validators_agree_on_mutated_documents(documents, data):
    name, doc = data.draw(st.sampled_from(documents))
    doc = mutate(doc, data)
    plain, fast = VALIDATORS[name]
    assert verdict(fast, doc) == verdict(plain, doc)
