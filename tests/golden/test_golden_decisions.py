"""Every example bundle decides exactly as it did when the record was made (run identity aside).

Refactors of the policies or of the Python layer (projections moved into Rego, precomputed policy
data) must not change any decision, guardrail projection, agentplane receipt or route receipt. A
deliberate change of a document re-records with `python tests/golden/golden_decisions.py --record`
and says why in its commit.
"""

from __future__ import annotations

import json

import pytest
from golden.golden_decisions import RECORDED, bundle_paths, current_documents


@pytest.fixture(scope="module")
def current() -> dict[str, dict]:
    return current_documents()


RECORD = json.loads(RECORDED.read_text())


def test_the_record_covers_every_example_bundle() -> None:
    assert sorted(RECORD) == sorted(p.name for p in bundle_paths())
    assert len(RECORD) >= 100


@pytest.mark.parametrize("name", sorted(RECORD))
def test_example_bundle_decides_as_recorded(name: str, current: dict[str, dict]) -> None:
    assert current[name] == RECORD[name]
