"""The wheel is self-contained: built from the sdist, installed into a fresh virtual environment in a
temporary folder outside the checkout, it finds its policies, schemas, policy data and examples in
the installed package, builds the pinned OPA with `install-opa` (Go is stood in for by a script that
checks the `go install` command and places the pinned binary), and decides, validates, explains and
verifies receipts there with the pinned OPA.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from golden.golden_decisions import RECORDED, without_identity
from installed import InstalledEnv, build_and_install

from router import bundle as bundle_mod
from router import opa_binary, paths

PINNED_OPA = paths.CHECKOUT_ROOT / ".tools" / "bin" / "opa"
BUNDLE = "agent-architecture-escalated"  # selected high-end only with approval tokens valid at the evaluation time


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> InstalledEnv:
    started = time.monotonic()
    env = build_and_install(tmp_path_factory.mktemp("wheel"))
    print(f"\nwheel built from the sdist and installed in {time.monotonic() - started:.1f} s")
    return env


def fake_go(folder: Path) -> Path:
    """A `go` that accepts only `go install github.com/open-policy-agent/opa@<pinned>` with GOBIN set and
    places the pinned OPA there (the real build takes minutes and needs the module proxy)."""
    folder.mkdir(parents=True, exist_ok=True)
    go = folder / "go"
    go.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = install ] && [ "$2" = "{opa_binary.OPA_MODULE}@{opa_binary.pinned_version()}" ] && [ -n "$GOBIN" ] '
        f'|| {{ echo "unexpected: go $*" >&2; exit 9; }}\n'
        f'mkdir -p "$GOBIN" && ln -sf "{PINNED_OPA}" "$GOBIN/opa"\n',
        encoding="utf-8",
    )
    go.chmod(0o755)
    return go


def test_the_installed_wheel_decides_outside_the_checkout(installed: InstalledEnv):
    t0 = time.monotonic()
    # the package and its data come from the new environment, not from the checkout
    probe = installed.run(
        "python", "-c",
        "import json, router, router.paths as p; print(json.dumps({'module': router.__file__, **p.describe()}))",
    )
    assert probe.returncode == 0, probe.stderr.decode()
    where = json.loads(probe.stdout)
    assert where["layout"] == "installed"
    for key in ("module", "root", "policies", "schemas", "examples"):
        assert Path(where[key]).is_relative_to(installed.venv), (key, where[key])
        assert not Path(where[key]).is_relative_to(paths.CHECKOUT_ROOT), (key, where[key])
    assert Path(where["build"]).is_relative_to(installed.home / "cache")
    assert Path(where["toolsBin"]).is_relative_to(installed.home / "data")
    examples = Path(where["examples"])
    assert not list(Path(where["policies"]).rglob("*_test.rego"))  # Rego tests stay in the checkout

    # no OPA yet: opa-path says so and names install-opa; install-opa builds the pinned one with Go
    missing = installed.run("model-router", "opa-path")
    assert missing.returncode == 1 and b"model-router install-opa" in missing.stderr, missing.stderr.decode()
    no_go = installed.run("model-router", "install-opa")
    assert no_go.returncode == 1 and b"Go is required" in no_go.stderr
    tools = installed.base / "go-bin"
    fake_go(tools)
    with_go = installed.env(PATH=f"{installed.bin}:{tools}:/usr/bin:/bin")
    built = installed.run("model-router", "install-opa", env=with_go)
    assert built.returncode == 0, built.stderr.decode()
    opa = Path(built.stdout.decode().strip())
    assert opa == Path(where["toolsBin"]) / "opa" and b"built OPA" in built.stderr
    again = installed.run("model-router", "install-opa", env=with_go)
    assert again.returncode == 0 and b"already installed" in again.stderr
    found = installed.run("model-router", "opa-path", "--json")
    assert found.returncode == 0, found.stderr.decode()
    report = json.loads(found.stdout)
    assert (report["path"], report["source"], report["version"]) == (str(opa), "pinned-build", opa_binary.pinned_version())

    # decide an example bundle carried in the package: policy data and bundle are built in the user cache
    bundle = examples / "bundles" / f"{BUNDLE}.json"
    expected = json.loads((examples / "bundles" / f"{BUNDLE}.expected.json").read_text(encoding="utf-8"))
    receipts = installed.base / "receipts"
    decided = installed.run("model-router", "decide", str(bundle), "--receipts-dir", str(receipts))
    assert decided.returncode == 0, decided.stderr.decode()
    decision = json.loads(decided.stdout)
    assert (decision["selected"]["status"], decision["selected"]["lane"]) == (expected["status"], expected["lane"])
    # exactly the decision the checkout records for this bundle (run identity aside)
    golden = json.loads(RECORDED.read_text(encoding="utf-8"))[f"{BUNDLE}.json"]["decision"]
    assert without_identity(decision) == golden
    # under the very policy revision the checkout builds: same carried policies and data, same digest
    assert decision["policyRevision"] == bundle_mod.ensure_bundle().revision
    assert (installed.home / "cache" / "model-router" / "build" / "bundle.tar.gz").is_file()

    # the same decision from standard input, outside any checkout
    piped = installed.run("model-router", "decide", "-", "--no-receipts", input=bundle.read_bytes())
    assert piped.returncode == 0 and without_identity(json.loads(piped.stdout)) == golden

    # validate: one file, and every example the package carries
    one = installed.run("model-router", "validate", str(bundle))
    assert one.returncode == 0, one.stdout.decode() + one.stderr.decode()
    every = installed.run("model-router", "validate")
    assert every.returncode == 0, every.stdout.decode()[-2000:] + every.stderr.decode()[-2000:]

    # explain, recording its receipt in the same log; then the log verifies
    explained = installed.run("model-router", "explain", str(bundle), "--json", "--receipts-dir", str(receipts))
    assert explained.returncode == 0, explained.stderr.decode()
    assert without_identity(json.loads(explained.stdout)["decision"]) == golden
    verified = installed.run("model-router", "receipts", "verify", str(receipts), "--min-count", "1")
    assert verified.returncode == 0, verified.stdout.decode() + verified.stderr.decode()
    assert b"ok" in verified.stdout

    # the remote-engine recipe from the installed package: its pinned OPA, its bundle, its authorization policy
    state = installed.base / "serve"
    printed = installed.run("model-router", "serve-bundle", "--print", "--state-dir", str(state), "--addr", "127.0.0.1:8181")
    assert printed.returncode == 0, printed.stderr.decode()
    cmd = printed.stdout.decode().split()
    assert cmd[0] == str(opa) and cmd[-2:] == [str(state / "bundle.tar.gz"), str(state / "authz" / "authz-bundle")]
    assert bundle_mod.verify(state / "bundle.tar.gz") == decision["policyRevision"]
    served_authz = state / "authz" / "authz-bundle" / "system" / "authz.rego"
    assert served_authz.read_bytes() == (Path(where["policies"]) / "system" / "authz" / "authz.rego").read_bytes()
    print(f"installed-package commands in {time.monotonic() - t0:.1f} s")


def test_an_opa_on_path_is_used_only_at_the_pinned_version(installed: InstalledEnv, tmp_path):
    on_path = tmp_path / "path-bin"
    on_path.mkdir()
    (on_path / "opa").write_text("#!/bin/sh\necho 'Version: 0.0.1'\n", encoding="utf-8")
    (on_path / "opa").chmod(0o755)
    env = installed.env(PATH=f"{installed.bin}:{on_path}:/usr/bin:/bin", XDG_DATA_HOME=str(tmp_path / "no-data"))
    other = installed.run("model-router", "opa-path", env=env)
    assert other.returncode == 1
    assert f"expected OPA {opa_binary.pinned_version()}".encode() in other.stderr and b"found v0.0.1" in other.stderr
    (on_path / "opa").unlink()
    os.symlink(PINNED_OPA, on_path / "opa")
    pinned = installed.run("model-router", "opa-path", env=env)
    assert pinned.returncode == 0, pinned.stderr.decode()
    assert pinned.stdout.decode().strip() == str(on_path / "opa") and b"opa-path: path:" in pinned.stderr
    explicit = installed.run("model-router", "opa-path", env={**env, "MODEL_ROUTER_OPA": str(PINNED_OPA)})
    assert explicit.stdout.decode().strip() == str(PINNED_OPA) and b"opa-path: explicit:" in explicit.stderr
