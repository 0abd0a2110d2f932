"""The command line, run as a real process: output formats, exit codes, receipts, policy tools, demo."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from cli_helpers import BUNDLES, decide, example, run

from router import engine as eng
from router import paths


def test_decide_prints_the_decision_and_exits_by_status(opa_url, receipts):
    for status, code in (("selected", 0), ("fallback", 0), ("denied", 3)):
        out = decide(opa_url, receipts, str(example(status)))
        assert out.returncode == code, out.stderr.decode()
        doc = json.loads(out.stdout)
        assert doc["selected"]["status"] == status
        assert doc["decisionId"].startswith("urn:socioprophet:model-route-decision:")
    check = run("receipts", "verify", str(receipts))
    assert check.returncode == 0 and b"3 receipts, hash chain intact" in check.stdout


def test_decide_reads_standard_input(opa_url, receipts):
    out = decide(opa_url, receipts, "-", stdin=example("selected").read_bytes())
    assert out.returncode == 0 and json.loads(out.stdout)["selected"]["status"] == "selected"


def test_formats(opa_url, receipts):
    path = str(example("fallback"))
    receipt = json.loads(decide(opa_url, receipts, path, "--format", "receipt").stdout)
    assert receipt["kind"] == "RouteDecisionReceipt" and receipt["receiptDigest"].startswith("sha256:")
    guardrail = json.loads(decide(opa_url, receipts, path, "--format", "guardrail").stdout)
    assert guardrail["schema"] == "sourceos.guardrail.decision.v0.1" and guardrail["decision"] == "allow_with_context"
    table = decide(opa_url, receipts, path, "--format", "table").stdout.decode()
    assert table.splitlines()[0].split() == ["bundle", "lane/target", "status", "reason"]
    assert "fallback" in table.splitlines()[2]


def test_invalid_bundle_exits_2_naming_file_path_and_expectation(opa_url, receipts, tmp_path):
    bad = json.loads(example("selected").read_text())
    bad["resources"]["thermalState"] = "molten"
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    out = decide(opa_url, receipts, str(f))
    assert out.returncode == 2
    err = out.stderr.decode()
    assert str(f) in err and "$.resources.thermalState" in err and "expected" in err and "molten" in err
    assert out.stdout == b""
    assert not (receipts / "receipts.jsonl").exists()


@pytest.mark.parametrize("content", [b"{not json", b'{"a": 1, "a": 2}', b"[1, NaN]"])
def test_unparseable_input_exits_2(opa_url, receipts, tmp_path, content):
    f = tmp_path / "x.json"
    f.write_bytes(content)
    out = decide(opa_url, receipts, str(f))
    assert out.returncode == 2 and str(f).encode() in out.stderr


def test_missing_file_exits_2(opa_url, receipts, tmp_path):
    out = decide(opa_url, receipts, str(tmp_path / "absent.json"))
    assert out.returncode == 2 and b"no such file" in out.stderr


def test_unreachable_engine_fails_closed_with_exit_3(receipts):
    port = eng.free_port()
    out = run("decide", str(example("selected")), "--opa-url", f"http://127.0.0.1:{port}", "--receipts-dir", str(receipts))
    assert out.returncode == 3
    assert json.loads(out.stdout)["selected"]["reason"] == "engine-unavailable"
    assert b"fail-closed: engine-unavailable" in out.stderr
    assert run("receipts", "verify", str(receipts / "receipts.jsonl")).returncode == 0


def test_environment_selects_opa_and_receipts_dir(opa_url, receipts):
    out = run("decide", str(example("selected")), env={"MODEL_ROUTER_OPA_URL": opa_url, "MODEL_ROUTER_RECEIPTS_DIR": str(receipts)})
    assert out.returncode == 0, out.stderr.decode()
    assert (receipts / "receipts.jsonl").exists()


def test_no_receipts_writes_nothing(opa_url, tmp_path):
    out = run("decide", str(example("selected")), "--opa-url", opa_url, "--no-receipts", env={"MODEL_ROUTER_RECEIPTS_DIR": str(tmp_path / "r")})
    assert out.returncode == 0
    assert not (tmp_path / "r").exists()


def test_embedded_default_needs_no_configuration(receipts):
    out = run("decide", str(example("selected")), "--receipts-dir", str(receipts))
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout)["policyRevision"].startswith("sha256:")


def test_explain_is_human_readable(opa_url, receipts):
    out = run("explain", str(example("fallback")), "--opa-url", opa_url, "--receipts-dir", str(receipts))
    assert out.returncode == 0
    text = out.stdout.decode()
    assert "decision: fallback target" in text and "rejected" in text and "what would change the outcome" in text
    as_json = run("explain", str(example("denied")), "--json", "--opa-url", opa_url, "--no-receipts")
    assert as_json.returncode == 3 and "whatWouldChange" in json.loads(as_json.stdout)


def test_validate(tmp_path):
    good = run("validate", str(example("selected")))
    assert good.returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"schemaVersion": "v0.1", "kind": "RouteInputBundle", "request": {}}')
    out = run("validate", str(bad))
    assert out.returncode != 0 and str(bad).encode() in (out.stdout + out.stderr)


def test_receipts_verify_reports_the_first_broken_link(opa_url, receipts):
    for status in ("selected", "fallback", "denied"):
        decide(opa_url, receipts, str(example(status)))
    log = receipts / "receipts.jsonl"
    rows = log.read_text().splitlines()
    tampered = json.loads(rows[1])
    tampered["selected"]["status"] = "selected"
    tampered["selected"]["reason"] = "preferred-target-admissible"
    log.write_text("\n".join([rows[0], json.dumps(tampered), rows[2]]) + "\n")
    out = run("receipts", "verify", str(log))
    assert out.returncode == 3 and b"broken at line 2" in out.stdout
    assert run("receipts", "verify", str(receipts / "nope.jsonl")).returncode == 2


def test_policy_tools_and_opa_path():
    path = run("opa-path")
    assert path.returncode == 0 and os.access(path.stdout.decode().strip(), os.X_OK)
    fmt = run("policy", "fmt")
    direct = subprocess.run([path.stdout.decode().strip(), "fmt", "--list", "--fail", "policies/model_router"], cwd=paths.ROOT, capture_output=True, check=False)
    assert fmt.returncode == direct.returncode
    build = run("policy", "build")
    assert build.returncode == 0 and b"revision sha256:" in build.stdout


def test_demo_prints_a_table_and_one_full_decision(tmp_path):
    out = run("demo", "--receipts-dir", str(tmp_path), timeout=300)
    text = out.stdout.decode()
    assert out.returncode in (0, 1), out.stderr.decode()
    header = next(line for line in text.splitlines() if line.startswith("bundle"))
    assert header.split()[:4] == ["bundle", "lane/target", "status", "reason"]
    assert "in full:" in text and "hash chain intact" in text
    decided = [line for line in text.splitlines() if line.endswith((" yes", " NO", " yes*"))]
    assert len(decided) == len([p for p in BUNDLES.glob("*.json") if not p.name.endswith(".expected.json")])


def test_help_documents_exit_codes():
    for command in ((), ("decide",), ("explain",)):
        out = run(*command, "--help")
        text = b" ".join(out.stdout.split())
        assert out.returncode == 0, out.stderr
        for line in (b"0 the request may proceed", b"3 it may not", b"2 unusable input", b"1 internal error", b"most severe"):
            assert line in text, (command, line)


def test_missing_opa_binary_is_an_internal_error(tmp_path):
    out = run("opa-path", env={"MODEL_ROUTER_OPA": str(tmp_path / "no-opa")})
    assert out.returncode == 1 and b"MODEL_ROUTER_OPA" in out.stderr
