"""Every shell snippet in docs/*.md and README.md runs, and exits as the page says.

A shell snippet is a fenced block tagged ```sh, ```bash, ```shell or ```console, or an untagged block
whose first line starts with `$ ` (a transcript):

- in a transcript, each `$ ` line is a command (the lines after it are its output, not compared); a
  `$ echo $?` line is followed by the exit status the command before it must have; any other command
  must exit 0;
- in a plain block, every line (a trailing `\\` continues it; `# ...` comments are dropped) is a command
  that must exit 0.

Commands run from the repository root with bash, with `.venv/bin` first on PATH (as after activating
the virtualenv) and no `opa` on PATH: a page must say `.tools/bin/opa` or a make target. A snippet that
cannot run within `make test` (a benchmark takes minutes) is preceded by an HTML comment
`<!-- snippet: not run: <reason> -->`; those are listed, with their reason, by one test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from router import paths

ROOT = paths.ROOT
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
SHELL_TAGS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\S*)\s*$")
NOT_RUN = re.compile(r"<!--\s*snippet:\s*not run:\s*(?P<reason>.+?)\s*-->")


@dataclass
class Snippet:
    page: Path
    line: int
    commands: list[tuple[str, int]]  # (command, expected exit status)
    not_run: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _transcript(body: list[str]) -> list[tuple[str, int]]:
    commands: list[tuple[str, int]] = []
    for i, line in enumerate(body):
        if not line.startswith("$ "):
            continue
        cmd = line[2:].strip()
        if cmd == "echo $?":
            expected = int(body[i + 1].strip())
            prev, _ = commands.pop()
            commands.append((prev, expected))
            continue
        commands.append((cmd, 0))
    return commands


def _plain(body: list[str]) -> list[tuple[str, int]]:
    commands: list[tuple[str, int]] = []
    pending = ""
    for line in body:
        stripped = re.sub(r"\s+#\s.*$", "", line).rstrip()
        if stripped.lstrip().startswith("#"):
            stripped = ""
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        cmd = (pending + stripped).strip()
        pending = ""
        if cmd:
            commands.append((cmd, 0))
    return commands


def snippets(page: Path) -> list[Snippet]:
    out: list[Snippet] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        tag, start = m.group(1), i
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        body = lines[start + 1:end]
        transcript = bool(body) and body[0].startswith("$ ")
        if tag in SHELL_TAGS or (tag == "" and transcript):
            before = "\n".join(lines[max(0, start - 3):start])
            marker = NOT_RUN.search(before)
            commands = _transcript(body) if transcript else _plain(body)
            out.append(Snippet(page, start + 1, commands, marker.group("reason") if marker else None))
        i = end + 1
    return out


ALL = [s for page in PAGES for s in snippets(page)]
RUN = [s for s in ALL if s.not_run is None]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    dirs = [d for d in env.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "opa").exists()]
    env["PATH"] = os.pathsep.join([str(ROOT / ".venv" / "bin"), *dirs])
    env.pop("VIRTUAL_ENV", None)
    return env


def test_snippets_are_found_and_no_page_assumes_opa_on_path():
    assert len(RUN) >= 5, [s.where for s in ALL]
    for s in ALL:
        for cmd, _ in s.commands:
            assert not re.match(r"^opa\s", cmd), f"{s.where}: `{cmd}` needs opa on PATH; write .tools/bin/opa or a make target"
    assert shutil.which("opa", path=_env()["PATH"]) is None


def test_snippets_not_run_say_why():
    skipped = {s.where: s.not_run for s in ALL if s.not_run is not None}
    assert all(reason.strip() for reason in skipped.values())
    assert len(skipped) <= 2, f"snippets not run: {skipped}"


@pytest.fixture(scope="module", autouse=True)
def _scratch():
    """The receipts folder the pages write to starts empty and is removed afterwards."""
    for folder in ("doc-receipts", "doc-tampered"):
        shutil.rmtree(ROOT / "build" / folder, ignore_errors=True)
    yield
    for folder in ("doc-receipts", "doc-tampered"):
        shutil.rmtree(ROOT / "build" / folder, ignore_errors=True)


@pytest.mark.parametrize("snippet", RUN, ids=[s.where for s in RUN])
def test_snippet_runs_and_exits_as_documented(snippet: Snippet):
    for cmd, expected in snippet.commands:
        result = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
        assert result.returncode == expected, (
            f"{snippet.where}: `{cmd}` exited {result.returncode}, the page says {expected}\n"
            f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
        )
