"""`decide` with several bundles and JSON Lines on standard input, `-` wherever a file is read,
`--version`, and `explain` without receipts unless asked. Real processes, real OPA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import BUNDLES, decide, example, run

from router.cli import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNUSABLE,
    MAX_LINE_BYTES,
    most_severe,
)

INVALID = BUNDLES / "agent-invalid-failure-count.json"  # fails the bundle schema: $.request.standardLaneFailures


def compact(path: Path) -> bytes:
    return json.dumps(json.loads(path.read_bytes())).encode()


def lines_of(out) -> list[dict]:
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def test_the_most_severe_exit_code_wins():
    assert most_severe([]) == EXIT_OK
    assert most_severe([EXIT_OK, EXIT_REFUSED, EXIT_OK]) == EXIT_REFUSED
    assert most_severe([EXIT_REFUSED, EXIT_UNUSABLE, EXIT_OK]) == EXIT_UNUSABLE
    assert most_severe([EXIT_UNUSABLE, EXIT_INTERNAL, EXIT_REFUSED]) == EXIT_INTERNAL


def test_several_files_give_one_decision_per_line_in_order(opa_url, receipts):
    files = [example("selected"), example("denied"), example("fallback")]
    out = decide(opa_url, receipts, *map(str, files))
    assert out.returncode == EXIT_REFUSED, out.stderr.decode()
    assert [d["selected"]["status"] for d in lines_of(out)] == ["selected", "denied", "fallback"]
    assert [d["input"]["requestId"] for d in lines_of(out)] == [json.loads(f.read_bytes())["request"]["requestId"] for f in files]
    verified = run("receipts", "verify", str(receipts), "--min-count", "3")
    assert verified.returncode == 0, verified.stdout.decode()


def test_an_unusable_file_among_several_is_denied_in_its_place_and_exits_2(opa_url, receipts):
    out = decide(opa_url, receipts, str(example("selected")), str(INVALID), str(example("fallback")))
    assert out.returncode == EXIT_UNUSABLE
    docs = lines_of(out)
    assert [d["selected"]["status"] for d in docs] == ["selected", "denied", "fallback"]
    assert docs[1]["selected"]["reason"] == "invalid-input" and docs[1]["selected"].get("lane") is None
    err = out.stderr.decode()
    assert f"{INVALID}: $.request.standardLaneFailures" in err and "expected an integer" in err
    # no receipt for the unusable one
    verified = run("receipts", "verify", str(receipts))
    assert verified.returncode == 0 and b"2 receipts" in verified.stdout, verified.stdout


def test_table_and_guardrail_formats_for_several(opa_url, receipts):
    table = decide(opa_url, receipts, str(example("selected")), str(INVALID), "--format", "table")
    rows = table.stdout.decode().splitlines()
    assert table.returncode == EXIT_UNUSABLE and rows[0].split() == ["bundle", "lane/target", "status", "reason"]
    assert rows[2].split()[2] == "selected" and rows[3].split()[1:] == ["-", "denied", "invalid-input"]
    guard = decide(opa_url, receipts, str(example("selected")), str(INVALID), "--format", "guardrail")
    docs = lines_of(guard)
    assert [d["schema"] for d in docs] == ["sourceos.guardrail.decision.v0.1"] * 2
    assert docs[0]["decision"] == "allow" and docs[1]["decision"] == "quarantine"  # as for one unusable bundle


def test_json_lines_on_stdin_give_json_lines_out(opa_url, receipts):
    stdin = b"\n".join([compact(example("selected")), b"", b"   ", compact(example("denied")), b"{not json", compact(INVALID), b"[1]"]) + b"\n"
    out = decide(opa_url, receipts, "-", stdin=stdin)
    assert out.returncode == EXIT_UNUSABLE
    docs = lines_of(out)
    assert [d["selected"]["status"] for d in docs] == ["selected", "denied", "denied", "denied", "denied"]
    assert [d["selected"]["reason"] for d in docs][2:] == ["invalid-input"] * 3
    err = out.stderr.decode()
    assert "<stdin>:5: $:" in err and "<stdin>:6: $.request.standardLaneFailures" in err and "<stdin>:7: $: found an array" in err
    assert "<stdin>:1" not in err and "<stdin>:4" not in err


def test_json_lines_without_a_final_newline_and_all_usable_exit_by_status(opa_url, receipts):
    out = decide(opa_url, receipts, "-", stdin=compact(example("selected")) + b"\n" + compact(example("fallback")))
    assert out.returncode == EXIT_OK, out.stderr.decode()
    assert [d["selected"]["status"] for d in lines_of(out)] == ["selected", "fallback"]


def test_a_line_over_the_limit_is_refused_clearly_and_the_next_is_decided(opa_url, receipts):
    long_line = b'{"pad": "' + b"x" * MAX_LINE_BYTES + b'"}'
    out = decide(opa_url, receipts, "-", stdin=compact(example("selected")) + b"\n" + long_line + b"\n" + compact(example("fallback")) + b"\n")
    assert out.returncode == EXIT_UNUSABLE
    assert [d["selected"]["reason"] == "invalid-input" for d in lines_of(out)] == [False, True, False]
    assert f"<stdin>:2: $: found a line longer than {MAX_LINE_BYTES} bytes; expected one bundle per line".encode() in out.stderr
    assert len(out.stderr) < 10_000  # the line itself is never echoed


def test_one_indented_document_on_stdin_is_decided_as_one_file(opa_url, receipts):
    out = decide(opa_url, receipts, "-", stdin=example("selected").read_bytes())
    assert out.returncode == EXIT_OK and out.stdout.startswith(b"{\n  ")
    assert json.loads(out.stdout)["selected"]["status"] == "selected"


def test_stdin_is_given_alone(opa_url, receipts):
    out = decide(opa_url, receipts, "-", str(example("selected")), stdin=b"")
    assert out.returncode == EXIT_UNUSABLE and b"give it alone" in out.stderr


def test_validate_reads_stdin():
    good = run("validate", "-", stdin=example("selected").read_bytes())
    assert good.returncode == 0, good.stdout.decode() + good.stderr.decode()
    bad = run("validate", "-", stdin=INVALID.read_bytes())
    assert bad.returncode != 0 and b"<stdin>" in bad.stdout + bad.stderr and b"$.request.standardLaneFailures" in bad.stdout + bad.stderr


def test_receipts_verify_reads_stdin(opa_url, receipts):
    assert decide(opa_url, receipts, str(example("selected")), str(example("fallback"))).returncode == 0
    log = (receipts / "receipts.jsonl").read_bytes()
    ok = run("receipts", "verify", "-", "--min-count", "2", stdin=log)
    assert ok.returncode == 0 and b"<stdin>: ok: 2 receipts, hash chain intact" in ok.stdout and b"signed head was not checked" in ok.stdout, ok.stdout
    lines = log.splitlines(keepends=True)
    broken = run("receipts", "verify", "-", stdin=lines[1] + lines[0])
    assert broken.returncode == EXIT_REFUSED, broken.stdout
    keyed = run("receipts", "verify", "-", "--key", "k.pub", stdin=log)
    assert keyed.returncode == EXIT_UNUSABLE and b"--key" in keyed.stderr


def test_explain_reads_stdin_and_records_no_receipt_unless_asked(opa_url, tmp_path):
    state = tmp_path / "state"
    env = {"XDG_STATE_HOME": str(state)}
    base = ("explain", "-", "--opa-url", opa_url)
    plain = run(*base, stdin=example("selected").read_bytes(), env=env)
    assert plain.returncode == 0 and b"decision: selected" in plain.stdout, plain.stderr.decode()
    assert not list(state.rglob("receipts.jsonl"))  # the user's state folder is left alone
    asked = run(*base, "--receipts", stdin=example("selected").read_bytes(), env=env)
    assert asked.returncode == 0 and len(list(state.rglob("receipts.jsonl"))) == 1
    named = run(*base, "--receipts-dir", str(tmp_path / "r"), "--json", stdin=example("selected").read_bytes(), env=env)
    assert named.returncode == 0 and (tmp_path / "r" / "receipts.jsonl").is_file()


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag):
    out = run(flag)
    assert out.returncode == 0 and out.stdout.decode().startswith("model-router, version ")


def test_a_reader_that_stops_early_ends_the_command_quietly_with_141(opa_url, receipts):
    """`decide - | head -c 100`: the reader closes the pipe; no traceback, no "internal error"."""
    import subprocess
    import sys

    from router import paths
    from router.cli import EXIT_BROKEN_PIPE

    line = compact(example("selected")) + b"\n"
    proc = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "decide", "-", "--opa-url", opa_url, "--receipts-dir", str(receipts),
         "--timeout-ms", "5000"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=paths.ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(line * 300)  # about 2.5 MB of decisions: far more than a pipe buffer
    proc.stdin.close()
    assert proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE, err
    assert "internal error" not in err and "Traceback" not in err, err
