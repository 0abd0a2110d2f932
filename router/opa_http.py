"""The HTTP channel to OPA: one deadline per call, a response size cap, no redirects, no implicit proxy.

Built on the standard library's `http.client` (keep-alive connections, a small per-endpoint pool):

* `unix:///path/opa.sock` - OPA's own unix-domain-socket listener (`opa run --addr unix://...`); the
  managed OPA is reached this way, so no TCP port exists for anyone else to bind or to answer on;
* `http://host:port`, `https://host:port` (IPv6 as `http://[::1]:8181`).

Every socket operation of a call (connect, TLS handshake, send, each receive) runs with the time that
is left until the call's single deadline, so a server that drips its answer byte by byte cannot hold a
call past the decision timeout. The body is read in chunks and refused as soon as it exceeds the size
cap (a `Content-Length` over the cap is refused before reading). A 3xx answer is an error: redirects are
never followed. Proxy settings in the environment (`HTTP_PROXY`, `HTTPS_PROXY`, ...) are never read; a
remote OPA is reached through a proxy only when one is configured explicitly (`proxy=`).

Errors are raised as `ChannelTimeout`, `ChannelUnavailable` (cannot connect) or `ChannelError`
(anything else: an HTTP error status, an oversized or unreadable body); the engine maps them to its
fail-closed reason codes.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any

from router.opa_endpoint import (
    DEFAULT_MAX_RESPONSE_BYTES,
    LOOPBACK_HOSTS,
    ChannelError,
    ChannelTimeout,
    ChannelUnavailable,
    Endpoint,
    parse_endpoint,
)

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "LOOPBACK_HOSTS", "Channel", "ChannelError", "ChannelTimeout", "ChannelUnavailable",
           "Endpoint", "parse_endpoint"]

_CHUNK = 64 * 1024
_POOL_SIZE = 8


# -- sockets that honour one deadline ---------------------------------------------------------

# The mixin below goes before socket.socket (or ssl.SSLSocket) in its classes' bases; the type checker
# is told so, to check its calls to the socket methods it wraps.
if TYPE_CHECKING:
    _SocketBase = socket.socket
else:
    _SocketBase = object


class _DeadlineMixin(_SocketBase):
    """Every blocking operation gets the time left until `self.deadline` (monotonic) as its timeout."""

    deadline: float | None = None

    def _arm(self) -> None:
        if self.deadline is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the call's deadline passed")
        self.settimeout(left)

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        self._arm()
        return super().recv(*args, **kwargs)

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        return super().recv_into(*args, **kwargs)

    def send(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        return super().send(*args, **kwargs)

    def sendall(self, data: Any, flags: int = 0) -> None:
        # one sendall may block many times: send piecewise so that each piece gets the time left
        view = memoryview(data).cast("B")
        while view:
            self._arm()
            sent = super().send(view[:_CHUNK], flags)
            view = view[sent:]


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    pass


class _DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    def read(self, *args: Any, **kwargs: Any) -> bytes:
        self._arm()
        data: bytes = super().read(*args, **kwargs)
        return data

    def write(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        return super().write(*args, **kwargs)


def _connect_tcp(address: tuple[str, int], deadline: float | None) -> _DeadlineSocket:
    host, port = address
    last: OSError | None = None
    for family, kind, proto, _, addr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = _DeadlineSocket(family, kind, proto)
        try:
            sock.deadline = deadline
            sock._arm()
            sock.connect(addr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
            if isinstance(exc, socket.timeout):
                raise
    raise last or OSError(f"cannot resolve {host}")


class _DeadlineBox:
    """The deadline (monotonic) of the call a connection serves now; its sockets read it."""

    def __init__(self) -> None:
        self.deadline: float | None = None

    def connect_tcp(self, address: tuple[str, int], timeout: object = None, source_address: object = None) -> socket.socket:
        """http.client's socket factory (the signature of socket.create_connection), within the deadline."""
        return _connect_tcp(address, self.deadline)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, box: _DeadlineBox) -> None:
        super().__init__("localhost")
        self._path = path
        self._box = box

    def connect(self) -> None:
        sock = _DeadlineSocket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.deadline = self._box.deadline
            sock._arm()
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


