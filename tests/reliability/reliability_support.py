"""Helpers for the reliability tests: a fault-injecting HTTP proxy on loopback, process accounting
through /proc, and bundles the router decides."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import socket
import threading
import time
from pathlib import Path

from bundles import personal_bundle  # noqa: F401  (re-exported for the suites)
from processes import pid_alive  # noqa: F401  (re-exported for the suites)

from router import paths

LOOPBACK = "127.0.0.1"


# -- bundles ------------------------------------------------------------------------------------


def example_bundle(name: str) -> dict:
    return json.loads((paths.EXAMPLES / "bundles" / f"{name}.json").read_text(encoding="utf-8"))


def with_request_id(bundle: dict, request_id: str) -> dict:
    out = copy.deepcopy(bundle)
    out["request"]["requestId"] = request_id
    return out


# -- processes ----------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(command name, parent pid) from /proc/PID/stat, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return name, int(fields[1])


def descendants(root: int | None = None) -> set[int]:
    """Every live (non-zombie) process below ROOT (default: this process), found through /proc."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        info = _stat(int(entry))
        if info is not None:
            children.setdefault(info[1], []).append(int(entry))
    out, stack = set(), [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def wait_until(predicate, timeout_s: float = 10.0, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """The (IPv4 or IPv6 address, port) pairs PID listens on, read from /proc (no other tool)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    out = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            raw = bytes.fromhex(hex_addr)
            if family == socket.AF_INET:
                addr = socket.inet_ntop(family, raw[::-1])
            else:  # four little-endian 32-bit words
                addr = socket.inet_ntop(family, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
            out.add((addr, int(hex_port, 16)))
    return out


# -- a fault-injecting proxy ----------------------------------------------------------------------


def _read_request(conn: socket.socket) -> bytes | None:
    """One complete HTTP/1.1 request (headers and a Content-Length body) from CONN, or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def _close_after(request: bytes) -> bytes:
    """The same request asking the upstream to close the connection after answering."""
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def _response(status: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\n".encode()
        + b"Content-Type: " + content_type + b"\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + body
    )


class FaultProxy:
    """A threaded TCP proxy on 127.0.0.1 in front of an HTTP server on 127.0.0.1.

    Each request is forwarded on a fresh upstream connection and each client connection is closed
    after one answer, so a change of `mode` applies from the next request on. Modes:

        pass        forward unchanged
        delay       wait `delay_s` before forwarding the answer
        http500     answer 500 with an OPA-style JSON error, without asking the upstream
        garbage     answer 200 with bytes that are not JSON
        not-object  answer 200 with a JSON array
        truncate    forward the status line, headers and half of the body, then close (a server dying mid-answer)
        reset       close the connection without answering
        hang        read the request and never answer (until the proxy stops)
    """

    MODES = ("pass", "delay", "http500", "garbage", "not-object", "truncate", "reset", "hang")

    def __init__(self, upstream_port: int | str, mode: str = "pass", delay_s: float = 0.0) -> None:
        self.upstream_port = upstream_port
        self.mode = mode
        self.delay_s = delay_s
        self.requests = 0
        self._stop = threading.Event()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((LOOPBACK, 0))
        self._server.listen(64)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self._accept.start()

    def set(self, mode: str, delay_s: float | None = None) -> None:
        assert mode in self.MODES, mode
        self.mode = mode
        if delay_s is not None:
            self.delay_s = delay_s

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            request = _read_request(conn)
            if request is None:
                return
            self.requests += 1
            mode, delay = self.mode, self.delay_s
            if mode == "http500":
                conn.sendall(_response("500 Internal Server Error", b'{"code":"internal_error","message":"injected fault"}'))
                return
            if mode == "garbage":
                conn.sendall(_response("200 OK", b"\x00\xff<html>not OPA</html>", b"text/html"))
                return
            if mode == "not-object":
                conn.sendall(_response("200 OK", b'["a", "list"]'))
                return
            if mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return
            if mode == "hang":
                self._stop.wait(30)
                return
            with _connect_upstream(self.upstream_port) as up:
                up.sendall(_close_after(request))
                answer = b""
                while True:
                    chunk = up.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
            if mode == "delay" and delay > 0 and self._stop.wait(delay):
                return
            if mode == "truncate":
                head, _, body = answer.partition(b"\r\n\r\n")
                conn.sendall(head + b"\r\n\r\n" + body[: max(1, len(body) // 2)])
                return
            conn.sendall(answer)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._accept.join(2)
        for t in self._threads:
            t.join(2)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- bundle variants ------------------------------------------------------------------------------

SLOW_MODULE = """package model_router.slow

# evaluation that takes a while: a query that is in flight when OPA is killed
result := count([y | some y in numbers.range(1, 2000000); y % 7 == 0])
"""


def variant_bundle(out: Path, *, data_patch=None, extra_files: tuple[tuple[str, bytes], ...] = ()) -> str:
    """Build a bundle from the project's policies and data, with DATA_PATCH(data) applied to the policy
    data and EXTRA_FILES added; return its revision."""
    from router import bundle as bundle_mod
    from router import policy_data

    files = bundle_mod.staged_files()
    if data_patch is not None:
        data_name = f"{policy_data.DATA_ROOT}/data.json"
        out_files = []
        for rel, content in files:
            if rel == data_name:
                data = json.loads(content)
                data_patch(data)
                content = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
            out_files.append((rel, content))
        files = out_files
    files = [*files, *extra_files]
    return bundle_mod.build_from_files(files, out)


def _connect_upstream(upstream) -> socket.socket:
    """A connection to the upstream OPA: a loopback port (int) or a unix socket path (str)."""
    if isinstance(upstream, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(upstream)
        return sock
    return socket.create_connection((LOOPBACK, upstream), timeout=30)


def upstream_of(engine) -> str:
    """What a FaultProxy forwards to for a managed engine: its unix socket path."""
    return str(engine.socket_path)


from opa_server import RestResponse, rest  # noqa: E402,F401  (re-exported for the suites)
