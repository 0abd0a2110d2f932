"""Rego style checks that `opa check --strict` and `opa fmt` do not cover (the parts of the Rego style
guide this project enforces when the Regal linter is not available):

- the package path is the folder path, as Regal's directory-package-mismatch rule requires
  (policies/model_router/agent/lanes/lanes.rego -> model_router.agent.lanes; a `_test` suffix is ignored);
- every module has a `<module>_test.rego` beside it, and a test module declares `package <pkg>_test`;
- every module starts with a `# METADATA` block with a title, and the entrypoint is marked `entrypoint: true`;
- no `import future.keywords` / `import rego.v1` leftovers (OPA 1.x syntax only).

Usage: python3 tools/rego_style.py [POLICY_DIR]   (exit 1 on any violation, each named file:line: what, expected)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGE_RE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)


def check(policy_dir: Path) -> list[str]:
    problems: list[str] = []
    base = policy_dir.parent  # the folder that holds the `model_router` root package folder
    entrypoints = 0
    for path in sorted(policy_dir.rglob("*.rego")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(base)
        match = PACKAGE_RE.search(text)
        if not match:
            problems.append(f"{rel}:1: no package declaration; expected `package {'.'.join(rel.parent.parts)}`")
            continue
        package = match.group(1)
        line = text[: match.start()].count("\n") + 1
        is_test = path.name.endswith("_test.rego")
        folder_pkg = ".".join(rel.parent.parts)
        module_pkg = package[: -len("_test")] if is_test and package.endswith("_test") else package
        if is_test and not package.endswith("_test"):
            problems.append(f"{rel}:{line}: test package `{package}`; expected `{package}_test`")
        if module_pkg != folder_pkg:
            problems.append(f"{rel}:{line}: package `{module_pkg}` does not mirror its folder; expected `{folder_pkg}`")
        if re.search(r"^import (future\.keywords|rego\.v1)", text, re.MULTILINE):
            problems.append(f"{rel}: imports future.keywords or rego.v1; expected plain OPA 1.x syntax")
        if is_test:
            continue
        if not (path.parent / f"{path.stem}_test.rego").exists():
            problems.append(f"{rel}: no `{path.stem}_test.rego` beside it; expected a test module per module")
        head = text[: match.start()]
        if "# METADATA" not in head or "# title:" not in head:
            problems.append(f"{rel}:1: no `# METADATA` block with a `title:` before the package; expected package annotations")
        if re.search(r"^# entrypoint: true", text, re.MULTILINE):
            entrypoints += 1
    if entrypoints == 0:
        problems.append(f"{policy_dir}: no module annotated `entrypoint: true`; expected the decision entrypoint to be marked")
    return problems


def main(argv: list[str]) -> int:
    policy_dir = Path(argv[1] if len(argv) > 1 else "policies/model_router")
    problems = check(policy_dir)
    for p in problems:
        print(p)
    print(f"rego style: {'clean' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
