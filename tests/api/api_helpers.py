"""Helpers for the API tests: example bundles with their expected outcomes, schema checks."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from bundles import personal_bundle  # noqa: F401  (re-exported for the suites)

from router import paths

GUARDRAIL_SCHEMA = "sourceos.guardrail.decision.v0.1"


@cache
def _validator(schema_name: str):
    from jsonschema import Draft202012Validator

    schema = json.loads((paths.SCHEMAS / f"{schema_name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(doc, schema_name: str) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator(schema_name).iter_errors(doc)]


def decision_schema(decision) -> str:
    return "local-personal-route-decision" if decision.is_personal else "agent-execution-route-decision"


def example_bundles() -> list[Path]:
    return sorted(p for p in (paths.EXAMPLES / "bundles").glob("*.json") if not p.name.endswith(".expected.json"))


def expected_for(path: Path) -> dict | None:
    exp = path.with_name(path.stem + ".expected.json")
    return json.loads(exp.read_text(encoding="utf-8")) if exp.exists() else None


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _json_paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _json_paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _json_paths(v, (*prefix, i))


def mutation_values():
    """Values a mutation may put anywhere in a document: wrong types, edge numbers, near-miss dates."""
    from hypothesis import strategies as st

    return st.one_of(
        st.none(), st.booleans(), st.integers(-3, 10), st.floats(-1, 2, allow_nan=False), st.text(max_size=6),
        st.just(1.0), st.just(2**70), st.just("2026-02-30T00:00:00Z"), st.just("2026-02-03t10:00:00z"),
        st.just("2026-02-03T10:00:00+01:00"), st.just("selected"), st.just("high-end"),
        st.just([]), st.just({}), st.just({"x": 1}),
    )


def mutate(doc, data, rounds: int = 3):
    """A copy of DOC with up to ROUNDS random members removed or replaced (hypothesis `data` draws)."""
    import copy

    from hypothesis import strategies as st

    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(0, rounds))):
        where = data.draw(st.sampled_from(list(_json_paths(doc))[1:] or [()]))
        if not where:
            break
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            parent.pop(where[-1], None)
        else:
            # a copy: st.just hands out one shared object, and inserting it twice could make a cycle
            parent[where[-1]] = copy.deepcopy(data.draw(mutation_values()))
    return doc
