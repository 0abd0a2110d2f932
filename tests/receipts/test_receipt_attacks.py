"""Attacks on the receipt log by someone with write access to it, each through the API (Router,
router.receipts.verify) and the command line (model-router receipts verify/head/rotate, decide):
every one is detected or fails closed (evidence-unavailable), and no receipt reported as recorded is
lost."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from bundles import personal_bundle
from click.testing import CliRunner

from router import Router, paths
from router.cli import main
from router.receipts import LOG_NAME, ReceiptLog, receipt_digest, verify

BIG = 10 * 1024**3  # a 10 GB log


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    with Router(receipts_dir=tmp_path_factory.mktemp("unused"), timeout_ms=10000) as r:
        yield r


@pytest.fixture
def log_dir(router, tmp_path):
    """A fresh receipt folder for the module's router (its own OPA is shared by the tests)."""
    folder = tmp_path / "receipts"
    router.receipt_log = ReceiptLog(folder / LOG_NAME, fsync=False)
    yield folder
    router.receipt_log.close()


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def head_path(log: Path) -> Path:
    return log.with_name(log.name + ".head")


def default_key_path(log: Path) -> Path:
    from router.receipts import default_key_path as where

    return where(log)


def decide(router, n: int, tag: str = "r") -> list:
    out = [router.decide(personal_bundle(f"{tag}-{i}")) for i in range(n)]
    for d in out:
        assert d.fault is None and d.receipt is not None, d.detail
    return out


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def digests(path: Path) -> list[str]:
    return [json.loads(line)["receiptDigest"] for line in lines(path)]


def public_key_file(log: Path) -> Path:
    key = default_key_path(log)
    return key.with_name(key.name + ".pub")


# -- removing receipts -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted-tail", "emptied"])
def test_removed_tail_or_emptied_log_is_detected_and_the_router_fails_closed(router, log_dir, how):
    decide(router, 4)
    log = log_dir / LOG_NAME
    keep = lines(log)[:-1] if how == "deleted-tail" else []
    with open(log, "r+b") as fh:  # in place: the same file, shorter
        fh.write(b"".join(keep))
        fh.truncate()
    report = verify(log)
    assert not report.ok and report.receipts == len(keep) and "removed" in report.problem
    code, out = cli("receipts", "verify", log_dir)
    assert code == 3 and "receipts were removed" in out
    after = router.decide(personal_bundle("after"))
    assert after.fault == "evidence-unavailable" and after.receipt is None and "removed" in after.detail
    assert len(lines(log)) == len(keep)  # nothing was chained onto the shortened log
    # the operator moves the damaged log aside; the new log continues from the last signed head
    code, out = cli("receipts", "rotate", log_dir)
    assert code == 0, out
    (damaged,) = log_dir.glob("receipts.*.jsonl")
    assert "receipts were removed" in cli("receipts", "verify", damaged)[1]
    again = router.decide(personal_bundle("again"))
    assert again.fault is None and again.receipt["logStart"]["previousLog"]["count"] == 4
    assert verify(log).ok


# -- rewriting receipts ------------------------------------------------------------------------------


def _rechain(log: Path, change) -> list[bytes]:
    previous, out = None, []
    for raw in lines(log):
        receipt = json.loads(raw)
        change(receipt)
        receipt["previousReceiptDigest"] = previous
        receipt["receiptDigest"] = previous = receipt_digest(receipt)
        out.append((canonical(receipt) + "\n").encode())
    log.write_bytes(b"".join(out))
    return out


def _to_hosted(receipt: dict) -> None:
    receipt["selected"].update(target="hosted", status="selected")


def test_rewritten_and_rechained_log_breaks_the_signed_head(router, log_dir):
    decide(router, 3)
    log = log_dir / LOG_NAME
    _rechain(log, _to_hosted)
    report = verify(log)
    assert not report.ok and report.line is None and "rewritten" in report.problem
    code, out = cli("receipts", "verify", log)
    assert code == 3 and "rewritten" in out


