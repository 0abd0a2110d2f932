"""`from router import Router, Decision, InvalidBundle` gives type checkers the real classes (not
`Any` through a module __getattr__), and the package says it is typed (py.typed)."""

from __future__ import annotations

import subprocess
import sys

from router import paths

PROBE = '''
from router import Decision, InvalidBundle, Router


def check(router: Router, decision: Decision, error: InvalidBundle) -> None:
    router.decide_many([], on_invalid="skip")
    decision.no_such_property
    error.violations.no_such_method()
    ok: list[Decision] = router.decide_many([], on_invalid="decision")
'''


def test_the_package_is_marked_typed():
    assert (paths.ROOT / "router" / "py.typed").is_file()


def test_checkers_see_the_real_public_types(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", str(probe)],
        capture_output=True, text=True, cwd=paths.ROOT, timeout=600, check=False,
    )
    found = [line.split(": error: ", 1)[1] for line in done.stdout.splitlines() if line.startswith(str(probe)) and ": error: " in line]
    # each misuse is caught, which only happens when the names carry their real types
    assert any('"on_invalid" to "decide_many" of "Router"' in e for e in found), done.stdout
    assert any('"Decision" has no attribute "no_such_property"' in e for e in found), done.stdout
    assert any('"list[Violation]" has no attribute "no_such_method"' in e for e in found), done.stdout
    assert len(found) == 3, done.stdout  # and the correct use is accepted
