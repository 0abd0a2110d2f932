"""model-router replay: re-deciding recorded inputs under a candidate policy (real OPA throughout)."""

from __future__ import annotations

import functools
import json
import stat

import pytest
from click.testing import CliRunner
from conftest import SLOW_MACHINE_TIMEOUT_MS, expected_changes

from router import paths
from router.api import Router
from router.bundle import ensure_bundle
from router.cli import main
from router.contracts.digest import canonical, sha256_text
from router.receipts import LOG_NAME, InputStore, store_folder
from router.receipts.inputs import PACK_NAME
from router.replay import core
from router.replay.core import ReplayError

replay = functools.partial(core.replay, router_factory=Router, timeout_ms=SLOW_MACHINE_TIMEOUT_MS)


def _records(store) -> dict[str, str]:
    """{inputDigest: the stored canonical JSON} of the pack (router.receipts.inputs), read as a reader would."""
    out = {}
    for line in (store / PACK_NAME).read_text(encoding="utf-8").splitlines():
        value = json.loads(line)
        assert line == canonical(value)  # each record is canonical JSON: {"input": ..., "inputDigest": ...}
        out[value["inputDigest"]] = canonical(value["input"])
    return out


def _by_digest(decisions: dict) -> dict:
    return {d.input_digest: name for name, d in decisions.items()}


def test_store_holds_every_input_without_prompt_text(recorded):
    folder, decisions = recorded
    store = store_folder(folder / LOG_NAME)
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [p.name for p in store.iterdir()] == [PACK_NAME]
    assert stat.S_IMODE((store / PACK_NAME).stat().st_mode) == 0o600
    records = _records(store)
    assert set(records) == {d.input_digest for d in decisions.values()}
    for input_digest, text in records.items():
        assert sha256_text(text) == input_digest
        assert '"text"' not in text
        assert "evaluation" not in json.loads(text)


def test_prompt_text_is_never_stored(tmp_path):
    from router.api import Router

    secret = "the quarterly numbers are confidential-xyzzy"
    bundle = json.loads((paths.EXAMPLES / "bundles" / "agent-log-triage-local.json").read_text(encoding="utf-8"))
    bundle["request"]["prompt"] = {"text": secret}
    with Router(receipts_dir=tmp_path / "r", fsync=False) as router:
        decision = router.decide(bundle)
    store = store_folder(tmp_path / "r" / LOG_NAME)
    raw = (store / PACK_NAME).read_text(encoding="utf-8")
    assert secret not in raw and "xyzzy" not in raw
    assert InputStore(store).get(decision.input_digest)["request"]["prompt"]["chars"] == len(secret)
    report = replay(tmp_path / "r", paths.POLICIES)
    assert report.compared == 1 and not report.changed
    assert "xyzzy" not in json.dumps(report.to_dict())


def test_receipts_record_the_model(recorded):
    folder, decisions = recorded
    receipts = [json.loads(line) for line in (folder / LOG_NAME).read_text(encoding="utf-8").splitlines()]
    with_model = [r for r in receipts if r.get("model") and r["model"]["modelRef"]]
    assert with_model, "at least one example selects a concrete model"
    by_id = {d.decision_id: d for d in decisions.values()}
    for r in with_model:
        assert r["model"]["modelRef"] == by_id[r["decisionId"]].to_dict()["model"]["modelRef"]


def test_unchanged_policy_folder_reports_zero_changes_for_every_example(recorded):
    folder, decisions = recorded
    report = replay(folder, paths.POLICIES)
    assert report.total == len(decisions) and report.compared == len(decisions)
    assert report.skipped == []
    assert report.changed == [], [(e.request.get("requestId"), e.classes) for e in report.changed]
    assert report.class_counts() == {c: 0 for c in ("status", "route", "model", "cost", "reasons")}
    # the copy of the project's policies builds the very bundle the decisions were recorded under
    assert report.candidate["revision"] == ensure_bundle().revision
    assert report.apply_gate("0", ("more-permissive",)) == 0


def test_unchanged_bundle_archive_and_baseline_report_zero_changes(recorded):
    folder, _ = recorded
    archive = ensure_bundle().path
    report = replay(folder, archive, baseline=paths.POLICIES)
    assert report.compared == report.total and not report.changed


