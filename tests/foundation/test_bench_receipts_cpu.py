"""The bench's receipts section accounts for the CPU each decision takes (OPA's and the deciding
process's, from /proc) and for the receipts each log commit carries, so that a run shows what a
receipt costs on the cores OPA also uses. One short run of the section against a managed OPA."""

from __future__ import annotations

import sys
import time

import pytest

from bench.harness import TARGETS, cpu_seconds, receipt_variants, section_receipts
from bench.report import floor_lines, render
from router import Router
from router.receipts import log as log_mod

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_cpu_seconds_follows_this_process_and_is_none_for_no_process() -> None:
    before = cpu_seconds()
    started = time.process_time()
    while time.process_time() - started < 0.2:
        pass
    after = cpu_seconds()
    assert before is not None and after is not None
    assert after - before >= 0.15  # /proc counts in clock ticks (10 ms)
    assert cpu_seconds(2**22 + 1) is None  # above the kernel's largest pid


def test_the_receipts_section_records_cpu_per_decision_and_receipts_per_commit(tmp_path) -> None:
    real_write = log_mod.ReceiptLog._write
    with Router(receipts=True, receipts_dir=tmp_path / "on", timeout_ms=30000) as on:
        ctx = {**receipt_variants(on, tmp_path), "bundles": ["agent-routine-code-execution", "personal-router-healthy-laptop"],
               "receipt_threads": 2, "receipt_slice_s": 0.3, "receipt_rounds": 1}
        try:
            out = section_receipts(ctx)
        finally:
            ctx["router_nofsync"].receipt_log.close()
    assert log_mod.ReceiptLog._write is real_write  # the counting wrapper is gone again
    for name in ("off", "on", "on_no_group", "on_no_inputs", "nofsync"):
        row = out[name]
        assert row["decisions"] > 0 and row["faults"] == 0, (name, row)
        cpu = row["cpu_ms_per_decision"]
        assert cpu["opa"] > 0 and cpu["python"] > 0, (name, cpu)
        if name == "off":
            assert "receipts_per_commit" not in row  # no receipt, no commit
        else:
            assert row["receipts_per_commit"] >= 1.0, (name, row)
    assert out["on_no_group"]["receipts_per_commit"] == 1.0  # group commit disabled: one append per commit

    (line,) = floor_lines({"receipts": out})
    assert f"a decision took {out['off']['cpu_ms_per_decision']['opa']:.2f} ms of OPA's CPU" in line
    added = out["nofsync"]["cpu_ms_per_decision"]["python"] - out["off"]["cpu_ms_per_decision"]["python"]
    assert f"a receipt without fsync adds {added:.2f} ms of this process's CPU" in line
    assert f"({out['nofsync']['receipts_per_commit']:.2f} receipts per log commit" in line
    available = out["cpus"] * out["off"]["ms_per_decision"]
    busy = (out["off"]["cpu_ms_per_decision"]["opa"] + out["off"]["cpu_ms_per_decision"]["python"]) / available
    assert f"the {out['cpus']} cores were {busy:.0%} busy" in line
    assert f"about {(TARGETS['receipts_vs_off'] - 1) * available:.2f} ms of CPU per decision" in line

    text = render({"machine": {"cpus": 2, "cpu": "x", "python": "3", "opa": "opa", "loadavg_at_start": 0},
                   "commit": "c", "sections": {"receipts": out}})
    assert f"CPU per decision: OPA {out['on']['cpu_ms_per_decision']['opa']:.2f} ms" in text
    assert f"{out['on']['receipts_per_commit']:.2f} receipts per log commit" in text
