"""run_validator: check files (or every example of some kinds), print violations, return the exit code.

Exit codes: 0 every document is valid, 1 some document is invalid, 2 some input is unusable
(missing file, not JSON, not an object, unknown or unexpected kind).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from router import paths
from router.contracts.context import repository_context
from router.contracts.errors import UnusableInput
from router.contracts.kinds import KINDS, detect_kind, kind_info, load_extensions
from router.contracts.loader import load_document
from router.contracts.validate import validate_document

OK, INVALID, UNUSABLE = 0, 1, 2


def _shown(path: Path) -> str:
    if str(path) == "-":
        return "<stdin>"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def meant_to_be_rejected(path: Path) -> bool:
    """An example input bundle kept to show how ill-typed input is denied: its sibling
    `<name>.expected.json` says `"schemaValidInput": false`. Discovery skips it (name it to check it)."""
    expected = path.with_name(path.stem + ".expected.json")
    if path.name.endswith(".expected.json") or not expected.is_file():
        return False
    try:
        return load_document(expected).get("schemaValidInput") is False
    except UnusableInput:
        return False


def discover(kinds: Iterable[str] | None = None, root: Path | None = None) -> list[Path]:
    """Every JSON file under examples/ whose kind is among KINDS (all kinds when None).

    A file that cannot be read as JSON is included only when its name starts with the slug of a
    wanted kind, so that a broken example is reported rather than silently skipped. Example bundles
    meant to be rejected (see meant_to_be_rejected) are left out.
    """
    load_extensions()
    wanted = set(kinds) if kinds else set(KINDS)
    slugs = tuple(kind_info(k).slug for k in wanted)
    found = []
    for path in sorted((root or paths.EXAMPLES).rglob("*.json")):
        if meant_to_be_rejected(path):
            continue
        try:
            kind = detect_kind(load_document(path))
        except UnusableInput:
            if path.name.startswith(slugs):
                found.append(path)
            continue
        if kind in wanted:
            found.append(path)
    return found


def run_validator(
    paths_: Sequence[str | Path], kinds: Iterable[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Validate PATHS_ (or, when empty, every example of KINDS); print what is wrong; return 0, 1 or 2.

    With KINDS and explicit paths, a document of another kind is unusable input.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    kinds = [kind_info(k).name for k in kinds] if kinds else None
    files = [Path(p) for p in paths_] if paths_ else discover(kinds)
    if not files:
        what = ", ".join(kinds) if kinds else "contract"
        print(f"no {what} documents found under {_shown(paths.EXAMPLES)}/", file=err)
        return UNUSABLE

    loaded: list[tuple[str, dict[str, Any], str]] = []
    unusable = invalid = violations = 0
    for path in files:
        shown = _shown(path)
        try:
            doc = load_document(path)
            kind = detect_kind(doc)
        except UnusableInput as exc:
            message = str(exc)
            print(message if message.startswith(str(path)) else f"{shown}: {message}", file=err)
            unusable += 1
            continue
        if kinds and kind not in kinds:
            print(f"{shown}: $.kind: found {kind!r}; expected a {' or '.join(kinds)} document", file=err)
            unusable += 1
            continue
        loaded.append((shown, doc, kind))

    context = repository_context().with_documents(doc for _, doc, _ in loaded)
    for shown, doc, kind in loaded:
        found = validate_document(doc, source=shown, kind=kind, context=context)
        if found:
            invalid += 1
            violations += len(found)
            for v in found:
                print(f"{v} [{v.rule}]", file=err)
        else:
            print(f"ok: {shown} ({kind})", file=out)

    total = len(files)
    if invalid or unusable:
        parts = [f"{total - invalid - unusable} valid"]
        if invalid:
            parts.append(f"{invalid} invalid ({violations} violation{'s' if violations != 1 else ''})")
        if unusable:
            parts.append(f"{unusable} unusable")
        print(f"checked {total} document{'s' if total != 1 else ''}: {', '.join(parts)}", file=err)
    return UNUSABLE if unusable else INVALID if invalid else OK


USAGE = """usage: {prog} [FILE ...]

Validate {kind} documents against their JSON Schema and semantic rules.
With no FILE, every {kind} document under examples/ is checked.
Exit status: 0 valid, 1 invalid, 2 unusable input."""


def main_for_kind(kind: str, argv: Sequence[str], prog: str) -> int:
    """The entry point of a tools/validate_*.py script for KIND."""
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE.format(prog=prog, kind=kind))
        return OK
    options = [a for a in argv if a.startswith("-") and a != "-"]
    if options:
        print(f"{prog}: unknown option {options[0]}\n" + USAGE.format(prog=prog, kind=kind), file=sys.stderr)
        return UNUSABLE
    return run_validator(list(argv), [kind])
