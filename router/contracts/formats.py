"""The string formats the schemas use, checked without jsonschema: one definition for the contracts
package's jsonschema FormatChecker (router.contracts.schemas) and the compiled validators of the
decision path (router.bundle_input), which must not import jsonschema to say yes.

Only `date-time` is checked (RFC 3339, a real calendar date); any other format name conforms, as
with the contracts package's FormatChecker(formats=()).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def is_rfc3339(value: object) -> bool:
    """Whether VALUE (when a string) is an RFC 3339 date-time; raises ValueError for an impossible date
    (2026-02-30), as a jsonschema format check may."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper())  # raises ValueError for 2026-02-30
    return True


FORMATS: dict[str, Callable[[object], bool]] = {"date-time": is_rfc3339}


def conforms(value: object, name: str) -> bool:
    """Whether VALUE conforms to the format NAME (a format not checked here always does)."""
    check = FORMATS.get(name)
    if check is None:
        return True
    try:
        return check(value)
    except ValueError:
        return False
