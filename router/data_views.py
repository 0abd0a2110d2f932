"""Shared pieces of policy-data assembly: the error type and keyed views of id-carrying arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class PolicyDataError(ValueError):
    """A source document cannot be assembled (names the file and what is wrong)."""


def keyed(items: Any, key: str, source: Path, where: str) -> dict[str, dict]:
    """Index an array of objects by their `key` field, rejecting missing and duplicate ids."""
    if not isinstance(items, list):
        raise PolicyDataError(f"{source}: $.{where}: expected an array")
    out: dict[str, dict] = {}
    for i, item in enumerate(items):
        ident = item.get(key) if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident:
            raise PolicyDataError(f"{source}: $.{where}[{i}].{key}: expected a non-empty string id")
        if ident in out:
            raise PolicyDataError(f"{source}: $.{where}[{i}].{key}: duplicate id {ident!r}")
        out[ident] = item
    return out
