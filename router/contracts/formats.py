"""The JSON Schema `format` checks of the contracts, as plain functions (no jsonschema import).

The compiled validator (router.bundle_input.FastValidator) calls these for every value whose schema
names a format; the contracts package registers the very same functions with jsonschema's
FormatChecker (router.contracts.schemas.FORMAT_CHECKER), so both validators give one verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def check_date_time(value: object) -> bool:
    """RFC 3339 date-time: False for a wrong shape; ValueError for an impossible date (2026-02-30).
    Any value that is not a string conforms (the schema's `type` judges it)."""
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


# format name -> its check; a check returns False or raises ValueError when the value does not conform
CHECKS: Mapping[str, Callable[[object], bool]] = MappingProxyType({"date-time": check_date_time})


def conforms(value: object, name: str) -> bool:
    """Whether VALUE conforms to format NAME (an unknown format accepts everything, as in jsonschema)."""
    check = CHECKS.get(name)
    if check is None:
        return True
    try:
        return check(value)
    except ValueError:
        return False
