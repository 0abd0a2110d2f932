"""Where OPA listens and how a call to it fails: the part of the HTTP channel (router.opa_http) that
does not need the HTTP client.

The managed OPA's start path (router.opa_supervisor, router.opa_process) and the settings
(router.config) need only these names; keeping them apart from `http.client` (with `ssl` and `email`,
about 40 ms of `python -X importtime`) lets a command spawn OPA before it imports the HTTP client, so
that the import overlaps OPA's start. router.opa_http re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "LOOPBACK_HOSTS", "ChannelError", "ChannelTimeout", "ChannelUnavailable",
           "Endpoint", "parse_endpoint"]

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ChannelError(Exception):
    """OPA answered, but not with a usable answer (HTTP error status, body too large, unreadable)."""

    def __init__(self, message: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class ChannelTimeout(ChannelError):
    """The call did not complete within its deadline."""


class ChannelUnavailable(ChannelError):
    """No connection could be made (nothing listening, socket file missing, refused)."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused  # the connection was refused: nothing listens there (any more)


@dataclass(frozen=True)
class Endpoint:
    """Where OPA listens: a unix socket path, or scheme + host + port."""

    scheme: str  # "unix", "http" or "https"
    host: str = ""
    port: int = 0
    socket_path: str = ""

    @property
    def url(self) -> str:
        if self.scheme == "unix":
            return "unix://" + quote(self.socket_path)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def is_local(self) -> bool:
        return self.scheme == "unix" or self.host in LOOPBACK_HOSTS


def parse_endpoint(url: str) -> Endpoint:
    """An Endpoint from `unix:///path`, `http://host:port` or `https://host:port` (ValueError names what is wrong)."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"OPA URL {url!r}: expected unix:///path/to/opa.sock, http://host:port or https://host:port")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"OPA URL {url!r}: {exc}") from None
    if parts.scheme == "unix":
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/") or parts.query or parts.fragment or "\0" in path:
            raise ValueError(f"OPA URL {url!r}: expected unix:///absolute/path/to/opa.sock")
        return Endpoint("unix", socket_path=path)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"OPA URL {url!r}: the port is not a number between 0 and 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"OPA URL {url!r}: expected unix:///path/to/opa.sock, http://host:port or https://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"OPA URL {url!r}: expected no path, query or fragment (the router queries /v1/data/...)")
    if parts.username or parts.password:
        raise ValueError(f"OPA URL {url!r}: expected no user or password in the URL (use the token setting)")
    return Endpoint(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))
