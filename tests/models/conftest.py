from __future__ import annotations

import pytest

from model_opa import ModelOpa


@pytest.fixture(scope="session")
def model_opa():
    server = ModelOpa()
    try:
        yield server
    finally:
        server.close()