# http.client makes its TCP socket with the instance attribute `_create_connection` (a
# socket.create_connection set by HTTPConnection.__init__); the two classes below set it to the box's
# factory, so that connecting honours the call's deadline.


class _TcpConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, box: _DeadlineBox) -> None:
        super().__init__(host, port)
        self._create_connection = box.connect_tcp


class _TlsConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, box: _DeadlineBox) -> None:
        super().__init__(host, port, context=_tls_context())
        self._box = box
        self._create_connection = box.connect_tcp

    def connect(self) -> None:
        super().connect()  # TCP (and TLS) set up within the deadline; then the TLS socket gets it too
        if isinstance(self.sock, _DeadlineMixin):
            self.sock.deadline = self._box.deadline


def _tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.sslsocket_class = _DeadlineSSLSocket
    return ctx


class _Conn:
    """One keep-alive connection (http.client) and the deadline its sockets honour."""

    def __init__(self, endpoint: Endpoint, proxy: Endpoint | None) -> None:
        self.box = _DeadlineBox()
        self.absolute = False
        self.http: http.client.HTTPConnection
        if endpoint.scheme == "unix":
            self.http = _UnixConnection(endpoint.socket_path, self.box)
            return
        target_host, target_port = (proxy.host, proxy.port) if proxy else (endpoint.host, endpoint.port)
        if endpoint.scheme == "https":
            self.http = _TlsConnection(target_host, target_port, self.box)
            if proxy:
                self.http.set_tunnel(endpoint.host, endpoint.port)
        else:
            self.http = _TcpConnection(target_host, target_port, self.box)
            self.absolute = proxy is not None

    def arm(self, deadline: float) -> None:
        self.box.deadline = deadline
        sock = self.http.sock
        if isinstance(sock, _DeadlineMixin):
            sock.deadline = deadline

    def close(self) -> None:
        self.http.close()


