"""A fake OPA on loopback for channel tests: answers every request with what a handler writes.

Bounded: every connection has a socket timeout, the server thread stops on close(), and nothing is
left behind (use as a context manager)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable


def http_response(status: str, body: bytes, headers: dict | None = None) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Content-Type: application/json", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def json_answer(document) -> bytes:
    return http_response("200 OK", json.dumps(document).encode())


class FakeOpa:
    """HANDLER(conn, request_bytes, stop_event) writes the answer; the request was read already."""

    def __init__(self, handler: Callable[[socket.socket, bytes, threading.Event], None], host: str = "127.0.0.1", *,
                 tls: ssl.SSLContext | None = None) -> None:
        """TLS: a server context; the fake then answers over TLS (https://)."""
        self.handler = handler
        self.requests: list[bytes] = []
        self.stop = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((host, 0))
        listener.listen(16)
        self._server = tls.wrap_socket(listener, server_side=True, do_handshake_on_connect=True) if tls else listener
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://[{host}]:{self.port}" if ":" in host else f"{scheme}://{host}:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
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
                    break
                body += chunk
            self.requests.append(head + b"\r\n\r\n" + body)
            self.handler(conn, head + b"\r\n\r\n" + body, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self._accept.join(timeout=5)
        self._server.close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> FakeOpa:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
