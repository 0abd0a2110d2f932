"""The receipt log under faults: no write permission, a full disk (a file-size limit, and a small tmpfs
where one can be mounted), routers killed with SIGKILL in a loop while they append. Evidence comes
before execution, so a decision whose receipt cannot be written fails closed (evidence-unavailable);
the log stays verifiable, and after a crash it verifies up to the last complete receipt."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_support import pid_alive, wait_until

from router import paths
from router.receipts import LOG_NAME, ReceiptLog, verify

HERE = Path(__file__).parent

# Runs in a child process: decide, break the log in the way named by argv[3], decide, repair, decide.
# Prints one JSON line per decision: [reason-or-null, has-receipt, receipts-verified-after].
SCENARIO = r"""
import json, os, resource, signal, sys
sys.path[:0] = [{here!r}, {here!r} + "/.."]
from reliability_support import personal_bundle
from router import Router
from router.receipts import verify

bundle_file, receipts_dir, how = sys.argv[1], sys.argv[2], sys.argv[3]
log = os.path.join(receipts_dir, "receipts.jsonl")

def decide(router, tag):
    d = router.decide(personal_bundle(tag))
    report = verify(log) if os.path.exists(log) else None
    print(json.dumps([d.fault, d.receipt is not None, report.ok if report else None,
                      report.receipts if report else 0, d.detail]), flush=True)