def test_closed_high_end_share_changes_exactly_the_right_decisions(recorded, no_high_end_share, tmp_path):
    folder, decisions = recorded
    report = replay(folder, no_high_end_share)
    names = _by_digest(decisions)
    got = {names[e.input_digest]: e for e in report.changed}
    oracle = expected_changes(decisions, no_high_end_share, tmp_path)
    assert got and set(got) == set(oracle)
    # exactly the decisions that went to the high-end lane, and none is upgraded
    for name, e in got.items():
        _before, after = oracle[name]
        assert e.before["route"] == "high-end" and e.after["route"] != "high-end", name
        assert e.after["status"] == after.status and e.after["route"] == after.route, name
        assert {"status", "route"} & set(e.classes), name
        assert e.more_permissive is None
    assert report.permissive_count() == 0
    assert report.cost_total()["delta"] < 0


def test_lower_budget_ceiling_changes_exactly_the_right_decisions(recorded, lower_ceiling, tmp_path):
    folder, decisions = recorded
    report = replay(folder, lower_ceiling)
    names = _by_digest(decisions)
    got = {names[e.input_digest]: e for e in report.changed}
    oracle = expected_changes(decisions, lower_ceiling, tmp_path)
    assert got and set(got) == set(oracle)
    for name, e in got.items():
        before, after = oracle[name]
        assert e.after["status"] == after.status and e.after["route"] == after.route, name
        assert e.before["status"] == before.status and e.before["route"] == before.route, name
        assert ("status" in e.classes) == (before.status != after.status), name
        assert ("route" in e.classes) == (before.route != after.route), name
    task = [w for w in report.cost_windows() if w["window"] == "task"]
    assert task and task[0]["maxSpendBefore"] == 2.0 and task[0]["maxSpendAfter"] == 0.3
    assert report.permissive_count() == 0


def _cli(*args):
    result = CliRunner().invoke(main, ["replay", *map(str, args)])
    return result.exit_code, result.output


def test_gate_exit_codes(recorded, no_high_end_share):
    folder, _ = recorded
    count = len(replay(folder, no_high_end_share).changed)
    assert count > 0
    assert _cli(folder, "--policy", no_high_end_share, "--max-changed", count)[0] == 0
    code, out = _cli(folder, "--policy", no_high_end_share, "--max-changed", count - 1)
    assert code == 3 and f"{count} changed decisions, more than --max-changed {count - 1}" in out
    assert _cli(folder, "--policy", no_high_end_share, "--max-changed", "50%")[0] == 0
    assert _cli(folder, "--policy", no_high_end_share, "--max-changed", "0.5%")[0] == 3
    # the restriction is not more permissive; the reverse change (the baseline restricted) is
    assert _cli(folder, "--policy", no_high_end_share, "--fail-on", "more-permissive")[0] == 0
    code, out = _cli(folder, "--policy", paths.POLICIES, "--baseline", no_high_end_share, "--fail-on", "more-permissive", "--format", "json")
    assert code == 3
    doc = json.loads(out)
    assert doc["summary"]["morePermissive"] == count and doc["gate"]["passed"] is False
    # a deferred decision that now selects ("permits"), a downgraded one that now gets high-end ("higher-lane")
    assert {e["morePermissive"] for e in doc["changed"]} <= {"permits", "higher-lane"}
    assert _cli(folder, "--policy", paths.POLICIES, "--max-changed", "0", "--fail-on", "more-permissive")[0] == 0


def test_higher_lane_is_more_permissive_by_the_policy_rank(recorded, tmp_path):
    from router.replay import compare

    rank = {"cheap": 2, "standard": 3, "high-end": 4}
    base = {"kind": "AgentExecutionRouteDecision", "status": "selected", "route": "standard"}
    assert compare.more_permissive(base, {**base, "route": "high-end"}, rank) == "higher-lane"
    assert compare.more_permissive(base, {**base, "route": "cheap"}, rank) is None
    assert compare.more_permissive({**base, "status": "denied", "route": None}, base, rank) == "permits"
    # the rank comes from the policy itself
    from router.api import Router
    from router.config import Settings
    from router.replay.core import lane_rank

    with Router(settings=Settings(receipts=False)) as router:
        got = lane_rank(router)
    policy = json.loads((paths.EXAMPLES / "agent-execution-model-routing-policy.default.json").read_text(encoding="utf-8"))
    assert got == {lane["laneId"]: i for i, lane in enumerate(policy["modelLanes"])}