def test_a_forger_who_signs_a_new_head_is_caught_by_the_pinned_key(router, log_dir):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from router.receipts import checkpoint as cp

    decide(router, 3)
    log = log_dir / LOG_NAME
    forged = _rechain(log, _to_hosted)
    honest = cp.read_head(log)[0]
    fields = {k: honest[k] for k in ("logId", "dev", "inode", "startDigest", "previousLogId")}
    fields.update(count=3, headDigest=json.loads(forged[-1])["receiptDigest"], size=log.stat().st_size, signedAt=honest["signedAt"])
    cp.write_head(log, cp.sign_head(Ed25519PrivateKey.generate(), fields))
    # with only the key beside the log, the forgery verifies: the output says what that proves
    code, out = cli("receipts", "verify", log)
    assert code == 0 and "found beside the log" in out and "pass --key" in out
    report = verify(log, public_key=cp.load_public_key(public_key_file(log)))
    assert not report.ok and "does not verify with the pinned key" in report.problem
    code, out = cli("receipts", "verify", log, "--key", public_key_file(log))
    assert code == 3 and "does not verify with the pinned key" in out


def test_a_duplicate_key_line_is_rejected(router, log_dir):
    decide(router, 3)
    log = log_dir / LOG_NAME
    rows = lines(log)
    # a reader that takes the first "selected" sees a hosted route; Python's json takes the last, so
    # the digest still matches the honest content
    fake = json.dumps({"target": "hosted", "status": "selected"}, separators=(",", ":")).encode()
    rows[1] = b'{"selected":' + fake + b"," + rows[1][1:]
    log.write_bytes(b"".join(rows))
    report = verify(log)
    assert not report.ok and report.line == 2 and "duplicate key 'selected'" in report.problem
    code, out = cli("receipts", "verify", log)
    assert code == 3 and "broken at line 2" in out and "duplicate key" in out


@pytest.mark.parametrize("how", ["reordered", "edited", "re-spaced", "escaped-unicode"])
def test_reordered_edited_or_non_canonical_lines_are_rejected(router, log_dir, how):
    decide(router, 3)
    log = log_dir / LOG_NAME
    rows = lines(log)
    if how == "reordered":
        rows[1], rows[2] = rows[2], rows[1]
    elif how == "edited":
        receipt = json.loads(rows[1])
        _to_hosted(receipt)
        rows[1] = (canonical(receipt) + "\n").encode()
    elif how == "re-spaced":  # the same JSON value, serialised differently: the digest still matches
        rows[1] = (json.dumps(json.loads(rows[1]), sort_keys=True) + "\n").encode()
    else:
        rows[1] = (json.dumps(json.loads(rows[1]), sort_keys=True, separators=(",", ":"), ensure_ascii=True).replace("-", "\\u002d", 1) + "\n").encode()
    log.write_bytes(b"".join(rows))
    report = verify(log)
    assert not report.ok and report.line == 2, report
    code, out = cli("receipts", "verify", log)
    assert code == 3 and "broken at line 2" in out


# -- rollback and witness ----------------------------------------------------------------------------


def test_a_rollback_is_caught_only_against_an_exported_head(router, log_dir):
    decide(router, 3)
    log, head = log_dir / LOG_NAME, head_path(log_dir / LOG_NAME)
    saved_log, saved_head = log.read_bytes(), head.read_bytes()
    more = decide(router, 2, "more")
    code, out = cli("receipts", "head", log_dir)
    assert code == 0
    exported = json.loads(out)
    assert exported["count"] == 5 and exported["headDigest"] == more[-1].receipt["receiptDigest"]
    assert cli("receipts", "verify", log, "--expect-head", exported["headDigest"], "--min-count", 5)[0] == 0
    # the attacker puts back an older, honestly signed state: consistent, so only a witness catches it
    log.write_bytes(saved_log)
    head.write_bytes(saved_head)
    assert verify(log).ok
    report = verify(log, expect_head=exported["headDigest"])
    assert not report.ok and "rolled back" in report.problem
    code, out = cli("receipts", "verify", log, "--min-count", 5)
    assert code == 3 and "fewer than the 5 expected" in out


