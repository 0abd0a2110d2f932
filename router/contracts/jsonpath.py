"""JSON paths (``$.taskClasses[3].defaultLane``) and short, readable renderings of JSON values."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_SHOWN = 80


class _Missing:
    """The value at a path that does not exist."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def json_path(parts: Iterable[str | int]) -> str:
    """Render path PARTS as a JSON path: $, $.a, $.a[3].b, $['odd key']."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}")
        else:
            out.append("[" + json.dumps(part, ensure_ascii=False).replace('"', "'") + "]")
    return "".join(out)


def json_type(value: Any) -> str:
    """The JSON type of VALUE with its article: an object, an array, a string, a number, true, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def show(value: Any) -> str:
    """VALUE as compact JSON, shortened when long; MISSING reads as 'no value (field absent)'."""
    if value is MISSING:
        return "no value (field absent)"
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return text


def get(doc: Any, *parts: str | int) -> Any:
    """The value at PARTS in DOC, or MISSING when any step is absent or of the wrong container type."""
    cur = doc
    for part in parts:
        if isinstance(part, int):
            if not isinstance(cur, list) or not -len(cur) <= part < len(cur):
                return MISSING
        elif not isinstance(cur, dict) or part not in cur:
            return MISSING
        cur = cur[part]
    return cur


def items(doc: Any, *parts: str | int) -> list[tuple[int, dict[str, Any]]]:
    """(index, entry) for each object entry of the array at PARTS (non-objects and non-arrays skipped)."""
    seq = get(doc, *parts)
    if not isinstance(seq, list):
        return []
    return [(i, entry) for i, entry in enumerate(seq) if isinstance(entry, dict)]
