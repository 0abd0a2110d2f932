"""The remote engine setting names one OPA or a fleet; each URL is checked, errors name where."""

from __future__ import annotations

import pytest

from router.config import ConfigError, load_settings
from router.engine import ENGINE_UNAVAILABLE
from router.engine_fleet import FleetEngine, policy_revision


def test_a_yaml_list_of_urls_is_a_fleet(tmp_path):
    cfg = tmp_path / "router.yaml"
    cfg.write_text("opa_url: [http://127.0.0.1:8181, 'unix:///run/opa/opa.sock']\n", encoding="utf-8")
    s = load_settings(cfg, env={})
    assert s.opa_urls == ("http://127.0.0.1:8181", "unix:///run/opa/opa.sock")


def test_comma_separated_environment_is_a_fleet():
    s = load_settings(env={"MODEL_ROUTER_OPA_URL": "http://127.0.0.1:8181, http://127.0.0.1:8182"})
    assert s.opa_urls == ("http://127.0.0.1:8181", "http://127.0.0.1:8182")


@pytest.mark.parametrize("value, where", [
    ("[http://127.0.0.1:8181, ftp://x:1]", "$.opa_url[1]"),
    ("[]", "$.opa_url"),
    ("[http://127.0.0.1:8181, http://127.0.0.1:8181]", "repeated"),
    ("[1]", "$.opa_url[0]"),
])
def test_bad_fleet_urls_name_the_item(tmp_path, value, where):
    cfg = tmp_path / "router.yaml"
    cfg.write_text(f"opa_url: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    assert where in str(err.value) and str(cfg) in str(err.value)


def test_a_fleet_with_no_reachable_replica_fails_closed(tmp_path):
    # nothing listens on these sockets: every decision fails closed, naming each replica
    urls = [f"unix://{tmp_path}/a.sock", f"unix://{tmp_path}/b.sock"]
    for pin in (None, "sha256:" + "0" * 64):
        with FleetEngine(urls, 0.2, expected_revision=pin) as engine:
            answer = engine.decide({"kind": "RouteInputBundle"})
            assert answer.fault == ENGINE_UNAVAILABLE and answer.result is None
            assert f"{tmp_path}/a.sock" in answer.detail and f"{tmp_path}/b.sock" in answer.detail


def test_policy_revision_reads_the_model_router_bundle_only():
    bundles = {"model_router": {"manifest": {"revision": "sha256:a"}}, "decision_log_mask": {"manifest": {"revision": "sha256:b"}}}
    assert policy_revision(bundles) == "sha256:a"
    assert policy_revision({"model_router": {"revision": "sha256:c"}}) == "sha256:c"
    assert policy_revision({"other": {"revision": "sha256:c"}}) is None