# -- rotation and deletion ---------------------------------------------------------------------------


def test_rotation_by_rename_continues_the_chain_in_a_new_log(router, log_dir):
    first = decide(router, 3)
    log = log_dir / LOG_NAME
    rotated = log_dir / "receipts.1.jsonl"
    os.rename(log, rotated)
    later = decide(router, 2, "later")
    # nothing reported as recorded is lost: each receipt is in the log it was written to
    assert digests(rotated) == [d.receipt["receiptDigest"] for d in first]
    assert digests(log) == [d.receipt["receiptDigest"] for d in later]
    report = verify(log)
    assert report.ok and report.continues["count"] == 3
    assert later[0].receipt["previousReceiptDigest"] == first[-1].receipt["receiptDigest"] == report.continues["headDigest"]
    # the rotated log kept its signed head (copied beside its new name)
    code, out = cli("receipts", "verify", rotated, "--key", public_key_file(log))
    assert code == 0 and "with the pinned key" in out
    code, out = cli("receipts", "verify", log, "--key", public_key_file(log))
    assert code == 0 and "continues log" in out


@pytest.mark.parametrize("with_head", [False, True])
def test_a_deleted_log_is_started_again_continuing_the_chain(router, log_dir, with_head):
    first = decide(router, 3)
    log = log_dir / LOG_NAME
    log.unlink()
    if with_head:
        head_path(log).unlink()
    later = decide(router, 2, "later")
    assert digests(log) == [d.receipt["receiptDigest"] for d in later]
    report = verify(log)
    assert report.ok and report.receipts == 2
    assert report.continues["headDigest"] == first[-1].receipt["receiptDigest"] and report.continues["count"] == 3
    assert cli("receipts", "verify", log_dir)[0] == 0


def test_receipts_rotate_moves_the_log_and_head_and_the_next_log_continues(router, log_dir):
    first = decide(router, 2)
    code, out = cli("receipts", "rotate", log_dir)
    assert code == 0, out
    rotated = [p for p in log_dir.glob("receipts.*.jsonl")]
    assert len(rotated) == 1 and digests(rotated[0]) == [d.receipt["receiptDigest"] for d in first]
    assert cli("receipts", "verify", rotated[0])[0] == 0
    assert verify(log_dir / LOG_NAME).ok  # an empty log with its own signed head
    later = decide(router, 1, "later")
    start = later[0].receipt["logStart"]
    assert start["previousLog"]["headDigest"] == first[-1].receipt["receiptDigest"] == later[0].receipt["previousReceiptDigest"]
    code, out = cli("receipts", "verify", log_dir, "--key", public_key_file(log_dir / LOG_NAME))
    assert code == 0 and "continues log" in out


# -- file-system hardening ---------------------------------------------------------------------------


