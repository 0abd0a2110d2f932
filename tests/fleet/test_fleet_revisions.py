"""Two real OPAs that serve different revisions of the bundle (named `model_router`, loaded from disk
by OPA's bundle plugin): the fleet engine only uses the one serving the expected revision, and fails
closed with engine-revision-mismatch when only the other one is left. No nginx needed."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from router import bundle as bundle_mod
from router import opa_binary, paths
from router.api import Router
from router.config import load_settings
from router.engine import ENGINE_REVISION_MISMATCH
from router.opa_http import Channel, ChannelError
from router.opa_process import LAUNCHER, free_port, kill_process_group

EXAMPLE = paths.ROOT / "examples" / "bundles" / "agent-routine-code-execution.json"


def _start(tmp: Path, name: str, bundle: Path) -> tuple[subprocess.Popen, str]:
    config = tmp / f"{name}.yaml"
    config.write_text(f"bundles:\n  model_router:\n    resource: file://{bundle}\n", encoding="utf-8")
    port = free_port()
    with open(tmp / f"{name}.log", "ab") as log:
        proc = LAUNCHER.popen([str(opa_binary.find_opa()), "run", "--server", "--addr", f"127.0.0.1:{port}", "--config-file",
                                str(config), "--log-level", "error", "--skip-version-check"],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True)
    url = f"http://127.0.0.1:{port}"
    channel, deadline = Channel(url), time.monotonic() + 30
    try:
        while True:
            try:
                channel.request("GET", "/health?bundles", None, 1.0)
                return proc, url
            except ChannelError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    kill_process_group(proc)
                    raise RuntimeError((tmp / f"{name}.log").read_text(errors="replace")[-500:]) from None
                time.sleep(0.05)
    finally:
        channel.close()


@pytest.fixture
def two_revisions(tmp_path):
    current = bundle_mod.ensure_bundle()
    _, files = bundle_mod.read_archive(current.path)
    older = [(rel, content + b"\n# an older revision\n" if rel == "model_router/decision.rego" else content) for rel, content in files]
    old_file = tmp_path / "old.tar.gz"
    old_revision = bundle_mod.build_from_files(older, old_file)
    procs = []
    try:
        new_proc, new_url = _start(tmp_path, "new", current.path.resolve())
        procs.append(new_proc)
        old_proc, old_url = _start(tmp_path, "old", old_file)
        procs.append(old_proc)
        yield {"new": (new_proc, new_url, current.revision), "old": (old_proc, old_url, old_revision)}
    finally:
        for proc in procs:
            kill_process_group(proc)
        assert all(p.poll() is not None for p in procs)


def test_only_the_replica_with_the_pinned_revision_answers_then_none_qualifies(two_revisions):
    new_proc, new_url, new_rev = two_revisions["new"]
    _, old_url, old_rev = two_revisions["old"]
    settings = load_settings(opa_url=f"{old_url},{new_url}", opa_revision=new_rev, timeout_ms=2000, receipts=False)
    with Router(settings=settings) as router:
        decisions = [router.decide(EXAMPLE) for _ in range(10)]
        assert {(d.fault, d.policy_revision) for d in decisions} == {(None, new_rev)}
        assert [r.answers for r in router.engine.replicas] == [0, 10]
        kill_process_group(new_proc)  # only the replica with another revision is left
        router.engine.check_now()
        refused = router.decide(EXAMPLE)
        assert refused.fault == ENGINE_REVISION_MISMATCH and refused.status == "denied" and not refused.permitted
        assert old_rev in refused.detail and new_rev in refused.detail


def test_newest_takes_the_majority_at_start_then_follows_what_every_replica_serves(two_revisions):
    _, new_url, new_rev = two_revisions["new"]
    _, old_url, old_rev = two_revisions["old"]
    settings = load_settings(opa_url=f"{new_url},{old_url}", opa_revision="newest", timeout_ms=2000, receipts=False)
    with Router(settings=settings) as router:
        expected = router.engine.expected_revision
        assert expected in (new_rev, old_rev)  # a tie at start: the smallest digest, repeatably
        assert expected == min(new_rev, old_rev)
        decisions = [router.decide(EXAMPLE) for _ in range(10)]
        assert {(d.fault, d.policy_revision) for d in decisions} == {(None, expected)}
        # the replica with the expected revision goes away; the one left serves a revision that was never
        # replaced, and every healthy replica serves it: the router follows it
        gone, other = ("new", "old") if expected == new_rev else ("old", "new")
        kill_process_group(two_revisions[gone][0])
        router.engine.check_now()
        assert router.engine.expected_revision == two_revisions[other][2]
        after = router.decide(EXAMPLE)
        assert (after.fault, after.policy_revision) == (None, two_revisions[other][2])
        # ... and the replaced revision never becomes expected again (no downgrade)
        assert expected in router.engine.replaced_revisions
