from __future__ import annotations

import pytest
from model_opa import ModelOpa


@pytest.fixture(scope="session")
def model_opa(opa_server):
    return ModelOpa(opa_server)
