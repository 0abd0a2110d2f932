"""The `model-router` entry point ends decide, explain and hook without the interpreter's teardown
(router.launch.exit_without_teardown): what anything outside the process sees is Python's own exit
(other threads done, atexit handlers run, output flushed, the command's status); only the clearing of
modules and the collection of their objects, 35-50 ms of a cold decide, is skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_helpers import BUNDLES, run

from router import paths

BUNDLE = BUNDLES / "agent-routine-code-execution.json"

# an object whose finalizer reports the interpreter's teardown (module globals are cleared there)
_SENTINEL = """
import os
class Sentinel:
    def __del__(self):
        os.write(2, b"TEARDOWN\\n")
sentinel = Sentinel()
"""

_CONSOLE_SCRIPT = _SENTINEL + """
import sys
sys.argv = ["model-router", *sys.argv[1:]]
from router.launch import main
main()
"""


def _python(code: str, *args: str, env_extra: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    # buffered standard streams (as a shell runs the command), so that the flush at the exit is tested
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_") and k != "PYTHONUNBUFFERED"}
    env.update({"MODEL_ROUTER_RECEIPTS": "0", **(env_extra or {})})
    return subprocess.run([sys.executable, "-c", code, *args], cwd=paths.ROOT, env=env, timeout=120, check=False, **kw)


def test_a_decision_ends_with_its_status_and_output_and_its_opa_stopped_without_the_teardown(runtime) -> None:
    proc = _python(_CONSOLE_SCRIPT, "decide", str(BUNDLE), "--format", "table", env_extra={"XDG_RUNTIME_DIR": str(runtime)},
                   capture_output=True, text=True)
    plain = run("decide", str(BUNDLE), "--format", "table", env={"MODEL_ROUTER_RECEIPTS": "0"})
    assert proc.returncode in (0, 3), proc.stderr
    assert (proc.returncode, proc.stdout) == (plain.returncode, plain.stdout.decode())
    assert "TEARDOWN" not in proc.stderr
    assert sorted(runtime.iterdir()) == []  # the atexit handlers ran: OPA stopped, its folder removed


def test_a_command_that_fails_before_deciding_keeps_its_status_and_message(runtime, tmp_path) -> None:
    proc = _python(_CONSOLE_SCRIPT, "decide", str(tmp_path / "missing.json"), env_extra={"XDG_RUNTIME_DIR": str(runtime)},
                   capture_output=True, text=True)
    assert proc.returncode == 2 and "missing.json" in proc.stderr
    assert "TEARDOWN" not in proc.stderr
    assert sorted(runtime.iterdir()) == []


def test_the_hook_leaves_its_decision_log_and_evidence_written(runtime, tmp_path) -> None:
    bundle = json.loads((BUNDLES / "agent-log-triage-battery-critical-requests-local.json").read_text(encoding="utf-8"))
    payload = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "model-call", "session_id": "s-1", "cwd": str(tmp_path),
                          "tool_input": {"routeBundle": bundle}})
    log = tmp_path / "guardrail-decisions.jsonl"
    proc = _python(_CONSOLE_SCRIPT, "hook", "--write-log", "--log-path", str(log), env_extra={"XDG_RUNTIME_DIR": str(runtime)},
                   input=payload, capture_output=True, text=True)
    plain = run("hook", "--no-receipts", stdin=payload.encode())
    assert (proc.returncode, proc.stdout) == (plain.returncode, plain.stdout.decode()), proc.stderr
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "TEARDOWN" not in proc.stderr
    (logged,) = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    evidence = [json.loads(line) for path in tmp_path.glob("*.jsonl") if path != log for line in path.read_text(encoding="utf-8").splitlines()]
    assert logged["decision"] == "defer" and [e["guardrailDecisionId"] for e in evidence] == [logged["decisionId"]]
    assert sorted(runtime.iterdir()) == []


def test_other_commands_keep_the_interpreters_own_exit() -> None:
    proc = _python(_CONSOLE_SCRIPT, "validate", str(BUNDLE), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "TEARDOWN" in proc.stderr


def test_atexit_handlers_run_and_buffered_output_is_flushed_before_the_exit() -> None:
    code = _SENTINEL + """
import atexit, sys
from router.launch import exit_without_teardown
atexit.register(lambda: sys.stdout.write("handler\\n"))
sys.stdout.write("buffered\\n")
exit_without_teardown(SystemExit(7))
sys.stdout.write("not reached\\n")
"""
    proc = _python(code, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (7, "buffered\nhandler\n"), proc.stderr
    assert "TEARDOWN" not in proc.stderr


@pytest.mark.parametrize("end", ["SystemExit(None)", "SystemExit(0)", "SystemExit(3)", "SystemExit(256 + 4)"])
def test_the_status_is_the_one_pythons_own_exit_gives(end) -> None:
    code = "import sys\nfrom router.launch import exit_without_teardown\nexit_without_teardown({end})\n"
    fast = _python(code.format(end=end), capture_output=True)
    own = _python(f"raise {end}", capture_output=True)
    assert fast.returncode == own.returncode


def test_a_running_non_daemon_thread_leaves_the_exit_to_python() -> None:
    code = _SENTINEL + """
import sys, threading
from router.launch import exit_without_teardown
release = threading.Event()
threading.Thread(target=release.wait).start()
exit_without_teardown(SystemExit(5))
print("returned")
release.set()
sys.exit(5)
"""
    proc = _python(code, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (5, "returned\n")
    assert "TEARDOWN" in proc.stderr


def test_an_exit_with_a_message_is_left_to_python() -> None:
    code = "from router.launch import exit_without_teardown\nexit_without_teardown(SystemExit('no status'))\nprint('returned')\n"
    proc = _python(code, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, "returned\n")


def test_output_that_cannot_be_flushed_fails_a_successful_command_as_pythons_own_exit_does() -> None:
    statuses = []
    for code in ("import sys\nfrom router.launch import exit_without_teardown\nsys.stdout.write('x')\nexit_without_teardown(SystemExit(0))\n",
                 "import sys\nsys.stdout.write('x')\nsys.exit(0)\n"):
        read, write = os.pipe()
        os.close(read)  # nobody reads standard output: its flush at exit fails (EPIPE)
        try:
            statuses.append(_python(code, stdout=write, stderr=subprocess.DEVNULL).returncode)
        finally:
            os.close(write)
    assert statuses == [120, 120]
