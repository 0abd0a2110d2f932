"""Router settings: explicit arguments, then environment, then a config file, then defaults.

Environment:
    MODEL_ROUTER_OPA_URL        use this OPA (it must serve the model-router bundle) instead of the managed one
    MODEL_ROUTER_OPA_TOKEN      bearer token for that OPA, if it requires one
    MODEL_ROUTER_TIMEOUT_MS     decision timeout in milliseconds (default 500)
    MODEL_ROUTER_RECEIPTS_DIR   directory of the receipt log (default: $XDG_STATE_HOME/model-router/receipts,
                                or ~/.local/state/model-router/receipts)
    MODEL_ROUTER_RECEIPTS       "0"/"false"/"off" to record no receipts
    MODEL_ROUTER_RECEIPTS_KEY   Ed25519 receipt-signing key (PEM; `model-router receipts keygen`); default: the
                                router's own, created on first use in <receipts_dir>/signing/ (0600)
    MODEL_ROUTER_FSYNC          "0"/"false"/"off" to skip fsync after each receipt append (default on)
    MODEL_ROUTER_CONFIG         a config file to read instead of ./model-router.yaml

Config file (YAML, every key optional):

    opa_url: http://127.0.0.1:8181
    opa_token: null
    timeout_ms: 500
    receipts_dir: /var/lib/model-router/receipts
    receipts: true
    receipts_key: /etc/model-router/receipt-signing.key
    fsync: true
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TIMEOUT_MS = 500
CONFIG_FILE_NAME = "model-router.yaml"
KEYS = {"opa_url": str, "opa_token": str, "timeout_ms": (int, float), "receipts_dir": str, "receipts": bool, "receipts_key": str, "fsync": bool}
FALSE = {"0", "false", "no", "off"}
TRUE = {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """A setting is unusable (names where it came from and what was expected)."""


def default_receipts_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "model-router" / "receipts"


@dataclass(frozen=True)
class Settings:
    opa_url: str | None = None
    opa_token: str | None = None
    timeout_ms: float = DEFAULT_TIMEOUT_MS
    receipts_dir: Path | None = None
    receipts: bool = True
    receipts_key: Path | None = None
    fsync: bool = True
    config_file: Path | None = None

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000.0

    @property
    def receipts_path(self) -> Path | None:
        from router.receipts import LOG_NAME

        if not self.receipts:
            return None
        return (self.receipts_dir or default_receipts_dir()) / LOG_NAME


def _bool(value: str, where: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise ConfigError(f"{where}: expected true or false, found {value!r}")


def _timeout(value: Any, where: str) -> float:
    try:
        ms = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number of milliseconds, found {value!r}") from None
    if not (0 < ms <= 600_000):
        raise ConfigError(f"{where}: expected a timeout between 0 and 600000 ms, found {value!r}")
    return ms


MAX_CONFIG_BYTES = 64 * 1024


def read_config_file(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: $: expected a config file of at most {MAX_CONFIG_BYTES} bytes")
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: $: expected UTF-8 text, found invalid UTF-8 at byte {exc.start}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: $: expected a flat mapping of settings, found too deeply nested YAML") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: $: expected a mapping of settings, found {type(raw).__name__}")
    out = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ConfigError(f"{path}: $.{key}: unknown setting; expected one of {', '.join(KEYS)}")
        if value is None:
            continue
        if not isinstance(value, KEYS[key]) or (KEYS[key] is not bool and isinstance(value, bool)):
            raise ConfigError(f"{path}: $.{key}: expected {getattr(KEYS[key], '__name__', 'a number')}, found {value!r}")
        out[key] = value
    return out


def _opa_url(value: Any, where: str) -> str:
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected an http(s) URL, found {value!r}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{where}: expected http://host:port or https://host:port, found {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{where}: expected http://host:port or https://host:port (no path), found {value!r}")
    del port
    return value


def _no_nul(value: Any, where: str) -> Any:
    if isinstance(value, str) and "\0" in value:
        raise ConfigError(f"{where}: expected text without NUL characters")
    return value


def load_settings(config_file: str | Path | None = None, env: dict | None = None, **overrides: Any) -> Settings:
    """Settings from OVERRIDES (None values ignored), then ENV, then the config file, then defaults."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}  # where each value came from, for error messages
    path = Path(config_file) if config_file else (Path(env["MODEL_ROUTER_CONFIG"]) if env.get("MODEL_ROUTER_CONFIG") else None)
    if path is None and Path(CONFIG_FILE_NAME).is_file():
        path = Path(CONFIG_FILE_NAME)
    if path is not None:
        from_file = read_config_file(path)
        values.update(from_file)
        sources.update({key: f"{path}: $.{key}" for key in from_file})
        values["config_file"] = path
        if "timeout_ms" in values:
            values["timeout_ms"] = _timeout(values["timeout_ms"], f"{path}: $.timeout_ms")
    for key, name in (("opa_url", "MODEL_ROUTER_OPA_URL"), ("opa_token", "MODEL_ROUTER_OPA_TOKEN"), ("receipts_dir", "MODEL_ROUTER_RECEIPTS_DIR"),
                      ("receipts_key", "MODEL_ROUTER_RECEIPTS_KEY")):
        if env.get(name):
            values[key], sources[key] = env[name], name
    if env.get("MODEL_ROUTER_TIMEOUT_MS"):
        values["timeout_ms"] = _timeout(env["MODEL_ROUTER_TIMEOUT_MS"], "MODEL_ROUTER_TIMEOUT_MS")
    if env.get("MODEL_ROUTER_RECEIPTS"):
        values["receipts"] = _bool(env["MODEL_ROUTER_RECEIPTS"], "MODEL_ROUTER_RECEIPTS")
    if env.get("MODEL_ROUTER_FSYNC"):
        values["fsync"] = _bool(env["MODEL_ROUTER_FSYNC"], "MODEL_ROUTER_FSYNC")
    for key, value in overrides.items():
        if key not in {f.name for f in fields(Settings)}:
            raise TypeError(f"unknown setting {key!r}")
        if value is not None:
            values[key], sources[key] = value, key
    if "timeout_ms" in overrides and overrides["timeout_ms"] is not None:
        values["timeout_ms"] = _timeout(overrides["timeout_ms"], "timeout_ms")
    if values.get("opa_url") is not None:
        values["opa_url"] = _opa_url(values["opa_url"], sources.get("opa_url", "opa_url"))
    for key in ("opa_token", "receipts_dir", "receipts_key"):
        if values.get(key) is not None:
            _no_nul(values[key], sources.get(key, key))
    for key in ("receipts_dir", "receipts_key"):
        if values.get(key) is not None:
            values[key] = Path(values[key]).expanduser()
    return replace(Settings(), **values)
