"""Read a JSON document strictly: duplicate keys, NaN and Infinity are rejected (they are not JSON)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from router.contracts.errors import UnusableInput
from router.contracts.jsonpath import json_type

_NON_JSON_CONSTANTS = ("NaN", "Infinity", "-Infinity")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NonJsonConstant(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _reject_constant(token: str) -> Any:
    raise _NonJsonConstant(token)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _outside_strings(text: str, pattern: re.Pattern[str]) -> int | None:
    """Offset of the first match of PATTERN that is not inside a JSON string (None when absent)."""
    i, n, in_string = 0, len(text), False
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        else:
            match = pattern.match(text, i)
            if match:
                return i
        i += 1
    return None


def _string_end(text: str, start: int) -> int:
    """The offset just past the JSON string that opens at START (the end of TEXT when it is not closed)."""
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    return n


def _duplicate_key_offset(text: str, key: str) -> int | None:
    """Where the second occurrence of KEY within one object starts (scanned again, slowly, only on error).

    The object is the first to end that repeats KEY: objects end, and are reported by the parser, inner
    before outer and in text order otherwise.
    """
    # one entry per open object (its keys so far, the offset of KEY's repeat) or array (None)
    stack: list[tuple[set[str], list[int]] | None] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            top = stack[-1] if stack else None
            if top is not None:
                j = end
                while j < n and text[j] in " \t\r\n":
                    j += 1
                if j < n and text[j] == ":":
                    keys, repeats = top
                    name = json.loads(text[i:end])
                    if name == key and name in keys and not repeats:
                        repeats.append(i)
                    keys.add(name)
            i = end
            continue
        if ch == "{":
            stack.append((set(), []))
        elif ch == "[":
            stack.append(None)
        elif ch in "}]" and stack:
            closed = stack.pop()
            if closed is not None and closed[1]:
                return closed[1][0]
        i += 1
    return None


def parse_document(text: str, source: str = "<document>") -> dict[str, Any]:
    """Parse TEXT as one JSON object; raise UnusableInput naming SOURCE, line and column otherwise."""
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        offset = _duplicate_key_offset(text, exc.key)
        where = " at line {} column {}".format(*_line_col(text, offset)) if offset is not None else ""
        raise UnusableInput(f"{source}: not valid JSON: duplicate key {exc.key!r}{where}") from None
    except _NonJsonConstant as exc:
        offset = _outside_strings(text, re.compile(re.escape(exc.token)))
        where = " at line {} column {}".format(*_line_col(text, offset)) if offset is not None else ""
        raise UnusableInput(f"{source}: not valid JSON: {exc.token} is not a JSON number{where}") from None
    except json.JSONDecodeError as exc:
        raise UnusableInput(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise UnusableInput(f"{source}: not usable JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise UnusableInput(f"{source}: $: found {json_type(doc)}; expected a JSON object")
    return doc


def load_document(path: str | Path) -> dict[str, Any]:
    """Read the JSON object in PATH; raise UnusableInput when it is missing, unreadable or not a JSON object."""
    path = Path(path)
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()  # - is standard input
    except FileNotFoundError:
        raise UnusableInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnusableInput(f"{path}: is a directory, not a JSON file") from None
    except OSError as exc:
        raise UnusableInput(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnusableInput(f"{path}: not valid JSON: not UTF-8 text (byte offset {exc.start})") from None
    return parse_document(text, str(path))
