"""Router settings: explicit arguments, then environment, then a config file, then defaults.

Configuration is explicit: a config file is read only when it is named (`config_file=`, `--config` or
MODEL_ROUTER_CONFIG). A `model-router.yaml` in the working directory is never read implicitly
(`ignored_cwd_config()` names it so that the command line can warn about it).

Environment:
    MODEL_ROUTER_OPA_URL        use this OPA (it must serve the model-router bundle) instead of the managed one:
                                unix:///path/to/opa.sock, http://host:port or https://host:port (IPv6: http://[::1]:8181);
                                several URLs separated by commas: a fleet of replicas (router.engine_fleet)
    MODEL_ROUTER_OPA_TOKEN      bearer token for that OPA, if it requires one
    MODEL_ROUTER_OPA_REVISION   the policy revision that OPA must report; any other fails closed
                                (engine-revision-mismatch); for a fleet also "newest" (the default there:
                                follow each new revision the replicas start serving)
    MODEL_ROUTER_OPA_PROXY      reach that OPA through this HTTP proxy (http://host:port); proxy settings such
                                as HTTP_PROXY are never used
    MODEL_ROUTER_MAX_RESPONSE_BYTES  the largest answer accepted from OPA (default 4 MiB)
    MODEL_ROUTER_TIMEOUT_MS     decision timeout in milliseconds (default 500)
    MODEL_ROUTER_RECEIPTS_DIR   directory of the receipt log (default: $XDG_STATE_HOME/model-router/receipts,
                                or ~/.local/state/model-router/receipts)
    MODEL_ROUTER_RECEIPTS       "0"/"false"/"off" to record no receipts
    MODEL_ROUTER_RECEIPTS_KEY   Ed25519 receipt-signing key (PEM; `model-router receipts keygen`); default: the
                                router's own, created on first use in <receipts_dir>/signing/ (0600)
    MODEL_ROUTER_FSYNC          "0"/"false"/"off" to skip fsync after each receipt append (default on)
    MODEL_ROUTER_OPA_GOGC       Go's garbage-collector target (GOGC) for the managed OPA, 10-10000 (default: the
                                environment's GOGC when set, else 400; see router.opa_supervisor.MANAGED_OPA_GOGC)
    MODEL_ROUTER_CONFIG         a config file to read

Config file (YAML, every key optional):

    opa_url: http://127.0.0.1:8181        # or a list of replicas: [http://127.0.0.1:8181, http://127.0.0.1:8182]
    opa_token: null
    opa_revision: sha256:...
    opa_proxy: null
    max_response_bytes: 4194304
    timeout_ms: 500
    receipts_dir: /var/lib/model-router/receipts
    receipts: true
    receipts_key: /etc/model-router/receipt-signing.key
    fsync: true
    opa_gogc: 400
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from router.opa_endpoint import parse_endpoint
from router.regular_file import SpecialFileError, read_regular_file

DEFAULT_TIMEOUT_MS = 500
CONFIG_FILE_NAME = "model-router.yaml"
KEYS: dict[str, type | tuple[type, ...]] = {
    "opa_url": (str, list), "opa_token": str, "opa_revision": str, "opa_proxy": str, "max_response_bytes": int,
    "timeout_ms": (int, float), "receipts_dir": str, "receipts": bool, "receipts_key": str, "fsync": bool, "opa_gogc": int,
}
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
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
    opa_revision: str | None = None
    opa_proxy: str | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    timeout_ms: float = DEFAULT_TIMEOUT_MS
    receipts_dir: Path | None = None
    receipts: bool = True
    receipts_key: Path | None = None
    fsync: bool = True
    opa_gogc: int | None = None
    config_file: Path | None = None

    @property
    def managed_opa(self) -> bool:
        """No OPA URL is named: the router starts and manages its own OPA."""
        return not self.opa_url

    @property
    def opa_urls(self) -> tuple[str, ...]:
        """The remote OPA URLs: one, or several (a fleet)."""
        return tuple(u for u in (self.opa_url or "").split(",") if u)

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000.0

    @property
    def receipts_path(self) -> Path | None:
        # imported on use: the receipts package (signing, the decision module) would multiply the time
        # `import router.config` takes (about 60 ms alone, about 290 ms with it, measured)
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


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = read_regular_file(path, MAX_CONFIG_BYTES)
    except SpecialFileError:
        raise ConfigError(f"{path}: $: expected a regular config file, found a special file (FIFO, device or socket)") from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: $: expected a config file of at most {MAX_CONFIG_BYTES} bytes")
    import yaml  # only when a config file is in use (measured: about 15 ms of a cold `model-router decide` without one)

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
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ConfigError(f"{path}: $.{key}: unknown setting; expected one of {', '.join(KEYS)}")
        if value is None:
            continue
        if not isinstance(value, KEYS[key]) or (KEYS[key] is not bool and isinstance(value, bool)):
            expected = "a URL or a list of URLs" if key == "opa_url" else getattr(KEYS[key], "__name__", "a number")
            raise ConfigError(f"{path}: $.{key}: expected {expected}, found {value!r}")
        out[key] = value
    return out


def _opa_urls(value: Any, where: str) -> str:
    """One URL, a comma-separated list or a YAML list of URLs: each checked, joined by commas."""
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: expected at least one OPA URL, found an empty list")
        for i, item in enumerate(value):
            if not isinstance(item, str) or "," in item:
                raise ConfigError(f"{where}[{i}]: expected one OPA URL (http://host:port, https://host:port or unix:///path), found {item!r}")
        parts, wheres = value, [f"{where}[{i}]" for i in range(len(value))]
    elif isinstance(value, str) and "," in value:
        parts = [p.strip() for p in value.split(",")]
        wheres = [f"{where} (URL {i + 1})" for i in range(len(parts))]
    else:
        return _opa_url(value, where)
    checked = [_opa_url(p, w) for p, w in zip(parts, wheres, strict=True)]
    if len(set(checked)) != len(checked):
        raise ConfigError(f"{where}: expected each OPA URL once, found a repeated one")
    return ",".join(checked)


def _opa_url(value: Any, where: str) -> str:
    expected = "expected http://host:port or https://host:port (IPv6 as http://[::1]:8181) or unix:///path/to/opa.sock"
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {expected}, found {type(value).__name__}")
    try:
        parse_endpoint(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {expected}, found {value!r} ({str(exc).split(': ', 1)[-1]})") from None
    return value


def _proxy_url(value: Any, where: str) -> str:
    try:
        endpoint = parse_endpoint(value)
    except ValueError:
        endpoint = None
    if not isinstance(value, str) or endpoint is None or endpoint.scheme != "http":
        raise ConfigError(f"{where}: expected an HTTP proxy as http://host:port, found {value!r}")
    return value


def _size(value: Any, where: str) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number of bytes, found {value!r}") from None
    if isinstance(value, bool) or not (1024 <= size <= 1024 * 1024 * 1024):
        raise ConfigError(f"{where}: expected a number of bytes between 1024 and 1073741824, found {value!r}")
    return size


def _gogc(value: Any, where: str) -> int:
    try:
        gogc = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a GOGC percentage (an integer from 10 to 10000), found {value!r}") from None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()) or not (10 <= gogc <= 10000):
        raise ConfigError(f"{where}: expected a GOGC percentage (an integer from 10 to 10000), found {value!r}")
    return gogc


def ignored_cwd_config(config_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """./model-router.yaml when it exists and is not the config file in use (it is never read implicitly)."""
    env = os.environ if env is None else env
    if config_file or env.get("MODEL_ROUTER_CONFIG"):
        return None
    candidate = Path(CONFIG_FILE_NAME)
    return candidate if candidate.exists() else None


def _no_nul(value: Any, where: str) -> Any:
    if isinstance(value, str) and "\0" in value:
        raise ConfigError(f"{where}: expected text without NUL characters")
    return value


def load_settings(
    config_file: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Settings from OVERRIDES (None values ignored), then ENV, then the config file, then defaults."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}  # where each value came from, for error messages
    path = Path(config_file) if config_file else (Path(env["MODEL_ROUTER_CONFIG"]) if env.get("MODEL_ROUTER_CONFIG") else None)
    if path is not None:
        from_file = read_config_file(path)
        values.update(from_file)
        sources.update({key: f"{path}: $.{key}" for key in from_file})
        values["config_file"] = path
        if "timeout_ms" in values:
            values["timeout_ms"] = _timeout(values["timeout_ms"], f"{path}: $.timeout_ms")
    for key, name in (("opa_url", "MODEL_ROUTER_OPA_URL"), ("opa_token", "MODEL_ROUTER_OPA_TOKEN"),
                      ("opa_revision", "MODEL_ROUTER_OPA_REVISION"), ("opa_proxy", "MODEL_ROUTER_OPA_PROXY"),
                      ("max_response_bytes", "MODEL_ROUTER_MAX_RESPONSE_BYTES"), ("receipts_dir", "MODEL_ROUTER_RECEIPTS_DIR"),
                      ("receipts_key", "MODEL_ROUTER_RECEIPTS_KEY")):
        if env.get(name):
            values[key], sources[key] = env[name], name
    if env.get("MODEL_ROUTER_TIMEOUT_MS"):
        values["timeout_ms"] = _timeout(env["MODEL_ROUTER_TIMEOUT_MS"], "MODEL_ROUTER_TIMEOUT_MS")
    if env.get("MODEL_ROUTER_RECEIPTS"):
        values["receipts"] = _bool(env["MODEL_ROUTER_RECEIPTS"], "MODEL_ROUTER_RECEIPTS")
    if env.get("MODEL_ROUTER_FSYNC"):
        values["fsync"] = _bool(env["MODEL_ROUTER_FSYNC"], "MODEL_ROUTER_FSYNC")
    if env.get("MODEL_ROUTER_OPA_GOGC"):
        values["opa_gogc"], sources["opa_gogc"] = env["MODEL_ROUTER_OPA_GOGC"], "MODEL_ROUTER_OPA_GOGC"
    for key, value in overrides.items():
        if key not in {f.name for f in fields(Settings)}:
            raise TypeError(f"unknown setting {key!r}")
        if value is not None:
            values[key], sources[key] = value, key
    if "timeout_ms" in overrides and overrides["timeout_ms"] is not None:
        values["timeout_ms"] = _timeout(overrides["timeout_ms"], "timeout_ms")
    if values.get("opa_url") is not None:
        values["opa_url"] = _opa_urls(values["opa_url"], sources.get("opa_url", "opa_url"))
    if values.get("opa_proxy") is not None:
        values["opa_proxy"] = _proxy_url(values["opa_proxy"], sources.get("opa_proxy", "opa_proxy"))
    if values.get("opa_gogc") is not None:
        values["opa_gogc"] = _gogc(values["opa_gogc"], sources.get("opa_gogc", "opa_gogc"))
    if values.get("max_response_bytes") is not None:
        values["max_response_bytes"] = _size(values["max_response_bytes"], sources.get("max_response_bytes", "max_response_bytes"))
    for key in ("opa_token", "opa_revision", "receipts_dir", "receipts_key"):
        if values.get(key) is not None:
            _no_nul(values[key], sources.get(key, key))
    for key in ("receipts_dir", "receipts_key"):
        if values.get(key) is not None:
            values[key] = Path(values[key]).expanduser()
    return replace(Settings(), **values)
