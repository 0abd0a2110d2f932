"""Fixtures for the engine tests: the project bundle and a separate, deliberately faulty bundle."""

from __future__ import annotations

from pathlib import Path

import pytest
from faulty_policy import build_faulty_bundle

from router import bundle as bundle_mod


@pytest.fixture(scope="session")
def project_bundle() -> bundle_mod.BuiltBundle:
    return bundle_mod.ensure_bundle()


@pytest.fixture(scope="session")
def faulty_bundle(tmp_path_factory) -> Path:
    return build_faulty_bundle(tmp_path_factory.mktemp("faulty") / "faulty.tar.gz")