class Channel:
    """Requests to one OPA endpoint, each bounded by one deadline and a response size cap."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        proxy: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.endpoint = parse_endpoint(url)
        self.proxy = None
        if proxy:
            self.proxy = parse_endpoint(proxy)
            if self.proxy.scheme != "http":
                raise ValueError(f"proxy {proxy!r}: expected http://host:port")
            if self.endpoint.scheme == "unix":
                raise ValueError("a unix-socket OPA is never reached through a proxy")
        if not (isinstance(max_response_bytes, int) and max_response_bytes > 0):
            raise ValueError("the response size cap must be a positive number of bytes")
        self.max_response_bytes = max_response_bytes
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        if self.endpoint.scheme != "unix":
            host = self.endpoint.url.split("//", 1)[1]
            self._headers["Host"] = host
        self._prefix = self.endpoint.url if self.proxy and self.endpoint.scheme == "http" else ""
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def url(self) -> str:
        return self.endpoint.url

    def _take(self) -> tuple[_Conn, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return _Conn(self.endpoint, self.proxy), False

    def _give_back(self, conn: _Conn) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < _POOL_SIZE:
                self._idle.append(conn)
                return
        conn.close()

    def request(self, method: str, path: str, body: bytes | None, timeout_s: float) -> tuple[int, bytes]:
        """(status, body) of one call that completes within TIMEOUT_S, or a Channel* exception."""
        deadline = time.monotonic() + timeout_s
        while True:
            conn, reused = self._take()
            try:
                return self._once(conn, method, path, body, deadline)
            except _StaleConnection:
                conn.close()
                if not reused or time.monotonic() >= deadline:
                    raise ChannelUnavailable(f"cannot reach OPA at {self.url}: the connection was closed before an answer") from None
                # a keep-alive connection the server had closed: try once more on a new one
            except BaseException:
                conn.close()
                raise

    def _once(self, conn: _Conn, method: str, path: str, body: bytes | None, deadline: float) -> tuple[int, bytes]:
        conn.arm(deadline)
        h = conn.http
        sent = answered = False
        try:
            h.request(method, self._prefix + path, body=body, headers=self._headers)
            sent = True
            conn.arm(deadline)  # a new connection's socket was made inside request()
            resp = h.getresponse()
            answered = True
            length = resp.getheader("Content-Length")
            if length is not None and length.isdigit() and int(length) > self.max_response_bytes:
                raise ChannelError(
                    f"OPA's answer is {int(length)} bytes, over the {self.max_response_bytes}-byte limit", resp.status
                )
            chunks, size = [], 0
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise ChannelError(f"OPA's answer exceeds the {self.max_response_bytes}-byte limit", resp.status)
                chunks.append(chunk)
        except TimeoutError:
            raise ChannelTimeout("no complete answer within the deadline") from None
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            if not answered:  # closed before any answer: a stale keep-alive connection, or OPA went away
                raise _StaleConnection() from None
            raise ChannelUnavailable(f"cannot reach OPA at {self.url}: the connection broke mid-answer ({type(exc).__name__})") from None
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ChannelUnavailable(f"cannot reach OPA at {self.url} ({type(exc).__name__})", refused=True) from None
        except ssl.SSLError as exc:
            raise ChannelError(f"TLS failure talking to OPA at {self.url}: {exc.reason or exc}") from None
        except http.client.IncompleteRead:
            # the server went away mid-answer (a killed OPA): unreachable, as if it had not answered
            raise ChannelUnavailable(f"cannot reach OPA at {self.url}: the connection closed mid-answer") from None
        except http.client.HTTPException as exc:
            raise ChannelError(f"unreadable answer from OPA: not HTTP ({type(exc).__name__})") from None
        except OSError as exc:
            if not sent:
                raise ChannelUnavailable(f"cannot reach OPA at {self.url} ({type(exc).__name__})") from None
            raise ChannelError(f"the connection to OPA failed ({type(exc).__name__})") from None
        data = b"".join(chunks)
        if resp.will_close:
            conn.close()
        else:
            self._give_back(conn)
        if 300 <= resp.status < 400:
            raise ChannelError(f"HTTP {resp.status}: OPA answered with a redirect, which is never followed", resp.status, data)
        if resp.status != 200:
            raise ChannelError(f"HTTP {resp.status}", resp.status, data)
        return resp.status, data

    def post_json(self, path: str, document: Any, timeout_s: float) -> Any:
        return self.post_json_screened(path, document, timeout_s)[0]

    def post_json_screened(self, path: str, document: Any, timeout_s: float) -> tuple[Any, bool]:
        """The answer to DOCUMENT posted as JSON, and whether every number in it is finite (decode_screened)."""
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        return self.decode_screened(self.request("POST", path, body, timeout_s)[1])

    def get_json(self, path: str, timeout_s: float) -> Any:
        return self.decode(self.request("GET", path, None, timeout_s)[1])

    @staticmethod
    def decode(data: bytes) -> Any:
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ChannelError(f"unreadable answer from OPA: not JSON ({type(exc).__name__})") from None

    @staticmethod
    def decode_screened(data: bytes) -> tuple[Any, bool]:
        """(decode's value, True) when every number in DATA decodes to a finite float or an integer;
        (the same value, False) when one is NaN or infinite: `NaN`, `Infinity`, or a literal beyond the
        float range such as 1e999 (also one that a later duplicate key replaces: False only means
        "not proven finite"). The decoder sees every number as it parses it, so the usual answer needs
        no second pass over the value; only an answer with such a number is decoded again."""
        try:
            # as json.loads decodes bytes: the encoding it detects (a UTF-8 byte-order mark is skipped)
            return _SCREENING_DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass")), True
        except _NonFinite:
            return Channel.decode(data), False
        except (ValueError, RecursionError) as exc:
            raise ChannelError(f"unreadable answer from OPA: not JSON ({type(exc).__name__})") from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _StaleConnection(Exception):
    pass


class _NonFinite(Exception):
    """A number in an answer decodes to NaN or an infinity (raised by the screening decoder's hooks)."""


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # NaN and the infinities only (inf - inf is NaN)
        raise _NonFinite(text)
    return value


def _non_finite_constant(text: str) -> float:
    raise _NonFinite(text)


_SCREENING_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_non_finite_constant)
