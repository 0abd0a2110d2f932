"""A cold `model-router decide` imports only what deciding needs (issue: decisions at OPA's floor).

jsonschema (the detailed validator, built for an invalid document only), PyYAML (read only when a
config file is in use), aiohttp and requests, and cryptography (keys: approval tokens, signed receipt
heads) stay out of a decide that needs none of them; each costs tens of milliseconds of a cold start
(measured in docs/performance.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cli_helpers import BUNDLES

from router import paths

NOT_ON_THE_DECIDE_PATH = ("jsonschema", "referencing", "yaml", "aiohttp", "requests", "cryptography")

_PROBE = """
import json, sys
sys.argv = ["model-router", "decide", *sys.argv[1:]]
from router.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
"""


def _decide_in_process(*args: str, env_extra: dict[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    env["MODEL_ROUTER_RECEIPTS"] = "0"
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=paths.ROOT, env=env,
                          timeout=120, check=False)
    report: dict = json.loads(proc.stderr.strip().splitlines()[-1])
    report["stdout"] = proc.stdout
    report["stderr"] = proc.stderr
    return report


def test_a_valid_bundle_is_decided_without_the_detailed_validator_or_yaml() -> None:
    report = _decide_in_process(str(BUNDLES / "agent-routine-code-execution.json"), "--format", "decision")
    assert report["exit"] in (0, 3), report
    assert json.loads(report["stdout"])["kind"]  # a decision was printed
    assert [m for m in NOT_ON_THE_DECIDE_PATH if m in report["modules"]] == []


_START_PROBE = """
import json, sys
sys.argv = ["model-router", "decide", *sys.argv[1:]]
from router import opa_supervisor
seen = []
begin = opa_supervisor.OpaSupervisor.try_start

def recording(self, wait=True):
    seen.append({"wait": wait, "loaded": sorted(m for m in ("router.api", "router.engine", "http.client") if m in sys.modules)})
    return begin(self, wait)

opa_supervisor.OpaSupervisor.try_start = recording
from router.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "starts": seen}), file=sys.stderr)
"""


def test_decide_starts_the_managed_opa_before_it_imports_the_engine_and_the_http_client() -> None:
    # OPA compiles the policy (most of a cold decide) while Python imports the rest of the decision path
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    env["MODEL_ROUTER_RECEIPTS"] = "0"
    proc = subprocess.run([sys.executable, "-c", _START_PROBE, str(BUNDLES / "agent-routine-code-execution.json")],
                          capture_output=True, text=True, cwd=paths.ROOT, env=env, timeout=120, check=False)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["exit"] in (0, 3), proc.stderr
    assert report["starts"] == [{"wait": False, "loaded": []}], report


def test_an_invalid_bundle_still_gets_precise_errors_and_leaves_no_opa_behind(tmp_path) -> None:
    bad = json.loads((BUNDLES / "agent-routine-code-execution.json").read_text(encoding="utf-8"))
    bad["request"]["taskClass"] = 7
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    # the managed OPA starts before the bundle is read (it compiles while the bundle is validated); the
    # unusable bundle stops it, and its private folder (socket, log, bundle copy) goes with it
    runtime = Path(tempfile.mkdtemp(prefix="mr-rt-", dir="/tmp"))
    try:
        report = _decide_in_process(str(path), "--format", "decision", env_extra={"XDG_RUNTIME_DIR": str(runtime)})
        assert report["exit"] not in (0, 3), report
        assert "jsonschema" in report["modules"]  # the detailed validator was loaded to name the field
        assert "$.request.taskClass" in report["stderr"], report["stderr"]
        assert sorted(p.name for p in runtime.iterdir()) == []
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
