"""Errors from building the bundle name the policy file as the author knows it (policies/...), not the
staging folder's bundle-relative path."""

from __future__ import annotations

import pytest

from router import bundle as bundle_mod
from router import paths

BROKEN = b"package model_router.broken\n\nimport rego.v1\n\nx := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1:1\"})\n"


def test_a_build_error_names_the_module_under_policies(tmp_path, monkeypatch):
    root = tmp_path / "checkout"
    module = root / "policies" / "model_router" / "broken" / "broken.rego"
    module.parent.mkdir(parents=True)
    module.write_bytes(BROKEN)
    monkeypatch.setattr(paths, "ROOT", root)
    monkeypatch.setattr(paths, "POLICIES", root / "policies")
    files = [("model_router/broken/broken.rego", BROKEN), ("model_router_data/data.json", b"{}")]
    with pytest.raises(bundle_mod.BundleBuildError) as info:
        bundle_mod.build_from_files(files, tmp_path / "out" / "b.tar.gz")
    message = str(info.value)
    assert "policies/model_router/broken/broken.rego:" in message, message
    assert "http.send" in message


def test_a_module_that_differs_from_the_file_keeps_its_bundle_path(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "POLICIES", tmp_path / "policies")
    files = [("model_router/broken/broken.rego", BROKEN), ("model_router_data/data.json", b"{}")]
    with pytest.raises(bundle_mod.BundleBuildError) as info:
        bundle_mod.build_from_files(files, tmp_path / "out" / "b.tar.gz")
    assert "policies/model_router" not in str(info.value) and "model_router/broken/broken.rego" in str(info.value)
