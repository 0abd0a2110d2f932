"""The `model-router` entry point (router.launch) starts the managed OPA of decide, explain and hook
before it imports the command line, and the command adopts that OPA only when its own settings ask for
the same one (issue: decisions at OPA's floor; a cold decide waits mostly for OPA)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import BUNDLES, run

from router import launch, opa_supervisor, paths
from router.config import load_settings

BUNDLE = BUNDLES / "agent-routine-code-execution.json"

# runs the console script's code (router.launch.main) as `model-router ARGS...` and reports, on the last
# line of standard error, the exit code and every supervisor start: whether it waited, which of the
# command line's modules were loaded by then, and whether that supervisor was closed before the end.
# The report is written by an atexit handler registered first (so run last), since the entry point may
# end the process itself (router.launch.exit_without_teardown) after the other handlers
_PROBE = """
import atexit, json, sys
sys.argv = ["model-router", *sys.argv[1:]]
from router import launch, opa_supervisor
starts, closed, report = [], set(), {"exit": "none"}

@atexit.register
def _report():
    for start in starts:
        start["closed"] = start.pop("id") in closed
    print(json.dumps({"exit": report["exit"], "starts": starts}), file=sys.stderr)

if hasattr(launch, "exit_without_teardown"):
    without_teardown = launch.exit_without_teardown

    def recording_exit(end):
        report["exit"] = end.code
        without_teardown(end)

    launch.exit_without_teardown = recording_exit
begin, close = opa_supervisor.OpaSupervisor.try_start, opa_supervisor.OpaSupervisor.close

def recording(self, wait=True):
    starts.append({"wait": wait, "id": id(self), "loaded": sorted(m for m in ("click", "router.cli", "router.api", "router.bundle") if m in sys.modules)})
    return begin(self, wait)

def closing(self):
    closed.add(id(self))
    return close(self)

opa_supervisor.OpaSupervisor.try_start, opa_supervisor.OpaSupervisor.close = recording, closing
try:
    launch.main()
except SystemExit as exc:
    report["exit"] = exc.code
    raise
