"""Hostile settings: a config file that is not UTF-8, too large, too deeply nested, a folder, or
holds a wrong value; an OPA URL that is not http(s)://host:port; NUL characters. Each is a
ConfigError naming where the value came from (file and JSON path, environment variable or
argument) and what was expected; the command line exits 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import paths
from router.config import MAX_CONFIG_BYTES, ConfigError, load_settings

FILES = {
    "not utf-8": (b"timeout_ms: \xff\n", "UTF-8"),
    "too deep": (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested"),
    "too large": (b"# " + b"x" * MAX_CONFIG_BYTES + b"\n", "at most"),
    "alias bomb": (b'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
                   b'opa_url: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n', "$.a"),
    "url scheme": (b"opa_url: ftp://127.0.0.1:1\n", "$.opa_url: expected http://host:port"),
    "url path": (b"opa_url: http://127.0.0.1:8181/v1/data\n", "$.opa_url: expected http://host:port"),
    "url port": (b"opa_url: http://127.0.0.1:99999\n", "$.opa_url: expected http://host:port"),
    "url type": (b"opa_url: [1]\n", "$.opa_url[0]: expected one OPA URL"),
    "url mapping": (b"opa_url: {a: 1}\n", "$.opa_url: expected a URL or a list of URLs"),
    "timeout inf": (b"timeout_ms: .inf\n", "$.timeout_ms"),
    "timeout nan": (b"timeout_ms: .nan\n", "$.timeout_ms"),
    "timeout bool": (b"timeout_ms: true\n", "$.timeout_ms"),
    "nul in dir": (b'receipts_dir: "a\\0b"\n', "$.receipts_dir: expected text without NUL"),
    "non-string key": (b"1: 2\n", "unknown setting"),
}


@pytest.mark.parametrize(("raw", "message"), FILES.values(), ids=FILES.keys())
def test_a_hostile_config_file_is_a_config_error_naming_the_file(tmp_path, raw, message):
    cfg = tmp_path / "model-router.yaml"
    cfg.write_bytes(raw)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={})
    assert str(cfg) in str(info.value) and message in str(info.value)


def test_a_folder_as_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_settings(tmp_path, env={})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MODEL_ROUTER_OPA_URL": "127.0.0.1:8181"}, "MODEL_ROUTER_OPA_URL: expected http://host:port"),
        ({"MODEL_ROUTER_OPA_URL": "http://[::1"}, "MODEL_ROUTER_OPA_URL: expected http://host:port"),
        ({"MODEL_ROUTER_RECEIPTS_DIR": "a\0b"}, "MODEL_ROUTER_RECEIPTS_DIR: expected text without NUL"),
        ({"MODEL_ROUTER_TIMEOUT_MS": "1e999"}, "MODEL_ROUTER_TIMEOUT_MS"),
    ],
)
def test_hostile_environment_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert message in str(info.value)


def test_a_bad_url_argument_names_the_argument():
    with pytest.raises(ConfigError, match="^opa_url: expected"):
        load_settings(env={}, opa_url="file:///etc/passwd")


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_fuzz_config_files_give_settings_or_a_config_error(tmp_path_factory, raw):
    cfg = tmp_path_factory.mktemp("cfg") / "model-router.yaml"
    cfg.write_bytes(raw)
    try:
        load_settings(cfg, env={})
    except ConfigError as exc:
        assert str(cfg) in str(exc)


def test_cli_exits_2_on_a_hostile_config(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_bytes(b"opa_url: ftp://127.0.0.1:1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    bundle = paths.EXAMPLES / "bundles" / "personal-router-healthy-laptop.json"
    out = subprocess.run([sys.executable, "-m", "router.cli", "decide", str(bundle), "--config", str(cfg)],
                         capture_output=True, cwd=paths.ROOT, env=env, timeout=120)
    assert out.returncode == 2, out.stderr.decode()
    assert f"{cfg}: $.opa_url: expected http://host:port" in out.stderr.decode()
