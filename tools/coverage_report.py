"""Summarise `opa test --coverage --format json` output: total coverage and the least-covered files.

Usage: python3 tools/coverage_report.py build/rego-coverage.json THRESHOLD
Exit 1 when coverage is below THRESHOLD percent.
"""

from __future__ import annotations

import json
import sys


def main(path: str, threshold: float) -> int:
    report = json.load(open(path, encoding="utf-8"))
    total = float(report.get("coverage", 0.0))
    files = report.get("files", {})
    worst = sorted(((float(v.get("coverage", 0.0)), k) for k, v in files.items()))[:5]
    print(f"rego coverage: {total:.2f} % (threshold {threshold:g} %)")
    for cov, name in worst:
        if cov < 100:
            not_covered = files[name].get("not_covered", [])
            lines = ",".join(f"{r['start']['row']}-{r['end']['row']}" for r in not_covered[:8])
            print(f"  {cov:6.2f} %  {name}  uncovered lines {lines}")
    return 0 if total >= threshold else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