"""


def _launch(runtime: Path, *args: str, env_extra: dict[str, str] | None = None) -> tuple[dict, subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    env.update({"MODEL_ROUTER_RECEIPTS": "0", "XDG_RUNTIME_DIR": str(runtime), **(env_extra or {})})
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=paths.ROOT, env=env,
                          timeout=120, check=False)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == (report["exit"] or 0), proc.stderr  # the status the command ended with
    return report, proc


def test_decide_starts_opa_before_the_command_line_is_imported_and_uses_that_one(runtime) -> None:
    report, proc = _launch(runtime, "decide", str(BUNDLE), "--format", "table")
    assert report["exit"] in (0, 3), proc.stderr
    # one start, before click, the command line and the bundle builder (router.bundle: the recorded
    # archive is verified while OPA compiles it) were imported; the command adopted it (not closed and
    # started again); it ended with the command
    assert report["starts"] == [{"wait": False, "loaded": [], "closed": True}], report
    assert sorted(runtime.iterdir()) == []
    # the same answer as the command line run as a module (which starts its OPA itself)
    plain = run("decide", str(BUNDLE), "--format", "table", env={"MODEL_ROUTER_RECEIPTS": "0"})
    assert (plain.returncode, plain.stdout.decode()) == (report["exit"], proc.stdout)


def test_explain_and_hook_start_opa_early_too(runtime, monkeypatch) -> None:
    monkeypatch.delenv("MODEL_ROUTER_OPA_URL", raising=False)
    monkeypatch.delenv("MODEL_ROUTER_CONFIG", raising=False)
    report, proc = _launch(runtime, "explain", str(BUNDLE))
    assert report["exit"] in (0, 3), proc.stderr
    assert [s["loaded"] for s in report["starts"]] == [[]], report
    assert early_started(["hook"])


def early_started(args: list[str]) -> bool:
    supervisor = launch.early_start(args)
    if supervisor is None:
        return False
    supervisor.close()
    return True


def test_settings_on_the_command_line_that_change_the_opa_stop_the_early_one(runtime) -> None:
    # a timeout above 2 s raises the managed OPA's probe timeout: not the OPA the environment asked for
    report, proc = _launch(runtime, "decide", str(BUNDLE), "--format", "table", "--timeout-ms", "5000")
    assert report["exit"] in (0, 3), proc.stderr
    early, own = report["starts"]
    assert early == {"wait": False, "loaded": [], "closed": True}
    assert {"click", "router.cli"} <= set(own["loaded"]) and own["closed"]
    assert sorted(runtime.iterdir()) == []


def test_a_command_that_fails_before_deciding_leaves_no_opa_behind(runtime, tmp_path) -> None:
    report, proc = _launch(runtime, "decide", str(tmp_path / "missing.json"))
    assert report["exit"] == 2, proc.stderr
    assert "missing.json" in proc.stderr
    assert len(report["starts"]) == 1  # the early start, adopted, then stopped with the command
    assert sorted(runtime.iterdir()) == []


def test_unusable_settings_in_the_environment_are_reported_by_the_command(runtime) -> None:
    report, proc = _launch(runtime, "decide", str(BUNDLE), env_extra={"MODEL_ROUTER_TIMEOUT_MS": "soon"})
    assert report["exit"] == 2, proc.stderr
    assert report["starts"] == []
    assert "MODEL_ROUTER_TIMEOUT_MS" in proc.stderr
    plain = run("decide", str(BUNDLE), env={"MODEL_ROUTER_TIMEOUT_MS": "soon"})
    assert (plain.returncode, plain.stderr.decode()) == (2, proc.stderr.rsplit("\n", 2)[0] + "\n")


@pytest.mark.parametrize("args", [
    [],
    ["--help"],
    ["validate", str(BUNDLE)],
    ["demo"],
    ["decide", "--help"],
    ["decide", str(BUNDLE), "-h"],
    ["decide", str(BUNDLE), "--opa-url", "http://127.0.0.1:1"],
    ["decide", str(BUNDLE), "--opa-url=http://127.0.0.1:1"],
    ["explain", str(BUNDLE), "--config", "settings.yaml"],
    ["hook", "--config=settings.yaml"],
])
def test_no_early_start_for_other_commands_or_when_the_command_line_names_other_settings(args, monkeypatch) -> None:
    monkeypatch.delenv("MODEL_ROUTER_OPA_URL", raising=False)
    monkeypatch.delenv("MODEL_ROUTER_CONFIG", raising=False)
    assert not early_started(args)


def test_no_early_start_when_the_environment_names_a_remote_opa(monkeypatch) -> None:
    monkeypatch.setenv("MODEL_ROUTER_OPA_URL", "http://127.0.0.1:1")
    assert not early_started(["decide", str(BUNDLE)])


def test_adopt_keeps_the_supervisor_made_for_the_same_settings_only(monkeypatch) -> None:
    monkeypatch.delenv("MODEL_ROUTER_TIMEOUT_MS", raising=False)
    settings = load_settings(None, env={})
    made = opa_supervisor.for_settings(settings)
    assert opa_supervisor.adopt(made, load_settings(None, env={})) is made
    assert opa_supervisor.adopt(made, load_settings(None, env={}, timeout_ms=400.0)) is made  # same probe timeout (2 s floor)
    started = opa_supervisor.for_settings(settings)
    started.try_start(wait=False)
    assert opa_supervisor.adopt(started, load_settings(None, env={}, timeout_ms=5000.0)) is None
    assert not started.alive  # closed: its OPA stopped
    assert opa_supervisor.adopt(opa_supervisor.OpaSupervisor(), settings) is None  # not made by for_settings
    assert opa_supervisor.adopt(None, settings) is None
