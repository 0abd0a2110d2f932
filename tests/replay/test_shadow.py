"""Shadow evaluation: each decision also evaluated under a candidate policy; disagreements logged."""

from __future__ import annotations

import json
import stat

from click.testing import CliRunner
from conftest import SLOW_MACHINE_TIMEOUT_MS, decided_examples, expected_changes

from router import paths
from router.api import Router
from router.cli import main
from router.replay.shadow import report_from_log


def test_shadow_records_exactly_the_disagreements(no_high_end_share, tmp_path):
    folder = tmp_path / "receipts"
    with Router(receipts_dir=folder, fsync=False, timeout_ms=SLOW_MACHINE_TIMEOUT_MS, shadow_policy=no_high_end_share) as router:
        decisions = decided_examples(router)
        assert router.shadow.flush(120)
        stats = router.shadow.stats()
        # the active decisions are the project policy's, whatever the shadow says
        assert decisions["agent-architecture-escalated.json"].lane == "high-end"
    log = folder / "shadow.jsonl"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    oracle = expected_changes(decisions, no_high_end_share, tmp_path / "oracle")
    by_digest = {d.input_digest: name for name, d in decisions.items()}
    assert sorted(by_digest[r["inputDigest"]] for r in records) == sorted(oracle)
    assert stats["evaluated"] == len(decisions) and stats["disagreements"] == len(oracle) and stats["dropped"] == 0
    for r in records:
        name = by_digest[r["inputDigest"]]
        before, after = oracle[name]
        assert r["decisionId"] == decisions[name].decision_id
        assert (r["active"]["status"], r["active"]["route"]) == (before.status, before.route)
        assert (r["shadow"]["status"], r["shadow"]["route"]) == (after.status, after.route)
        assert set(r["classes"]) == {"status", "route", "model", "cost", "reasons"}
        assert r["evaluation"]["time"] == "2026-06-01T12:00:00Z"
    result = CliRunner().invoke(main, ["shadow", "report", str(folder), "--format", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["summary"]["changed"] == len(oracle) and doc["summary"]["classes"]["status"] == len(oracle)
    result = CliRunner().invoke(main, ["shadow", "report", str(log), "--max-changed", str(len(oracle) - 1)])
    assert result.exit_code == 3


def test_shadow_under_the_same_policy_records_nothing(tmp_path):
    folder = tmp_path / "receipts"
    with Router(receipts_dir=folder, fsync=False, timeout_ms=SLOW_MACHINE_TIMEOUT_MS, shadow_policy=paths.POLICIES) as router:
        decisions = router.decide_many([paths.EXAMPLES / "bundles" / n for n in
                                        ("agent-architecture-escalated.json", "personal-hosted-approved.json", "agent-log-triage-local.json")])
        router.shadow.flush(60)
        assert router.shadow.stats()["evaluated"] == len(decisions) and router.shadow.stats()["disagreements"] == 0
    assert (folder / "shadow.jsonl").read_text(encoding="utf-8") == ""
    assert report_from_log(folder).compared == 0


def test_shadow_log_never_holds_prompt_text(no_high_end_share, tmp_path):
    secret = "prompt words that must never be written xyzzy"
    bundle = json.loads((paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json").read_text(encoding="utf-8"))
    bundle["request"]["prompt"] = {"text": secret}
    log = tmp_path / "elsewhere" / "shadow.jsonl"
    with Router(receipts=False, shadow_policy=no_high_end_share, shadow_log=log) as router:
        router.decide(bundle)
        router.shadow.flush(60)
    text = log.read_text(encoding="utf-8")
    assert text.count("\n") == 1 and "xyzzy" not in text


def test_shadow_needs_a_log(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="shadow_log"):
        Router(receipts=False, shadow_policy=paths.POLICIES)