def test_the_folder_log_head_and_key_are_private(router, log_dir):
    decide(router, 1)
    log = log_dir / LOG_NAME
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    for path in (log, head_path(log), default_key_path(log)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(default_key_path(log).parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("how", ["symlink", "dangling-symlink", "hard-link"])
def test_a_link_at_the_log_path_is_refused_and_its_target_untouched(router, log_dir, tmp_path, how):
    victim = tmp_path / "victim.txt"
    log_dir.mkdir(mode=0o700)
    if how == "dangling-symlink":
        (log_dir / LOG_NAME).symlink_to(victim)
    else:
        victim.write_bytes(b"precious data\nwithout a final newline")  # looks like a torn tail
        if how == "symlink":
            (log_dir / LOG_NAME).symlink_to(victim)
        else:
            os.link(victim, log_dir / LOG_NAME)
    before = victim.read_bytes() if victim.exists() else None
    d = router.decide(personal_bundle("linked"))
    assert d.fault == "evidence-unavailable" and d.receipt is None
    assert ("symbolic link" if how != "hard-link" else "hard links") in d.detail
    assert (victim.read_bytes() if victim.exists() else None) == before


def test_a_symlink_at_the_log_path_fails_closed_through_the_command_line(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious data without a newline")
    folder = tmp_path / "receipts"
    folder.mkdir(mode=0o700)
    (folder / LOG_NAME).symlink_to(victim)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    out = subprocess.run(
        [sys.executable, "-m", "router.cli", "decide", str(paths.EXAMPLES / "bundles" / "personal-router-healthy-laptop.json"),
         "--receipts-dir", str(folder), "--timeout-ms", "10000"],
        capture_output=True, check=False, text=True, cwd=paths.ROOT, env=env, timeout=120,
    )
    assert out.returncode == 3, out.stderr
    assert "evidence-unavailable" in out.stdout + out.stderr
    assert victim.read_bytes() == b"precious data without a newline"


HOLDER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("which", ["log", "lock-file"])
def test_a_lock_held_by_another_process_gives_evidence_unavailable_not_a_hang(tmp_path, which):
    folder = tmp_path / "receipts"
    with Router(receipts_dir=folder, timeout_ms=400) as r:
        assert r.decide(personal_bundle("first")).receipt is not None
        target = folder / (LOG_NAME if which == "log" else LOG_NAME + ".lock")
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert holder.stdout.readline().strip() == b"locked"
            result = []
            worker = threading.Thread(target=lambda: result.append(r.decide(personal_bundle("blocked"))), daemon=True)
            worker.start()
            worker.join(60)  # a bound for detecting a hang, not a speed check
            assert not worker.is_alive(), "the decision hung on the held lock"
            held = result[0]
            if which == "log":  # writers lock the lock file: a lock on the log itself blocks nothing
                assert held.fault is None and held.receipt is not None
            else:
                assert held.fault == "evidence-unavailable" and held.receipt is None and "locked" in held.detail
        finally:
            holder.stdin.close()
            holder.wait(10)
        after = r.decide(personal_bundle("after"))
        assert after.fault is None and after.receipt is not None
    report = verify(folder / LOG_NAME)
    assert report.ok and report.receipts == (3 if which == "log" else 2)


# -- verify in bounded memory --------------------------------------------------------------------------


def _limited():
    limit = 1536 * 1024**2  # far less than the 10 GB log
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_verify(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "router.cli", "receipts", "verify", *map(str, args)], capture_output=True, check=False, text=True,
                          cwd=paths.ROOT, timeout=120, preexec_fn=_limited)


def test_verify_reads_a_10_gb_log_in_bounded_memory(tmp_path):
    huge = tmp_path / "huge.jsonl"
    with open(huge, "wb") as fh:
        fh.truncate(BIG)  # sparse: 10 GB of zero bytes without a newline
    out = run_verify(huge)
    assert out.returncode == 3, out.stderr[-2000:]
    assert "longer than" in out.stdout and "MemoryError" not in out.stderr


def test_verify_streams_a_long_valid_log_then_reports_a_garbage_tail(router, log_dir):
    decide(router, 2)
    log = log_dir / LOG_NAME
    with open(log, "ab") as fh:
        fh.truncate(log.stat().st_size + 64 * 1024**2)  # 64 MB of zeros after two receipts
    out = run_verify(log)
    assert out.returncode == 3 and "line 3" in out.stdout and "2 receipts before it are intact" in out.stdout


@pytest.mark.parametrize("what", ["dev-zero", "fifo"])
def test_verify_refuses_a_device_or_a_fifo_without_reading_it(tmp_path, what):
    if what == "fifo":
        target = tmp_path / "receipts.jsonl"
        os.mkfifo(target)
    else:
        target = Path("/dev/zero")
    out = run_verify(target)
    assert out.returncode == 2, out.stderr[-2000:]
    assert ("a FIFO" if what == "fifo" else "a device") in out.stderr


def test_a_log_without_a_head_is_refused_and_rotate_signs_it_only_when_its_chain_verifies(router, log_dir):
    first = decide(router, 2)
    log = log_dir / LOG_NAME
    head_path(log).unlink()  # as a log written before heads existed
    refused = router.decide(personal_bundle("headless"))
    assert refused.fault == "evidence-unavailable" and "no signed head" in refused.detail
    assert cli("receipts", "verify", log)[0] == 3
    code, out = cli("receipts", "rotate", log_dir)
    assert code == 0, out
    (old,) = log_dir.glob("receipts.*.jsonl")
    assert cli("receipts", "verify", old)[0] == 0 and digests(old) == [d.receipt["receiptDigest"] for d in first]
    assert decide(router, 1, "after")[0].receipt["previousReceiptDigest"] == first[-1].receipt["receiptDigest"]
    # a headless log whose chain is broken is not signed
    rows = lines(log)
    log.write_bytes(rows[0] + rows[0])
    head_path(log).unlink()
    code, out = cli("receipts", "rotate", log_dir)
    assert code == 3 and "chain is broken" in out


def test_receipts_appended_without_the_key_are_never_signed_by_the_next_append(router, log_dir):
    decide(router, 2)
    log = log_dir / LOG_NAME
    last = json.loads(lines(log)[-1])
    forged = {k: v for k, v in last.items() if k not in ("receiptDigest", "logStart")}
    _to_hosted(forged)
    forged["previousReceiptDigest"] = last["receiptDigest"]
    forged["receiptDigest"] = receipt_digest(forged)  # chained with the public algorithm; its MAC is stale
    with open(log, "ab") as fh:
        fh.write((canonical(forged) + "\n").encode())
    report = verify(log)
    assert not report.ok and "not covered by the signed head" in report.problem
    assert cli("receipts", "verify", log)[0] == 3
    refused = router.decide(personal_bundle("after-forgery"))
    assert refused.fault == "evidence-unavailable" and "not written by a holder of the signing key" in refused.detail
    assert not verify(log).ok  # still flagged: the forged receipt was not signed into the head


def test_receipts_of_a_writer_stopped_before_its_signature_are_signed_by_the_next_append(router, log_dir):
    decide(router, 2)
    log, head = log_dir / LOG_NAME, head_path(log_dir / LOG_NAME)
    before = head.read_bytes()
    stopped = decide(router, 1, "stopped")
    head.write_bytes(before)  # as if the writer died between its append and its signature
    assert "not covered by the signed head" in verify(log).problem
    after = decide(router, 1, "after")
    assert after[0].receipt["previousReceiptDigest"] == stopped[0].receipt["receiptDigest"]
    report = verify(log)
    assert report.ok and report.receipts == 4


def test_rotate_never_signs_receipts_appended_without_the_key_behind_a_corrupted_head(router, log_dir):
    decide(router, 2)
    log = log_dir / LOG_NAME
    last = json.loads(lines(log)[-1])
    forged = {k: v for k, v in last.items() if k not in ("receiptDigest", "logStart")}
    forged["previousReceiptDigest"] = last["receiptDigest"]
    forged["receiptDigest"] = receipt_digest(forged)
    with open(log, "ab") as fh:
        fh.write((canonical(forged) + "\n").encode())
    head_path(log).write_bytes(b"")  # the head destroyed, so that rotate would have to adopt the log
    assert router.decide(personal_bundle("corrupt")).fault == "evidence-unavailable"
    code, out = cli("receipts", "rotate", log_dir)
    assert code == 3 and "not written by a holder of the signing key" in out
