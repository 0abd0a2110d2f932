"""Shared pieces of policy-data assembly: the error type and keyed views of id-carrying arrays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class PolicyDataError(ValueError):
    """A source document cannot be assembled (names the file and what is wrong)."""


def keyed(items: Any, key: str, source: Path, where: str) -> dict[str, dict[str, Any]]:
    """Index an array of objects by their `key` field, rejecting missing and duplicate ids."""
    if not isinstance(items, list):
        raise PolicyDataError(f"{source}: $.{where}: expected an array")
    out: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        ident = item.get(key) if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident:
            raise PolicyDataError(f"{source}: $.{where}[{i}].{key}: expected a non-empty string id")
        if ident in out:
            raise PolicyDataError(f"{source}: $.{where}[{i}].{key}: duplicate id {ident!r}")
        out[ident] = item
    return out


def write_data_root(out_dir: Path, root: str, value: Any) -> Path:
    """Write VALUE as OUT_DIR/ROOT/data.json, the layout OPA mounts at data.ROOT; atomic; return the path."""
    target = out_dir / root / "data.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, sort_keys=True, separators=(",", ":")), encoding="utf-8")
    tmp.replace(target)
    return target
