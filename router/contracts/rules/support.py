"""Small helpers the semantic rules share: lane ranks, flag checks, id uniqueness, declared lanes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from router.contracts.jsonpath import MISSING, get, items, show
from router.contracts.rules.registry import Finding, Parts

LANES = ("no-model", "local-cheap", "cheap", "standard", "high-end", "pro")
LANE_RANK = {lane: rank for rank, lane in enumerate(LANES)}
PREMIUM_LANES = ("high-end", "pro")
HOSTED_LANES = ("cheap", "standard", "high-end", "pro")
GUARDRAIL_ABI = "sourceos.guardrail.decision.v0.1"


def expect_equal(
    doc: dict[str, Any], parts: Parts, wanted: Any, *, required: bool = False, expected: str | None = None
) -> Iterator[Finding]:
    """A finding when the value at PARTS is not WANTED.

    An absent value is reported only when REQUIRED (the rule needs a field the schema leaves
    optional); a value of another JSON type than WANTED is left to the schema.
    """
    value = get(doc, *parts)
    if value is MISSING:
        if required and _parent_exists(doc, parts):
            yield Finding(parts, show(value), expected or show(wanted))
        return
    if type(value) is not type(wanted):
        return
    if value != wanted:
        yield Finding(parts, show(value), expected or show(wanted))


def expect_true(doc: dict[str, Any], base: Parts, names: Iterable[str], *, required: Iterable[str] = ()) -> Iterator[Finding]:
    """A finding for each boolean NAME under BASE that is not true (absent counts when in REQUIRED)."""
    required = set(required)
    for name in names:
        yield from expect_equal(doc, (*base, name), True, required=name in required)


def _parent_exists(doc: dict[str, Any], parts: Parts) -> bool:
    return isinstance(get(doc, *parts[:-1]), dict)


def lane_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value in LANE_RANK else None


def entries_by_id(doc: dict[str, Any], array: Parts, key: str) -> dict[str, tuple[int, dict[str, Any]]]:
    """First entry per id of the object array at ARRAY, keyed by its KEY field."""
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, entry in items(doc, *array):
        ident = entry.get(key)
        if isinstance(ident, str) and ident not in out:
            out[ident] = (i, entry)
    return out


def duplicate_ids(doc: dict[str, Any], array: Parts, key: str) -> Iterator[Finding]:
    """A finding for every entry of ARRAY whose KEY repeats an earlier entry's."""
    first: dict[str, int] = {}
    for i, entry in items(doc, *array):
        ident = entry.get(key)
        if not isinstance(ident, str):
            continue
        if ident in first:
            yield Finding(
                (*array, i, key),
                show(ident),
                f"a {key} not used before (already used at index {first[ident]})",
            )
        else:
            first[ident] = i


def missing_ids(doc: dict[str, Any], array: Parts, key: str, wanted: Iterable[str], what: str) -> Iterator[Finding]:
    """A finding on ARRAY for each id in WANTED that no entry declares."""
    if not isinstance(get(doc, *array), list):
        return
    present = entries_by_id(doc, array, key)
    for ident in wanted:
        if ident not in present:
            yield Finding(array, f"no {what} {ident!r}", f"an entry with {key} {ident!r}")


def missing_members(doc: dict[str, Any], array: Parts, wanted: Iterable[str], what: str) -> Iterator[Finding]:
    """A finding on the string array ARRAY for each value of WANTED it lacks."""
    values = get(doc, *array)
    if not isinstance(values, list):
        return
    for ident in wanted:
        if ident not in values:
            yield Finding(array, f"no {what} {ident!r}", f"{ident!r} among the values")
