"""Rego style checks that `opa check --strict` and `opa fmt` do not cover (the parts of the Rego style
guide this project enforces when the Regal linter is not available):

- the package path is the folder path, as Regal's directory-package-mismatch rule requires
  (policies/model_router/agent/lanes/lanes.rego -> model_router.agent.lanes; a `_test` suffix is ignored);
- every module has a `<module>_test.rego` beside it, and a test module declares `package <pkg>_test`;
- every module starts with a `# METADATA` block with a title, and the entrypoint is marked `entrypoint: true`;
- no `import future.keywords` / `import rego.v1` leftovers (OPA 1.x syntax only).

Usage: python3 tools/rego_style.py [POLICY_DIR]   (exit 1 on any violation, each named file:line: what, expected)
       python3 tools/rego_style.py --regal-catalogue OUT.rego
           write the reason-code catalogue and the contract schemas' values as a Rego module for the
           custom Regal rule conventions/reason-code-catalogued (.regal/rules), which make lint loads
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

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
            problems.append(f"{rel}:1: no `{path.stem}_test.rego` beside it; expected a test module per module")
        head = text[: match.start()]
        if "# METADATA" not in head or "# title:" not in head:
            problems.append(f"{rel}:1: no `# METADATA` block with a `title:` before the package; expected package annotations")
        if re.search(r"^# entrypoint: true", text, re.MULTILINE):
            entrypoints += 1
    if entrypoints == 0:
        problems.append(f"{policy_dir}: no module annotated `entrypoint: true`; expected the decision entrypoint to be marked")
    return problems


def _schema_values(node, out: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum" and isinstance(value, list):
                out.update(v for v in value if isinstance(v, str))
            elif key == "const" and isinstance(value, str):
                out.add(value)
            else:
                _schema_values(value, out)
    elif isinstance(node, list):
        for value in node:
            _schema_values(value, out)


def regal_catalogue(root: Path = ROOT) -> str:
    """A Rego module for the custom Regal rules (.regal/rules/conventions):

    - reason_codes: every code of the reason catalogue (data.model_router_data.reasons, i.e. the files
      under policies/data/reasons/), without its `:detail` suffix;
    - reason_details: the details the catalogue gives their own entries (`expired` of
      `escalation-receipt-invalid:expired`), which a module may build codes from;
    - contract_values: the enum and const strings of the schemas of the contract documents and the input
      bundle, and the escalation reasons (policies/data/escalation-reasons.json) (decisions and receipts are outputs: their values are what the policy emits, so they are no
      excuse for an uncatalogued code);
    - data_keys: every member of data.model_router_data that `make data` assembles (contract document
      collections, `active`, and one per policy data file or folder).
    """
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from router import policy_data

    data = policy_data.assemble()
    catalogued = data.get("reasons", {})
    codes = {code.split(":", 1)[0] for code in catalogued}
    details = {code.split(":", 1)[1] for code in catalogued if ":" in code}
    values: set[str] = set()
    for schema in sorted((root / "schemas").glob("*.schema.json")):
        if any(word in schema.name for word in ("decision", "receipt")):
            continue
        _schema_values(json.loads(schema.read_text(encoding="utf-8")), values)
    values.update((data.get("escalationReasons") or {}).get("reasons", {}))  # a vocabulary kept as policy data

    def rego_set(items: set[str]) -> str:
        return "{\n" + "".join(f"\t{json.dumps(i)},\n" for i in sorted(items)) + "}"

    return (
        "# Generated by tools/rego_style.py --regal-catalogue (make lint); do not edit.\n"
        "package custom.model_router.catalogue\n\n"
        f"reason_codes := {rego_set(codes)}\n\n"
        f"reason_details := {rego_set(details)}\n\n"
        f"contract_values := {rego_set(values - codes)}\n\n"
        f"data_keys := {rego_set(set(data))}\n"
    )


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--regal-catalogue":
        out = Path(argv[2])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(regal_catalogue(), encoding="utf-8")
        return 0
    policy_dir = Path(argv[1] if len(argv) > 1 else "policies/model_router")
    problems = check(policy_dir)
    for p in problems:
        print(p)
    print(f"rego style: {'clean' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
