"""The policy-data assembler: documents become keyed views under data.model_router_data; bad sources
are named by file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router import paths, policy_data


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


def _sources(tmp_path: Path, documents: list[dict], active: dict) -> Path:
    names = []
    for i, doc in enumerate(documents):
        p = tmp_path / f"doc{i}.json"
        p.write_text(json.dumps(doc), encoding="utf-8")
        names.append(p.name)
    src = tmp_path / "sources.json"
    src.write_text(json.dumps({"documents": names, "active": active}), encoding="utf-8")
    return src


def _policy() -> dict:
    return json.loads((paths.EXAMPLES / "agent-execution-model-routing-policy.default.json").read_text())


def test_unknown_kind_is_named_with_its_file(tmp_path):
    src = _sources(tmp_path, [{"kind": "Nonsense"}], {})
    with pytest.raises(policy_data.PolicyDataError, match=r"doc0\.json: \$\.kind: unknown document kind 'Nonsense'"):
        policy_data.assemble(src, root=tmp_path)


def test_duplicate_lane_is_named_with_its_path(tmp_path):
    doc = _policy()
    doc["modelLanes"].append(dict(doc["modelLanes"][0]))
    src = _sources(tmp_path, [doc], {})
    with pytest.raises(policy_data.PolicyDataError, match=r"\$\.modelLanes\[6\]\.laneId: duplicate id 'no-model'"):
        policy_data.assemble(src, root=tmp_path)


def test_active_reference_must_name_a_loaded_document(tmp_path):
    src = _sources(tmp_path, [_policy()], {"policy": "urn:socioprophet:model-routing-policy:missing"})
    with pytest.raises(policy_data.PolicyDataError, match=r"\$\.active\.policy"):
        policy_data.assemble(src, root=tmp_path)


def test_malformed_json_reports_line_and_column(tmp_path):
    bad = tmp_path / "doc0.json"
    bad.write_text('{\n  "kind": \n}', encoding="utf-8")
    src = tmp_path / "sources.json"
    src.write_text(json.dumps({"documents": ["doc0.json"], "active": {}}), encoding="utf-8")
    with pytest.raises(policy_data.PolicyDataError, match=r"line 3 column 1"):
        policy_data.assemble(src, root=tmp_path)


def test_write_places_data_where_opa_mounts_it(tmp_path):
    target = policy_data.write(tmp_path, {"active": {}})
    assert target == tmp_path / "model_router_data" / "data.json"
    assert json.loads(target.read_text()) == {"active": {}}
