"""Configuration is explicit and input is refused cleanly: no config file read from the working
directory, only the pinned OPA (or one named explicitly, of the pinned version), one validator
verdict, no prompt text in any error, no special files, no control characters on a terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import pytest

from router import engine as eng
from router import opa_binary, paths
from router.approvals import EVALUATION_TIME_ENV
from router.bundle_input import InvalidBundle, load, prepare
from router.cli import table
from router.config import ConfigError, ignored_cwd_config, load_settings

EXAMPLE = paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json"
SECRET = "the secret prompt: transfer all funds"


def _example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


# -- 4. explicit configuration ------------------------------------------------------------------


def test_a_config_file_in_the_working_directory_is_never_read(tmp_path, monkeypatch):
    (tmp_path / "model-router.yaml").write_text("opa_url: http://127.0.0.1:1\nreceipts: false\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.opa_url is None and settings.receipts is True and settings.config_file is None
    assert ignored_cwd_config(env={}) is not None
    named = load_settings(env={"MODEL_ROUTER_CONFIG": str(tmp_path / "model-router.yaml")})
    assert named.receipts is False and named.opa_url == "http://127.0.0.1:1"


def test_the_cli_names_the_ignored_config_file_on_stderr(tmp_path):
    (tmp_path / "model-router.yaml").write_text("receipts: false\nopa_url: http://127.0.0.1:1\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_") or k == EVALUATION_TIME_ENV}
    env["MODEL_ROUTER_RECEIPTS_DIR"] = str(tmp_path / "receipts")
    out = subprocess.run([sys.executable, "-m", "router.cli", "decide", str(EXAMPLE), "--format", "table"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert str(tmp_path / "model-router.yaml") in out.stderr and "not read" in out.stderr
    assert (tmp_path / "receipts" / "receipts.jsonl").exists()  # receipts were not switched off


def test_a_non_executable_pinned_opa_is_an_error_not_a_fallback_to_path(tmp_path, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "opa").write_text("not executable", encoding="utf-8")
    on_path = tmp_path / "path"
    on_path.mkdir()
    impostor = on_path / "opa"
    impostor.write_text("#!/bin/sh\necho 'Version: 0.0.1'\n", encoding="utf-8")
    impostor.chmod(0o755)
    monkeypatch.setattr(paths, "TOOLS_BIN", tools)
    monkeypatch.setenv("PATH", str(on_path))
    monkeypatch.delenv("MODEL_ROUTER_OPA", raising=False)
    with pytest.raises(opa_binary.OpaNotFound, match="expected an executable file"):
        opa_binary.find_opa()


def test_an_explicitly_named_opa_must_be_the_pinned_version(tmp_path, monkeypatch):
    other = tmp_path / "opa"
    other.write_text("#!/bin/sh\necho 'Version: 0.0.1'\n", encoding="utf-8")
    other.chmod(0o755)
    monkeypatch.setenv("MODEL_ROUTER_OPA", str(other))
    with pytest.raises(opa_binary.OpaNotFound, match=rf"expected OPA {re.escape(opa_binary.pinned_version())} .*found v0\.0\.1"):
        opa_binary.find_opa()
    monkeypatch.setenv("MODEL_ROUTER_OPA", str(paths.TOOLS_BIN / "opa"))
    assert opa_binary.find_opa() == paths.TOOLS_BIN / "opa"


# -- 6. one validator verdict, no prompt text, no special files, no control characters ----------


def test_a_bundle_only_the_fast_validator_rejects_is_still_rejected():
    bundle = _example()
    bundle["request"]["prompt"] = {"sha256": "a" * 64 + "\n", "chars": 3}
    with pytest.raises(InvalidBundle) as info:
        prepare(bundle, "b.json")
    assert info.value.violations and "b.json" in str(info.value)


@pytest.mark.parametrize("prompt", [SECRET, [SECRET], {"text": SECRET, "note": SECRET}, {"sha256": SECRET, "chars": 1},
                                    {"chars": SECRET}])
def test_no_prompt_text_in_any_error_message(prompt):
    bundle = _example()
    bundle["request"]["prompt"] = prompt
    with pytest.raises(InvalidBundle) as info:
        prepare(bundle, "b.json")
    message = str(info.value)
    assert "$.request.prompt" in message and SECRET not in message and "funds" not in message


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "bundle.json"
    os.mkfifo(fifo)
    result = {}

    def read():
        try:
            load(fifo)
        except InvalidBundle as exc:
            result["error"] = str(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        reader.join(timeout=5)
        pytest.fail("reading a FIFO blocked")
    assert "special file" in result["error"] and str(fifo) in result["error"]


def test_a_device_is_refused():
    with pytest.raises(InvalidBundle, match="special file"):
        load("/dev/zero")


def test_control_characters_are_escaped_in_tables():
    out = table([["a\rb", "\x1b[2J\x1b[31mred", "\u202eevil"]], ["x", "y", "z"])
    assert "\r" not in out and "\x1b" not in out and "\u202e" not in out
    assert "a\\x0db" in out and "\\x1b[2J" in out and "\\u202eevil" in out


def test_a_fifo_as_config_file_is_a_config_error_at_once(tmp_path):
    fifo = tmp_path / "model-router.yaml"
    os.mkfifo(fifo)
    result = {}

    def read():
        try:
            load_settings(config_file=fifo, env={})
        except ConfigError as exc:
            result["error"] = str(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():
        with open(fifo, "wb"):
            pass
        reader.join(timeout=5)
        pytest.fail("reading a FIFO config file blocked")
    assert str(fifo) in result["error"] and "special file" in result["error"]


def test_explain_output_escapes_control_characters(tmp_path):
    bundle = _example()
    bundle["request"]["requestId"] = "req-\r\x1b[2Kforged"
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    out = subprocess.run([sys.executable, "-m", "router.cli", "explain", str(path), "--no-receipts"],
                         capture_output=True, text=True, env=env, timeout=120, cwd=paths.ROOT)
    assert "req-\\x0d\\x1b[2Kforged" in out.stdout, out.stdout + out.stderr
    assert "\x1b" not in out.stdout and "\r" not in out.stdout


def test_an_opa_passed_to_the_engine_must_be_the_pinned_version(tmp_path, project_bundle):
    other = tmp_path / "opa"
    other.write_text("#!/bin/sh\necho 'Version: 0.0.1'\n", encoding="utf-8")
    other.chmod(0o755)
    engine = eng.ManagedEngine(project_bundle.path, timeout_s=1.0, opa=other, restart_backoff_s=60)
    try:
        assert engine.pid is None and f"expected OPA {opa_binary.pinned_version()}" in engine.start_error
    finally:
        engine.close()
