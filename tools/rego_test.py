"""Run `opa test` once over the policies, with coverage, and report readably (make rego-test).

- Green: the per-package and total coverage report (tools/coverage_report.py); the coverage JSON is
  written to OUT.
- Failing tests: every failing test with its file:line, then, for those tests only, OPA's own
  expected/actual explanation (`opa test --var-values --run <the failing tests>`), and how many failed.
- A module that does not compile: every error with its file:line; a call to a built-in the capabilities
  file leaves out is reported as not allowed by that file (not as OPA's "undefined function").

Usage: python3 tools/rego_test.py --opa OPA --capabilities CAPS --out COVERAGE_JSON
                                  [--total 95] [--package 90] PATH...
Exit 0 when every test passes and every coverage threshold holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import coverage_report  # noqa: E402

TIMEOUT = "120s"
# `<file>:<row>:` then `data.<pkg>.<test>: FAIL|ERROR (...)` in OPA's pretty report
FAILED_RE = re.compile(r"^(?P<file>\S+\.rego):(?P<row>\d+):\n(?P<name>data\.\S+): (?P<status>FAIL|ERROR)", re.MULTILINE)
COMPILE_RE = re.compile(r"(?:^|\s)(?P<where>[^\s:]+\.rego:\d+): (?P<kind>rego_\w+_error): (?P<msg>.*)$", re.MULTILINE)
UNDEFINED_RE = re.compile(r"undefined function (?P<name>[\w.]+)")


def denied_builtins(opa: str, capabilities: Path) -> dict[str, str]:
    """Built-ins the pinned OPA has and the capabilities file leaves out, with the reason when known."""
    allowed = {b["name"] for b in json.loads(capabilities.read_text(encoding="utf-8")).get("builtins", [])}
    current = subprocess.run([opa, "capabilities", "--current"], capture_output=True, text=True, check=False)
    try:
        every = {b["name"] for b in json.loads(current.stdout).get("builtins", [])}
    except json.JSONDecodeError:
        every = set()
    reasons: dict[str, str] = {}
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from make_capabilities import DENIED_BUILTINS  # type: ignore[import-not-found]

        reasons = dict(DENIED_BUILTINS)
    except Exception:  # noqa: BLE001 - the reasons are a courtesy; the check itself does not need them
        pass
    return {name: reasons.get(name, "") for name in every - allowed}


def compile_errors(output: str, opa: str, capabilities: Path) -> list[str]:
    denied: dict[str, str] | None = None
    out = []
    for m in COMPILE_RE.finditer(output):
        msg = m.group("msg")
        undefined = UNDEFINED_RE.search(msg)
        if undefined:
            denied = denied if denied is not None else denied_builtins(opa, capabilities)
            name = undefined.group("name")
            if name in denied:
                why = f" ({denied[name]})" if denied[name] else ""
                msg = f"built-in `{name}` is not allowed by {capabilities}{why}; policies may call only what it lists"
        out.append(f"{m.group('where')}: {msg}")
    return out


def count_tests(paths: list[str]) -> int:
    """Test rules (`test_...`) in the test modules under PATHS (what opa test runs)."""
    names = set()
    for base in map(Path, paths):
        for module in [base] if base.is_file() else base.rglob("*_test.rego"):
            text = module.read_text(encoding="utf-8")
            package = re.search(r"^package\s+(\S+)", text, re.MULTILINE)
            for m in re.finditer(r"^(test_\w+)", text, re.MULTILINE):
                names.add(f"{package.group(1) if package else ''}.{m.group(1)}")
    return len(names)


def run_tests(args: argparse.Namespace) -> int:
    caps = Path(args.capabilities)
    cmd = [args.opa, "test", "--timeout", TIMEOUT, "--capabilities", str(caps), "--coverage", "--format", "json", *args.paths]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode == 0:
        report = json.loads(proc.stdout)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report), encoding="utf-8")
        lines, ok = coverage_report.summarise(report, args.total, args.package)
        print(f"opa test: every test passed ({count_tests(args.paths)} tests)")
        print("\n".join(lines))
        return 0 if ok else 1
    errors = compile_errors(output, args.opa, caps)
    if errors:
        print("\n".join(errors))
        print(f"opa test: {len(errors)} error(s): the policies do not compile, no test ran")
        return 1
    failed = {m.group("name"): (m.group("file"), m.group("row"), m.group("status")) for m in FAILED_RE.finditer(output)}
    if not failed:
        if proc.returncode != 0 and "coverage threshold" not in output:
            print(output.strip())
            print("opa test: failed (see above)")
        return 1
    for name, (file, row, status) in failed.items():
        print(f"{file}:{row}: {name}: {status}")
    print()
    print("expected/actual (opa test --var-values, the failing tests only):")
    names = "|".join(re.escape(n) for n in failed)
    detail = subprocess.run(
        [args.opa, "test", "--timeout", TIMEOUT, "--capabilities", str(caps), "--var-values", "--run", f"^({names})$", *args.paths],
        capture_output=True, text=True, check=False,
    )
    text = detail.stdout + detail.stderr
    start = text.find("FAILURES\n")
    body = text[start + len("FAILURES\n"):] if start >= 0 else text
    print("\n".join(line for line in body.splitlines() if not line.startswith("-" * 20)).rstrip())
    print(f"opa test: {len(failed)} test(s) failed")
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opa", required=True)
    parser.add_argument("--capabilities", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--total", type=float, default=95.0)
    parser.add_argument("--package", type=float, default=coverage_report.DEFAULT_PACKAGE_THRESHOLD)
    parser.add_argument("paths", nargs="+")
    return run_tests(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
