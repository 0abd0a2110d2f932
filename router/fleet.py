"""A fleet on one machine: nginx as bundle server, N OPA replicas, a decision-log collector (deploy/).

`model-router fleet up` (or `Fleet(...).up()`) starts, all on loopback:

* **nginx** (from the system packages) serving `<folder>/www/bundles/` read-only with the server block
  of deploy/nginx/bundle-server.conf.in;
* **the decision-log collector** (`python -m router.fleet collector`, below): a small HTTP endpoint that
  accepts OPA's decision-log uploads (`POST /logs`, gzip JSON arrays) and status reports
  (`POST /status`) and appends each decision to `decision-logs.jsonl` beside the receipt log;
* **N OPA replicas**, each `opa run --server --addr 127.0.0.1:<port> --config-file
  deploy/opa/opa-config.yaml` with the bundle server, collector and verification key set on the
  command line: they poll the bundle server, activate only bundles signed with the fleet's key, report
  status and ship masked decision logs.

The bundles are the project bundle (router.bundle) and the decision-log mask (policies/system/log), both
signed with `opa sign` (router.bundle.sign). `publish()` replaces a bundle on the server atomically;
every replica activates it within one polling interval (deploy/opa/opa-config.yaml: at most 2 s).

`fleet.json` in the folder records each process (pid and start time), so `fleet status` and `fleet down`
work from another process; `down` stops only processes whose pid and start time still match. A fleet
started by a test (`attached=True`) also dies with the process that started it.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from router import bundle as bundle_mod
from router import opa_binary, paths
from router.opa_client import BUNDLES_PATH, bundle_manifests
from router.opa_http import Channel, ChannelError
from router.opa_process import LAUNCHER, free_port, kill_process_group, process_start
from router.opa_supervisor import managed_opa_env

DEPLOY = paths.ROOT / "deploy"
OPA_CONFIG = DEPLOY / "opa" / "opa-config.yaml"
NGINX_TEMPLATE = DEPLOY / "nginx" / "bundle-server.conf.in"
MASK_POLICY = paths.POLICIES / "system" / "log" / "log.rego"
POLICY_BUNDLE_NAME = "model-router.tar.gz"
MASK_BUNDLE_NAME = "decision-log-mask.tar.gz"
STATE_FILE = "fleet.json"
DECISION_LOG_NAME = "decision-logs.jsonl"
POLL_INTERVAL_MAX_S = 2  # deploy/opa/opa-config.yaml: bundles.*.polling.max_delay_seconds
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
SHUTDOWN_GRACE_S = 5  # opa run --shutdown-grace-period: time to finish requests and ship buffered decision logs
STOP_GRACE_S = SHUTDOWN_GRACE_S + 5


class FleetError(RuntimeError):
    """The fleet could not be started, changed or stopped (names the process and its own message)."""


def find_nginx() -> Path:
    for candidate in (os.environ.get("MODEL_ROUTER_NGINX"), shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise FleetError("nginx not found (expected /usr/sbin/nginx or nginx on PATH, or MODEL_ROUTER_NGINX); "
                     "`make fleet-deps` installs it from the system packages (apt-get install nginx-light)")


def generate_signing_key(folder: Path) -> tuple[Path, Path]:
    """A new RSA-2048 bundle-signing key pair: (private key, 0600; public key) as PEM in FOLDER."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = folder / "bundle-signing.pem", folder / "bundle-verify.pem"
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def public_key_of(private_key: Path) -> bytes:
    key = serialization.load_pem_private_key(Path(private_key).read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def build_mask_bundle(out: Path, opa: Path | None = None) -> Path:
    """The decision-log mask (policies/system/log) as a bundle of its own (root system/log), unsigned."""
    bundle_mod.build_from_files([("system/log/log.rego", MASK_POLICY.read_bytes())], out, roots=("system/log",), opa=opa)
    return out


def served_revisions(url: str, timeout_s: float = 1.0) -> dict[str, str] | None:
    """{bundle name: revision} that the OPA at URL has activated; None when it does not answer."""
    channel = Channel(url)
    try:
        body = channel.get_json(BUNDLES_PATH, timeout_s)
    except ChannelError:
        return None
    finally:
        channel.close()
    return bundle_manifests(body.get("result") if isinstance(body, dict) else None)


class Fleet:
    """Bundle server + collector + N replicas in FOLDER (see the module docstring)."""

    def __init__(self, folder: Path, *, replicas: int = 3, receipts_dir: Path | None = None, attached: bool = True,
                 opa: Path | None = None, nginx: Path | None = None, signing_key: Path | None = None,
                 startup_timeout_s: float = 30.0) -> None:
        if not 1 <= replicas <= 16:
            raise FleetError(f"replicas: expected 1 to 16, found {replicas}")
        self.folder = Path(folder).resolve()
        self.n = replicas
        self.receipts_dir = Path(receipts_dir).resolve() if receipts_dir else self.folder / "receipts"
        self.attached = attached
        self.opa = opa
        self.nginx = nginx
        self.signing_key = Path(signing_key).resolve() if signing_key else None
        self.startup_timeout_s = startup_timeout_s
        self.state: dict[str, Any] = {"processes": {}, "ports": {}}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- paths ---------------------------------------------------------------------------
    @property
    def www(self) -> Path:
        return self.folder / "www" / "bundles"

    @property
    def keys(self) -> Path:
        return self.folder / "keys"

    @property
    def verification_key(self) -> Path:
        return self.keys / "bundle-verify.pem"

    @property
    def decision_log(self) -> Path:
        return self.receipts_dir / DECISION_LOG_NAME

    def replica_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.state['ports'][f'replica-{i}']}"

    @property
    def urls(self) -> list[str]:
        return [self.replica_url(i) for i in range(self.n)]

    @property
    def bundle_server_url(self) -> str:
        return f"http://127.0.0.1:{self.state['ports']['nginx']}"

    @property
    def collector_url(self) -> str:
        return f"http://127.0.0.1:{self.state['ports']['collector']}"

    # -- processes -----------------------------------------------------------------------
    def _spawn(self, role: str, cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(log, "ab") as fh:
            if self.attached:
                proc = LAUNCHER.popen(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, start_new_session=True, close_fds=True,
                                      env=env)
            else:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, start_new_session=True, close_fds=True,
                                        env=env)
        self._procs[role] = proc
        self.state["processes"][role] = {"pid": proc.pid, "start": process_start(proc.pid), "log": str(log)}
        self._save()
        return proc

    def _save(self) -> None:
        self.state.update(folder=str(self.folder), replicas=self.n, receipts_dir=str(self.receipts_dir))
        tmp = self.folder / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.folder / STATE_FILE)

    @classmethod
    def load(cls, folder: Path) -> Fleet:
        folder = Path(folder).resolve()
        try:
            state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FleetError(f"{folder / STATE_FILE}: no fleet recorded here ({type(exc).__name__})") from None
        fleet = cls(folder, replicas=int(state.get("replicas", 1)), receipts_dir=Path(state["receipts_dir"]), attached=False)
        fleet.state = state
        return fleet

    def _alive(self, role: str) -> bool:
        info = self.state["processes"].get(role)
        if not info:
            return False
        proc = self._procs.get(role)
        if proc is not None:
            return proc.poll() is None
        return info.get("start") is not None and process_start(info["pid"]) == info["start"]

    def _wait_http(self, role: str, url: str, path: str, log: Path) -> None:
        channel = Channel(url)
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            while True:
                if not self._alive(role):
                    raise FleetError(f"{role} exited during start-up: {_tail(log)}")
                try:
                    channel.request("GET", path, None, 1.0)
                    return
                except ChannelError:
                    pass
                if time.monotonic() > deadline:
                    raise FleetError(f"{role} did not answer {url}{path} within {self.startup_timeout_s:.0f} s: {_tail(log)}")
                time.sleep(0.05)
        finally:
            channel.close()

    def _stop_role(self, role: str, sig: int = signal.SIGTERM) -> None:
        info = self.state["processes"].get(role)
        proc = self._procs.pop(role, None)
        if proc is not None:
            if sig == signal.SIGKILL and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            # SIGTERM: OPA stops its listeners and uploads the decision logs it still buffers (bounded by
            # --shutdown-grace-period); SIGKILL only when it has not exited well after that
            kill_process_group(proc, grace_s=STOP_GRACE_S)
        elif info and info.get("start") is not None and process_start(info["pid"]) == info["start"]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(info["pid"], sig)
            deadline = time.monotonic() + STOP_GRACE_S
            while process_start(info["pid"]) == info["start"] and time.monotonic() < deadline:
                time.sleep(0.05)
            if process_start(info["pid"]) == info["start"]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(info["pid"], signal.SIGKILL)
        self.state["processes"].pop(role, None)
        self._save()

    # -- bundles -------------------------------------------------------------------------
    def publish(self, bundle_file: Path, name: str = POLICY_BUNDLE_NAME, *, sign: bool = True) -> str | None:
        """Put BUNDLE_FILE on the bundle server as NAME (signed with the fleet's key unless SIGN is false or
        it is signed already), by an atomic rename. Returns its revision (None for an unreadable archive)."""
        self.www.mkdir(parents=True, exist_ok=True)
        tmp = self.www / f".{name}.{os.getpid()}.tmp"
        if sign and not bundle_mod.is_signed(bundle_file):
            assert self.signing_key is not None
            bundle_mod.sign(bundle_file, self.signing_key, tmp, opa=self.opa)
        else:
            shutil.copyfile(bundle_file, tmp)
        os.chmod(tmp, 0o644)
        tmp.replace(self.www / name)
        return bundle_mod.revision_of(self.www / name)

    def _mask_bundle(self) -> Path:
        return build_mask_bundle(self.folder / "build" / MASK_BUNDLE_NAME, opa=self.opa)

    # -- lifecycle -----------------------------------------------------------------------
    def up(self, bundle_file: Path | None = None) -> Fleet:
        """Start everything and wait until every replica has activated both bundles."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        previous = Fleet.load(self.folder) if (self.folder / STATE_FILE).exists() else None
        if previous is not None and any(previous._alive(role) for role in previous.state["processes"]):
            raise FleetError(f"{self.folder}: a fleet is already running here (`model-router fleet down` first)")
        self.state = {"processes": {}, "ports": {}}
        try:
            if self.signing_key is None:
                self.signing_key, _ = generate_signing_key(self.keys)
            else:
                self.keys.mkdir(parents=True, exist_ok=True)
                self.verification_key.write_bytes(public_key_of(self.signing_key))
            self.state["signing_key"] = str(self.signing_key)
            if bundle_file is None:
                bundle_file = bundle_mod.ensure_bundle().path
            self.state["revision"] = self.publish(Path(bundle_file))
            self.publish(self._mask_bundle(), MASK_BUNDLE_NAME)
            self._start_nginx()
            self._start_collector()
            for i in range(self.n):
                self.start_replica(i)
        except BaseException:
            self.down()
            raise
        return self

    def _start_nginx(self) -> None:
        nginx = self.nginx or find_nginx()
        prefix = self.folder / "nginx"
        for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.state["ports"]["nginx"] = port
        user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.geteuid() == 0 else ""
        conf = (NGINX_TEMPLATE.read_text(encoding="utf-8")
                .replace("@USER@", user).replace("@PREFIX@", str(prefix))
                .replace("@ROOT@", str(self.www.parent)).replace("@LISTEN@", f"127.0.0.1:{port}"))
        (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
        log = prefix / "stderr.log"
        self._spawn("nginx", [str(nginx), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")], log)
        self._wait_http("nginx", self.bundle_server_url, f"/bundles/{POLICY_BUNDLE_NAME}", log)

    def _start_collector(self) -> None:
        port = free_port()
        self.state["ports"]["collector"] = port
        self.receipts_dir.mkdir(parents=True, exist_ok=True)
        log = self.folder / "collector.log"
        self._spawn("collector", [sys.executable, "-m", "router.fleet", "collector", "--port", str(port),
                                  "--out", str(self.receipts_dir)], log)
        self._wait_http("collector", self.collector_url, "/health", log)

    def start_replica(self, i: int) -> None:
        role = f"replica-{i}"
        if self._alive(role):
            raise FleetError(f"{role} is already running")
        opa = opa_binary.checked(self.opa) if self.opa else opa_binary.find_opa()
        port = self.state["ports"].get(role) or free_port()
        self.state["ports"][role] = port
        log = self.folder / f"{role}.log"
        cmd = [str(opa), "run", "--server", "--addr", f"127.0.0.1:{port}", "--config-file", str(OPA_CONFIG),
               "--set", f"services.bundles.url={self.bundle_server_url}",
               "--set", f"services.collector.url={self.collector_url}",
               "--set-file", f"keys.model_router_bundle.key={self.verification_key}",
               "--set", f"labels.replica={role}",
               "--optimize-store-for-read-speed",
               "--log-level", "error", "--skip-version-check", "--shutdown-grace-period", str(SHUTDOWN_GRACE_S)]
        self._spawn(role, cmd, log, env=managed_opa_env())  # the managed OPA's GC target (MANAGED_OPA_GOGC)
        self._wait_http(role, self.replica_url(i), "/health?bundles", log)

    def stop_replica(self, i: int, *, kill: bool = False) -> None:
        """Stop replica I: SIGTERM (OPA flushes its decision logs), or SIGKILL when KILL."""
        self._stop_role(f"replica-{i}", signal.SIGKILL if kill else signal.SIGTERM)

    def restart_replica(self, i: int) -> None:
        self.stop_replica(i)
        self.start_replica(i)

    def revisions(self) -> list[str | None]:
        """The model_router revision each replica serves (None: not answering)."""
        out = []
        for url in self.urls:
            served = served_revisions(url)
            out.append(served.get("model_router") if served else None)
        return out

    def wait_for_revision(self, revision: str, timeout_s: float) -> list[str | None]:
        deadline = time.monotonic() + timeout_s
        while True:
            current = self.revisions()
            if all(r == revision for r in current) or time.monotonic() > deadline:
                return current
            time.sleep(0.1)

    def status(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "bundle_server": self.bundle_server_url if "nginx" in self.state["ports"] else None,
            "collector": self.collector_url if "collector" in self.state["ports"] else None,
            "decision_log": str(self.decision_log),
            "published_revision": bundle_mod.revision_of(self.www / POLICY_BUNDLE_NAME) if (self.www / POLICY_BUNDLE_NAME).exists() else None,
            "processes": {role: {"pid": info["pid"], "running": self._alive(role)} for role, info in sorted(self.state["processes"].items())},
            "replicas": [
                {"url": self.replica_url(i), "running": self._alive(f"replica-{i}"),
                 "revision": (served_revisions(self.replica_url(i)) or {}).get("model_router") if self._alive(f"replica-{i}") else None}
                for i in range(self.n) if f"replica-{i}" in self.state["ports"]
            ],
        }

    def down(self) -> None:
        """Stop every process of the fleet (replicas first, so that they flush their decision logs)."""
        roles = sorted(self.state.get("processes", {}), key=lambda r: (not r.startswith("replica-"), r))
        for role in roles:
            self._stop_role(role)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


def _tail(path: Path, limit: int = 600) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[-limit:] or "(no output)"
    except OSError:
        return "(no output)"


# -------------------------------------------------------------------------------------------------
# the decision-log collector


class _Collector(BaseHTTPRequestHandler):
    server_version = "model-router-collector"
    out: Path
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/health" else 404, b"{}" if self.path == "/health" else b"")

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_UPLOAD_BYTES:
            self._reply(411 if length is None else 413)
            return
        data = self.rfile.read(int(length))
        try:
            if self.headers.get("Content-Encoding", "").lower() == "gzip" or data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            doc = json.loads(data)
        except (OSError, EOFError, ValueError):
            self._reply(400)
            return
        if self.path == "/logs" and isinstance(doc, list):
            lines = "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in doc if isinstance(e, dict))
            with self.lock, open(self.out / DECISION_LOG_NAME, "a", encoding="utf-8") as fh:
                fh.write(lines)
                fh.flush()
                os.fsync(fh.fileno())
            self._reply(204)
        elif self.path == "/status" and isinstance(doc, dict):
            replica = str((doc.get("labels") or {}).get("replica") or (doc.get("labels") or {}).get("id") or "opa")
            folder = self.out / "opa-status"
            folder.mkdir(exist_ok=True)
            name = "".join(c if c.isalnum() or c in "-_" else "_" for c in replica)[:64] + ".json"
            tmp = folder / (name + ".tmp")
            tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(folder / name)
            self._reply(204)
        else:
            self._reply(404)


def run_collector(port: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    handler = type("Collector", (_Collector,), {"out": out})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def read_decision_log(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m router.fleet")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collector", help="run the decision-log collector on 127.0.0.1:PORT")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "collector":
        run_collector(args.port, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
