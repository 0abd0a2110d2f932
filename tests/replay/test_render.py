"""Rendering: values from a log are data, never markup or terminal control sequences."""

from __future__ import annotations

import json

from router.replay import render
from router.replay.core import Entry, Report

HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>\x1b[2J"


def _report() -> Report:
    before = {"kind": "AgentExecutionRouteDecision", "status": "selected", "route": "standard", "reason": "r1", "reasons": ["r1"],
              "costClass": "medium", "estimatedCost": 0.1, "model": None, "modelKnown": True, "windows": {"task": 2.0}}
    after = {**before, "status": "denied", "route": None, "reason": HOSTILE, "reasons": [HOSTILE], "estimatedCost": None}
    report = Report(mode="replay", source="log", candidate={"policy": HOSTILE, "revision": "sha256:x"}, baseline={"policy": None}, total=1)
    report.entries.append(Entry(line=1, receipt_id="r", decision_id="d", request={"requestId": HOSTILE}, evaluation={"time": "2026-06-01T12:00:00Z"},
                                input_digest="sha256:0", before=before, after=after, classes=["status", "route", "cost", "reasons"],
                                more_permissive=None))
    return report


def test_html_embeds_values_as_data_only():
    page = render.html(_report())
    assert page.count("</script>") == 2  # the data block and the script, nothing from the log
    assert "<img" not in page and "<script>alert" not in page
    data = page.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["changed"][0]["requestId"] == HOSTILE


def test_text_escapes_control_characters():
    out = render.text(_report())
    assert "\x1b" not in out and "\\x1b[2J" in out
