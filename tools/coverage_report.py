"""Rego coverage per package and in total, from `opa test --coverage --format json`.

A package is a folder of policies (one concern per package, package path = folder). Its coverage is
the covered share of the lines of its modules (test modules excluded: they are what covers). Each
package must reach PACKAGE_THRESHOLD percent and the total (OPA's figure, every loaded module) must reach
TOTAL_THRESHOLD percent. Every module is listed with its coverage; for a package under its threshold
every uncovered line of its modules is listed, so the missing tests are easy to find.

Usage: python3 tools/coverage_report.py build/rego-coverage.json TOTAL_THRESHOLD [PACKAGE_THRESHOLD]
Exit 1 when the total or any package is under its threshold.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import PurePosixPath

DEFAULT_PACKAGE_THRESHOLD = 90.0


@dataclass
class Package:
    folder: str
    files: dict[str, dict] = field(default_factory=dict)

    @property
    def covered(self) -> int:
        return sum(_count(f, "covered") for f in self.files.values())

    @property
    def not_covered(self) -> int:
        return sum(_count(f, "not_covered") for f in self.files.values())

    @property
    def coverage(self) -> float:
        total = self.covered + self.not_covered
        return 100.0 if total == 0 else 100.0 * self.covered / total


def _count(entry: dict, kind: str) -> int:
    """Lines in a file's covered / not_covered ranges (OPA gives ranges of rows)."""
    rows = set()
    for r in entry.get(kind) or []:
        rows.update(range(r["start"]["row"], r["end"]["row"] + 1))
    return len(rows)


def uncovered_rows(entry: dict) -> list[str]:
    """The uncovered rows of a file as compact ranges: ["3", "5-6"]."""
    rows = sorted({row for r in entry.get("not_covered") or [] for row in range(r["start"]["row"], r["end"]["row"] + 1)})
    spans: list[list[int]] = []
    for row in rows:
        if spans and row == spans[-1][1] + 1:
            spans[-1][1] = row
        else:
            spans.append([row, row])
    return [str(a) if a == b else f"{a}-{b}" for a, b in spans]


def packages(report: dict) -> dict[str, Package]:
    out: dict[str, Package] = {}
    for name, entry in sorted(report.get("files", {}).items()):
        if name.endswith("_test.rego"):
            continue
        folder = str(PurePosixPath(name).parent)
        out.setdefault(folder, Package(folder)).files[name] = entry
    return out


def summarise(report: dict, total_threshold: float, package_threshold: float) -> tuple[list[str], bool]:
    """The report lines and whether every threshold holds."""
    lines: list[str] = []
    ok = True
    pkgs = packages(report)
    for pkg in pkgs.values():
        under = pkg.coverage < package_threshold
        ok &= not under
        mark = f"  UNDER the package threshold {package_threshold:g} %" if under else ""
        lines.append(f"{pkg.coverage:6.2f} %  package {pkg.folder}{mark}")
        for name, entry in pkg.files.items():
            cov = float(entry.get("coverage", 0.0 if entry.get("not_covered") else 100.0))
            detail = ""
            if entry.get("not_covered") and (under or cov < 100):
                detail = "  uncovered lines " + ",".join(uncovered_rows(entry))
            lines.append(f"    {cov:6.2f} %  {name}{detail}")
    total = float(report.get("coverage", 0.0))
    total_ok = total >= total_threshold
    ok &= total_ok
    failing = [p.folder for p in pkgs.values() if p.coverage < package_threshold]
    lines.append(
        f"rego coverage: total {total:.2f} % (threshold {total_threshold:g} %{'' if total_ok else ': UNDER'}); "
        f"{len(pkgs)} packages, each >= {package_threshold:g} %"
        + (f": {len(failing)} under it: {', '.join(failing)}" if failing else "")
    )
    return lines, ok


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        report = json.load(fh)
    package_threshold = float(argv[3]) if len(argv) > 3 else DEFAULT_PACKAGE_THRESHOLD
    lines, ok = summarise(report, float(argv[2]), package_threshold)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
