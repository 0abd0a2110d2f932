"""No prompt text and no secret leaves the router: a canary prompt is decided through the Python API
and the command line (every output format, explain, batch, refusals), with OPA's decision logs and
debug logging on, and every output, log and file the router writes is searched for it — and for the
managed OPA's bearer token."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_support import personal_bundle

from router import InvalidBundle, Router, paths


def canary_bundle(canary: str, request_id: str = "canary-1") -> dict:
    bundle = personal_bundle(request_id)
    bundle["request"]["prompt"] = {"text": canary}
    return bundle


def files_under(root: Path, skip: tuple[Path, ...] = ()) -> list[Path]:
    out = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if not any(s == path or s in path.parents for s in skip):
                out.append(path)
    return out


def assert_absent(needles: dict[str, str], texts: dict[str, bytes]) -> None:
    for what, needle in needles.items():
        for where, text in texts.items():
            assert needle.encode() not in text, f"the {what} appears in {where}"


def test_canary_prompt_and_token_appear_in_no_output_log_or_file_of_the_api(tmp_path):
    canary = "CANARY-" + secrets.token_hex(12) + " please keep this secret"
    digest = hashlib.sha256(canary.encode()).hexdigest()
    original = canary_bundle(canary)
    kept = copy.deepcopy(original)
    outputs: dict[str, bytes] = {}
    opa_log = tmp_path / "opa.log"
    with Router(
        receipts_dir=tmp_path / "receipts",
        timeout_ms=10000,
        opa_log=opa_log,
        # every decision logged, at debug level: the strictest place for a leak to show up
        opa_args=["--set=decision_logs.console=true", "--log-level=debug"],
    ) as router:
        token = router.engine.token
        decision = router.decide(original)
        assert decision.fault is None, decision.detail
        assert decision.prompt_digest == "sha256:" + digest
        assert original == kept  # the caller's bundle is not modified
        batch = router.decide_many([canary_bundle(canary, "canary-2"), canary_bundle(canary, "canary-3")])
        explanation = router.explain(canary_bundle(canary, "canary-4"))
        for name, value in {
            "decision": decision.to_dict(), "guardrail": decision.to_guardrail(), "receipt": decision.receipt,
            "batch": [d.to_dict() for d in batch], "explain-json": explanation.to_dict(),
        }.items():
            outputs[name] = json.dumps(value, ensure_ascii=False).encode()
        outputs["explain-text"] = explanation.text.encode()
        outputs["repr"] = repr(decision).encode() + repr(explanation).encode()
        mismatch = canary_bundle(canary, "canary-5")
        mismatch["request"]["prompt"]["chars"] = 3
        wrong_type = canary_bundle(canary, "canary-6")
        wrong_type["request"]["taskClass"] = 7
        for bad in (mismatch, wrong_type):
            with pytest.raises(InvalidBundle) as info:
                router.decide(bad)
            outputs[f"refusal {bad['request']['requestId']}"] = str(info.value).encode()
        private = router.engine.log_path.parent  # the managed OPA's private folder, while it runs
        for path in files_under(private):
            outputs[f"managed OPA file {path.name}"] = path.read_bytes()
    written = files_under(tmp_path)
    for path in written:
        outputs[str(path.relative_to(tmp_path))] = path.read_bytes()
    log_text = opa_log.read_text(encoding="utf-8")
    # the searches are meaningful: decisions were logged and recorded, by digest
    assert log_text.count('"msg":"Decision Log"') >= 4 and digest in log_text
    assert "\"promptDigest\":\"hmac-sha256:" in outputs["receipts/receipts.jsonl"].decode()  # keyed per log: the plain digest is not kept
    assert_absent({"canary prompt": canary, "canary marker": canary[:31], "bearer token": token}, outputs)


def run_cli(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "router.cli", *args], capture_output=True, cwd=cwd, env=env, timeout=120)


def test_canary_prompt_appears_in_no_output_or_file_of_the_command_line(tmp_path):
    canary = "CANARY-" + secrets.token_hex(12)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    good = inputs / "good.json"
    good.write_text(json.dumps(canary_bundle(canary)), encoding="utf-8")
    bad_bundle = canary_bundle(canary, "canary-bad")
    bad_bundle["request"]["prompt"]["sha256"] = "0" * 64
    bad = inputs / "bad.json"
    bad.write_text(json.dumps(bad_bundle), encoding="utf-8")
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_ROUTER_", "XDG_"))}
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / "state"), PYTHONPATH=str(paths.ROOT), PYTHONDONTWRITEBYTECODE="1")
    outputs: dict[str, bytes] = {}
    runs = [
        ("decide", str(good)),  # default receipt location under XDG_STATE_HOME
        ("decide", str(good), "--format", "receipt", "--receipts-dir", str(tmp_path / "receipts")),
        ("decide", str(good), "--format", "guardrail", "--receipts-dir", str(tmp_path / "receipts")),
        ("decide", str(good), "--format", "table", "--receipts-dir", str(tmp_path / "receipts")),
        ("explain", str(good), "--receipts-dir", str(tmp_path / "receipts")),
        ("explain", str(good), "--json", "--receipts-dir", str(tmp_path / "receipts")),
        ("decide", str(bad), "--receipts-dir", str(tmp_path / "receipts")),
    ]
    for args in runs:
        out = run_cli(*args, cwd=work, env=env)
        assert out.returncode in (0, 2, 3), out.stderr.decode()[-2000:]
        outputs[f"stdout of {args[:2]}"] = out.stdout
        outputs[f"stderr of {args[:2]}"] = out.stderr
    assert run_cli("decide", str(bad), cwd=work, env=env).returncode == 2
    stdin_run = subprocess.run([sys.executable, "-m", "router.cli", "decide", "-", "--receipts-dir", str(tmp_path / "receipts")],
                               input=good.read_bytes(), capture_output=True, cwd=work, env=env, timeout=120)
    assert stdin_run.returncode in (0, 3)
    outputs["stdout of stdin"], outputs["stderr of stdin"] = stdin_run.stdout, stdin_run.stderr
    for path in files_under(tmp_path, skip=(inputs,)):
        outputs[str(path.relative_to(tmp_path))] = path.read_bytes()
    # receipts were written in both places, with the prompt's digest
    hashlib.sha256(canary.encode()).hexdigest()
    assert "\"promptDigest\":\"hmac-sha256:" in (tmp_path / "receipts" / "receipts.jsonl").read_text()
    assert list((home / "state").rglob("receipts.jsonl"))
    assert_absent({"canary prompt": canary}, outputs)
