"""The baseline for `decide_many` throughput: another commit of this repository, run side by side.

`python -m bench --baseline COMMIT` (`make bench BASELINE=COMMIT`) checks COMMIT out as a detached git
worktree under build/ (build/bench-baseline-<short>), assembles that commit's policy data with that
commit's own code (`python -m router.policy_data`, `router.fixture_data`), and starts a worker process
that imports that commit's `router` package (its Python code, its policies, its own managed OPA). The
harness then asks the worker and the current router in turn (round-robin) to `decide_many` the same
batch, so both see the same load; the worker times its own `decide_many` call, so process start and
pipe traffic are not counted. The worktree is removed when the run ends.

DEFAULT_BASELINE is the commit before the issue-15 work (decisions at OPA's floor, independent of
catalog size): the state the issue measured. A baseline that cannot be prepared (unknown commit, no
git, a commit whose router cannot decide the current example bundles) is reported as SKIP with why.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "ccf4fde"  # main before the issue-15 work (see docs/performance.md)

WORKER = r"""
import copy, json, sys, time
sys.path.insert(0, sys.argv[1])
import router
from router import Router
bundles = [json.load(open(p, encoding="utf-8")) for p in sys.argv[2:]]
def batch(count, tag):
    out = []
    for i in range(count):
        b = copy.deepcopy(bundles[i % len(bundles)])
        b["request"]["prompt"] = {"text": f"{tag}-{i}"}
        out.append(b)
    return out
with Router(receipts=False, timeout_ms=30000) as r:
    if r.engine.start_error:
        print(json.dumps({"error": f"cannot start the baseline's managed OPA: {r.engine.start_error}"}), flush=True)
        sys.exit(1)
    warm = r.decide_many(batch(len(bundles), "warm"))
    print(json.dumps({"ready": True, "router": router.__file__, "revision": r.engine.bundle_revision,
                      "statuses": [d.status for d in warm], "faults": sum(1 for d in warm if d.fault)}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        count, tag = int(cmd[0]), cmd[1]
        todo = batch(count, tag)
        t0 = time.perf_counter()
        decisions = r.decide_many(todo)
        wall = time.perf_counter() - t0
        print(json.dumps({"wall": wall, "faults": sum(1 for d in decisions if d.fault)}), flush=True)
"""


class BaselineUnavailable(Exception):
    """The baseline cannot be run (the reason is printed as SKIP)."""


def _git(*args: str, cwd: Path = ROOT, timeout: float = 120) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BaselineUnavailable(f"git {' '.join(args)}: {(proc.stderr or proc.stdout).strip()[:200]}")
    return proc.stdout.strip()


class Baseline:
    """A worktree of COMMIT with its policy data assembled, and a worker deciding batches with it."""

    def __init__(self, commit: str, bundle_files: list[Path]) -> None:
        self.requested = commit
        self.bundle_files = bundle_files
        self.worktree: Path | None = None
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        if shutil.which("git") is None:
            raise BaselineUnavailable("git is not installed")
        sha = _git("rev-parse", "--verify", f"{self.requested}^{{commit}}")
        head = _git("rev-parse", "HEAD")
        self.info = {"commit": sha[:12], "requested": self.requested, "head": head[:12]}
        wt = ROOT / "build" / f"bench-baseline-{sha[:12]}"
        _git("worktree", "prune")
        if wt.exists():
            shutil.rmtree(wt, ignore_errors=True)
            _git("worktree", "prune")
        wt.parent.mkdir(parents=True, exist_ok=True)
        _git("worktree", "add", "--detach", "--force", str(wt), sha)
        self.worktree = wt
        tools = ROOT / ".tools"
        if tools.exists() and not (wt / ".tools").exists():
            os.symlink(tools.resolve(), wt / ".tools")
        env = self._env()
        t0 = time.monotonic()
        for module in ("router.policy_data", "router.fixture_data"):
            if not (wt / Path(*module.split("."))).with_suffix(".py").exists():
                continue
            proc = subprocess.run([sys.executable, "-m", module], cwd=wt, env=env, capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                raise BaselineUnavailable(f"{module} at {sha[:12]} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(wt), *map(str, self.bundle_files)], cwd=wt, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = self._read()
        if "error" in ready or not ready.get("ready"):
            raise BaselineUnavailable(ready.get("error") or f"the baseline worker did not start: {ready}")
        if not str(Path(ready["router"]).resolve()).startswith(str(wt.resolve())):
            raise BaselineUnavailable(f"the baseline worker imported {ready['router']}, not the baseline's router package")
        self.info.update(revision=ready["revision"], warmupFaults=ready["faults"], statuses=ready["statuses"],
                         prepareSeconds=round(time.monotonic() - t0, 1))
        return self.info

    def _env(self) -> dict[str, str]:
        assert self.worktree is not None
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.worktree)
        env["MODEL_ROUTER_RECEIPTS"] = "0"
        return env

    def _read(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            return {"error": f"the baseline worker exited: {err.strip()[-300:]}"}
        return json.loads(line)

    def decide_many(self, count: int, tag: str) -> dict[str, Any]:
        """The worker's own timing of decide_many over COUNT bundles: {"wall", "faults"}."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(f"{count} {tag}\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise BaselineUnavailable(answer["error"])
        return answer

    def close(self) -> None:
        if self.proc is not None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.write("quit\n")
                    self.proc.stdin.close()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None
        if self.worktree is not None:
            try:
                _git("worktree", "remove", "--force", str(self.worktree))
            except (BaselineUnavailable, subprocess.TimeoutExpired):
                shutil.rmtree(self.worktree, ignore_errors=True)
                with contextlib.suppress(BaselineUnavailable):
                    _git("worktree", "prune")
            self.worktree = None
