"""The managed OPA's garbage-collector target (GOGC): MANAGED_OPA_GOGC unless the environment or the
`opa_gogc` setting names another (docs/performance.md measures why)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from router import engine as eng
from router.config import ConfigError, load_settings
from router.opa_supervisor import MANAGED_OPA_GOGC, managed_opa_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/environ")


def _opa_environ(engine: eng.ManagedEngine) -> dict[str, str]:
    assert engine.pid is not None
    raw = Path(f"/proc/{engine.pid}/environ").read_bytes()
    assert b"opa" in Path(f"/proc/{engine.pid}/cmdline").read_bytes()  # the OPA process itself, not a wrapper
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_the_managed_opa_gets_the_default_gc_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    with eng.ManagedEngine(timeout_s=5.0, auth=False) as engine:
        assert _opa_environ(engine)["GOGC"] == str(MANAGED_OPA_GOGC)


def test_a_gogc_in_the_environment_is_kept_and_the_setting_wins_over_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOGC", "150")
    with eng.ManagedEngine(timeout_s=5.0, auth=False) as engine:
        assert _opa_environ(engine)["GOGC"] == "150"
    with eng.ManagedEngine(timeout_s=5.0, auth=False, gogc=250) as engine:
        assert _opa_environ(engine)["GOGC"] == "250"


def test_managed_opa_env_keeps_everything_else() -> None:
    env = managed_opa_env(None, {"PATH": "/bin", "GOGC": ""})
    assert env == {"PATH": "/bin", "GOGC": str(MANAGED_OPA_GOGC)}
    assert managed_opa_env(75, {"GOGC": "150"})["GOGC"] == "75"


def test_the_setting_comes_from_the_environment_or_the_config_file(tmp_path: Path) -> None:
    assert load_settings(env={}).opa_gogc is None
    assert load_settings(env={"MODEL_ROUTER_OPA_GOGC": "300"}).opa_gogc == 300
    config = tmp_path / "model-router.yaml"
    config.write_text("opa_gogc: 200\n", encoding="utf-8")
    assert load_settings(config_file=config, env={}).opa_gogc == 200
    assert load_settings(config_file=config, env={"MODEL_ROUTER_OPA_GOGC": "500"}).opa_gogc == 500


@pytest.mark.parametrize("value", ["off", "5", "20000", "1.5", "true"])
def test_an_unusable_gc_target_names_its_source_and_the_range(value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env={"MODEL_ROUTER_OPA_GOGC": value})
    assert "MODEL_ROUTER_OPA_GOGC" in str(err.value) and "10 to 10000" in str(err.value)


def test_a_config_file_value_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "model-router.yaml"
    config.write_text("opa_gogc: fast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\$\.opa_gogc: expected int"):
        load_settings(config_file=config, env={})