with Router(bundle=bundle_file, receipts_dir=receipts_dir, timeout_ms=10000) as router:
    if how == "dir-read-only":
        os.chmod(receipts_dir, 0o500)          # no log yet, and none can be created
        decide(router, "blocked")
        os.chmod(receipts_dir, 0o700)
        decide(router, "after")
    elif how == "log-read-only":
        decide(router, "first")
        router.receipt_log.close()              # the next append opens the file again
        os.chmod(log, 0o400)
        decide(router, "blocked")
        os.chmod(log, 0o600)
        decide(router, "after")
    elif how == "file-size-limit":
        decide(router, "first")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG instead of a signal
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(log) + 500, hard))  # room for part of a receipt
        decide(router, "blocked")
        decide(router, "blocked-again")
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        decide(router, "after")
"""


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24


def _drop_file_capabilities() -> None:
    """In the child before exec: drop the capabilities that let root ignore file permissions, so
    chmod restricts it like any other user (the new program gets only the bounding set)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_scenario(project_bundle, receipts_dir: Path, how: str, drop_root_powers: bool = False) -> list[list]:
    receipts_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    script = SCENARIO.format(here=str(HERE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    env.update(HOME=str(receipts_dir.parent), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run(
        [sys.executable, "-c", script, str(project_bundle.path), str(receipts_dir), how],
        capture_output=True, text=True, cwd=receipts_dir.parent, env=env, timeout=120,
        preexec_fn=_drop_file_capabilities if drop_root_powers else None,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines()]


def root_must_drop_powers() -> bool:
    """chmod does not stop root: as root the scenario runs without the file-permission capabilities."""
    if os.geteuid() != 0:
        return False
    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_drop_file_capabilities, capture_output=True)
    if probe.returncode != 0:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE here")
    return True


@pytest.mark.parametrize("how", ["dir-read-only", "log-read-only"])
def test_unwritable_receipt_log_fails_closed_then_recovers(project_bundle, tmp_path, how):
    rows = run_scenario(project_bundle, tmp_path / "receipts", how, drop_root_powers=root_must_drop_powers())
    *before, blocked, after = rows
    fault, has_receipt, ok, count, detail = blocked
    assert fault == "evidence-unavailable" and not has_receipt
    assert "receipt not recorded" in detail and "Permission denied" in detail
    assert ok in (True, None) and count == len(before)
    assert after[:4] == [None, True, True, len(before) + 1]


def test_file_size_limit_fails_closed_and_leaves_no_partial_receipt(project_bundle, tmp_path):
    first, blocked, blocked_again, after = run_scenario(project_bundle, tmp_path / "receipts", "file-size-limit")
    assert first[:4] == [None, True, True, 1]
    for row in (blocked, blocked_again):
        fault, has_receipt, ok, count, detail = row
        assert fault == "evidence-unavailable" and not has_receipt
        assert "File too large" in detail
        assert ok is True and count == 1  # the partial line was taken back: the log verifies
    assert after[:4] == [None, True, True, 2]
    # the command line agrees: chain and signed head intact, nothing partial left
    from click.testing import CliRunner

    from router.cli import main

    result = CliRunner().invoke(main, ["receipts", "verify", str(tmp_path / "receipts"), "--min-count", "2"])
    assert result.exit_code == 0 and "2 receipts" in result.output and "signed head verified" in result.output


def _mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def test_full_disk_on_a_small_tmpfs_fails_closed_then_recovers(project_bundle, tmp_path):
    from reliability_support import personal_bundle

    from router import Router

    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, "64k"):
        pytest.skip("cannot mount a tmpfs here (needs root); the file-size-limit test covers a full disk")
    try:
        with Router(receipts_dir=disk, timeout_ms=10000) as router:
            first = router.decide(personal_bundle("first"))
            assert first.fault is None and first.receipt is not None
            filler = disk / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:  # fill the disk
                for chunk in (65536, 4096, 512, 64):
                    try:
                        while True:
                            os.write(fd, b"\0" * chunk)
                    except OSError:
                        pass
            finally:
                os.close(fd)
            recorded = [first]
            for attempt in range(4):  # the log's last page may still hold a receipt or two
                blocked = router.decide(personal_bundle(f"blocked-{attempt}"))
                if blocked.fault is None:
                    recorded.append(blocked)
                    continue
                break
            assert blocked.fault == "evidence-unavailable" and blocked.receipt is None
            assert "No space left" in blocked.detail
            report = verify(disk / LOG_NAME)
            assert report.ok and report.receipts == len(recorded)
            filler.unlink()
            after = router.decide(personal_bundle("after"))
            assert after.fault is None and after.receipt is not None
            assert after.receipt["previousReceiptDigest"] == recorded[-1].receipt["receiptDigest"]
            report = verify(disk / LOG_NAME)
            assert report.ok and report.receipts == len(recorded) + 1
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# -- routers killed with SIGKILL in a loop while appending -------------------------------------------

KILLED_WRITER = r"""
import sys
sys.path[:0] = [{here!r}, {here!r} + "/.."]
from reliability_support import personal_bundle
from router import Router
with Router(bundle=sys.argv[3], receipts_dir=sys.argv[1], timeout_ms=10000, fsync=False) as router:
    print(router.engine.pid, flush=True)
    i = 0
    while True:
        d = router.decide(personal_bundle(f"kill-{{sys.argv[2]}}-{{i}}"))
        assert d.fault is None, d.detail
        i += 1
"""


def _complete_lines(path: Path) -> int:
    data = path.read_bytes() if path.exists() else b""
    return data.count(b"\n")


def kill_loop(project_bundle, receipts: Path, rounds: int, writers: int, seed: int) -> tuple[int, set[int]]:
    """ROUNDS times: start WRITERS routers on one log, let them decide, SIGKILL them at a random moment,
    check that the log verifies up to its last complete receipt. Returns (rounds done, OPA pids seen)."""
    rng = random.Random(seed)
    script = KILLED_WRITER.format(here=str(HERE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    log = receipts / LOG_NAME
    receipts.mkdir(parents=True, exist_ok=True)
    pinned = receipts.parent / "policy-bundle.tar.gz"  # every writer serves the same revision
    shutil.copyfile(project_bundle.path, pinned)
    opa_pids: set[int] = set()
    for r in range(rounds):
        procs = [subprocess.Popen([sys.executable, "-c", script, str(receipts), f"{r}-{k}", str(pinned)], stdout=subprocess.PIPE,
                                  cwd=paths.ROOT, env=env) for k in range(writers)]
        try:
            for p in procs:
                line = p.stdout.readline().strip()
                assert line, "a writer did not start"
                opa_pids.add(int(line))
            time.sleep(rng.uniform(0.1, 0.6))
            for p in procs:
                os.kill(p.pid, signal.SIGKILL)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait(10)
                p.stdout.close()
        if not log.exists():
            continue  # killed before the first receipt of the log
        report = verify(log)
        complete = _complete_lines(log)
        # intact up to the last complete receipt; at most the last line is incomplete, and at most the
        # receipts of the append that was killed before its head was signed are not yet covered by it
        assert report.receipts == complete, report
        assert (report.ok or (report.line == complete + 1 and "incomplete" in report.problem)
                or (report.line is None and "not covered by the signed head" in report.problem)), report
    return rounds, opa_pids


def test_routers_killed_in_a_loop_keep_the_chain_verifiable(project_bundle, tmp_path):
    receipts = tmp_path / "receipts"
    _, opa_pids = kill_loop(project_bundle, receipts, rounds=4, writers=2, seed=8)
    before = verify(receipts / LOG_NAME)
    assert before.receipts > 0
    # the next append repairs a torn tail (if any) and chains on from the last complete receipt
    ReceiptLog(receipts / LOG_NAME).append(json.loads((receipts / LOG_NAME).read_bytes().splitlines()[0]))
    after = verify(receipts / LOG_NAME)
    assert after.ok and after.receipts == before.receipts + 1
    # every managed OPA died with its killed host (parent-death signal)
    assert wait_until(lambda: not any(pid_alive(p) for p in opa_pids), 10), [p for p in opa_pids if pid_alive(p)]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_soak_routers_killed_in_a_loop_long(project_bundle, tmp_path):
    receipts = tmp_path / "receipts"
    rounds = 25
    _, opa_pids = kill_loop(project_bundle, receipts, rounds=rounds, writers=3, seed=int(time.time()))
    ReceiptLog(receipts / LOG_NAME).append(json.loads((receipts / LOG_NAME).read_bytes().splitlines()[0]))
    assert verify(receipts / LOG_NAME).ok
    assert wait_until(lambda: not any(pid_alive(p) for p in opa_pids), 10)
