"""What a validation run reports: violations of a document, and input that cannot be checked at all."""

from __future__ import annotations

from dataclasses import dataclass


class UnusableInput(Exception):
    """The input cannot be checked: missing file, not JSON, not an object, unknown kind (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Violation:
    """One thing wrong with a document.

    ``path`` is a JSON path into the document (``$.taskClasses[3].defaultLane``); ``rule`` is ``schema``
    for a JSON Schema error, ``input`` for input that cannot be used at all (size, encoding, nesting,
    duplicate keys, ...), otherwise the stable id of the semantic rule that failed.
    """

    file: str
    path: str
    found: str
    expected: str
    rule: str = "input"

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: found {self.found}; expected {self.expected}"

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "found": self.found, "expected": self.expected, "rule": self.rule}