def test_inputs_missing_or_altered_are_not_replayable(recorded, tmp_path):
    import shutil

    folder, _decisions = recorded
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    store = store_folder(copy / LOG_NAME)
    pack = store / PACK_NAME
    lines = pack.read_text(encoding="utf-8").splitlines(keepends=True)
    # one input removed, one edited in place (its record still names the digest it had)
    pack.write_text("".join([lines[1].replace('"v0.1"', '"v0.2"', 1), *lines[2:]]), encoding="utf-8")
    report = replay(copy, paths.POLICIES)
    assert len(report.skipped) >= 2 and report.compared == report.total - len(report.skipped)
    whys = " ".join(s["why"] for s in report.skipped)
    assert "no stored input" in whys and "does not match its digest" in whys
    assert not report.changed
    shutil.rmtree(store)
    code, out = _cli(copy, "--policy", paths.POLICIES)
    assert code == 2 and "could be replayed" in out


def test_unusable_policy_log_and_options(recorded, tmp_path):
    folder, _ = recorded
    code, out = _cli(folder, "--policy", tmp_path / "nowhere")
    assert code == 2 and "nowhere" in out and "policies/ folder" in out
    (tmp_path / "empty").mkdir()
    code, out = _cli(folder, "--policy", tmp_path / "empty")
    assert code == 2 and "model_router" in out
    code, out = _cli(tmp_path / "no-log.jsonl", "--policy", paths.POLICIES)
    assert code == 2 and "receipt log not found" in out
    code, out = _cli(folder, "--policy", paths.POLICIES, "--max-changed", "lots")
    assert code == 2 and "--max-changed" in out
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ReplayError, match="line 1"):
        replay(broken, paths.POLICIES, check_log=False)


def test_tampered_log_is_refused(recorded, tmp_path):
    import shutil

    folder, _ = recorded
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    log = copy / LOG_NAME
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text("".join(lines[1:]), encoding="utf-8")
    code, out = _cli(copy, "--policy", paths.POLICIES)
    assert code == 2 and "does not verify" in out


def test_text_and_html_formats(recorded, no_high_end_share, tmp_path):
    folder, _ = recorded
    code, out = _cli(folder, "--policy", no_high_end_share)
    assert code == 0
    assert "status changed" in out and "req-agent-031" in out and "escalation-accepted -> no-feasible-candidate" in out
    assert "estimated cost delta per budget window" in out
    html = tmp_path / "r.html"
    code, _ = _cli(folder, "--policy", no_high_end_share, "--format", "html", "--out", html)
    text = html.read_text(encoding="utf-8")
    assert code == 0 and text.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in text and "http://" not in text and "https://" not in text.replace("https://schemas", "")
    assert "<script src" not in text and "<link" not in text


def test_an_input_store_that_cannot_be_written_fails_closed(tmp_path):
    from router.api import Router

    folder = tmp_path / "r"
    folder.mkdir(mode=0o700)
    (folder / "inputs").write_text("not a folder", encoding="utf-8")  # the store cannot be created
    with Router(receipts_dir=folder, fsync=False) as router:
        decision = router.decide(paths.EXAMPLES / "bundles" / "agent-log-triage-local.json")
    assert decision.status == "denied" and decision.reason == "evidence-unavailable"
    assert not (folder / LOG_NAME).exists() or (folder / LOG_NAME).read_text(encoding="utf-8") == ""


def test_receipts_without_stored_inputs_when_storage_is_off(tmp_path):
    from router.api import Router

    with Router(receipts_dir=tmp_path / "r", fsync=False, store_inputs=False) as router:
        router.decide(paths.EXAMPLES / "bundles" / "agent-log-triage-local.json")
    assert not store_folder(tmp_path / "r" / LOG_NAME).exists()
    code, out = _cli(tmp_path / "r", "--policy", paths.POLICIES)
    assert code == 2 and "no stored inputs" in out


def test_a_higher_lane_under_the_candidate_is_more_permissive(recorded, lower_ceiling):
    folder, decisions = recorded
    # baseline: the lowered ceiling (premium requests downgraded or refused); candidate: the project policy
    report = replay(folder, paths.POLICIES, baseline=lower_ceiling)
    names = _by_digest(decisions)
    kinds = {names[e.input_digest]: e.more_permissive for e in report.changed}
    higher = {n for n, why in kinds.items() if why == "higher-lane"}
    assert higher, kinds
    for e in report.changed:
        if e.more_permissive == "higher-lane":
            assert e.before["status"] in ("selected", "downgraded") and e.after["status"] in ("selected", "downgraded")
            assert (e.before["route"], e.after["route"]) == ("standard", "high-end")
        elif e.more_permissive == "permits":
            assert e.before["route"] is None and e.after["route"] is not None
    assert report.apply_gate(None, ("more-permissive",)) == 3
