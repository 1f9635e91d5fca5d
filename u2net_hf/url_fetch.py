# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Fetching an image from a URL a client names, without letting the client reach what the server can reach.

What `GET /api/remove?url=...` of the server uses (see [`fetch_url`]): only `http` and `https`; every address
the host name resolves to must be public (no private, loopback, link-local, reserved, multicast or unspecified
address, IPv4 hidden in IPv6 included); the connection goes to the address that was checked, never to a second
lookup (DNS rebinding); each redirect is checked again, at most [`MAX_REDIRECTS`] of them; bodies stop at a byte
limit. Standard library only.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "u2net-hf-server"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(ValueError):
    """A URL that is refused or cannot be fetched; `str(error)` is one line for the client. `too_large` tells
    a body over the limit from other failures."""

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


def embedded_ipv4(address: Address) -> Address:
    """The IPv4 address an IPv6 transition address carries (IPv4-mapped, 6to4, Teredo, NAT64), or the address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): traffic reaches the client
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


# 192.0.0.0/24: IETF protocol assignments, some of which Python counts as global (192.0.0.9, 192.0.0.10).
IETF_PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")


# The whole of a fetch's body must arrive within this many seconds: a server trickling bytes (each read within
# the per-read timeout) would otherwise hold a thread of the pool for ever.
FETCH_DEADLINE_S = 60


def _read_before(response, limit: int, deadline: float, url: str) -> bytes:
    chunks, size = [], 0
    while size < limit and (chunk := response.read(min(1 << 16, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise FetchError(f"cannot fetch {url}: it took over {FETCH_DEADLINE_S} s.")
    return b"".join(chunks)


def is_public_address(address: Address) -> bool:
    """Whether a server may connect to `address` for a client: a global unicast address, and so is any IPv4
    address it embeds."""

    def public(candidate: Address) -> bool:
        return (
            candidate.is_global
            and not (
                candidate.is_multicast or candidate.is_reserved or candidate.is_loopback or candidate.is_link_local
            )
            and not getattr(candidate, "is_site_local", False)  # IPv6's deprecated fec0::/10
            and candidate not in IETF_PROTOCOL_ASSIGNMENTS
        )

    return public(address) and public(embedded_ipv4(address))


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (a literal address resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchError(f"cannot resolve host {host!r} ({error}).") from None
    # Scope ids ("fe80::1%eth0") are dropped: the address itself is what is checked.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
    allow_address: Callable[[Address], bool] = is_public_address,
    resolver: Callable[[str, int], list[Address]] = resolve,
) -> bytes:
    """
    Download the body of `url` (following up to [`MAX_REDIRECTS`] redirects), refusing what a client must not
    make a server fetch.

    Args:
        url (`str`):
            An `http://` or `https://` URL.
        max_bytes (`int`):
            The most bytes of body to accept.
        timeout (`float`, *optional*, defaults to 10):
            Seconds for connecting and for each read.
        allow_address (`Callable`, *optional*, defaults to [`is_public_address`]):
            Which addresses may be connected to; every address of every host on the way must pass.
        resolver (`Callable`, *optional*, defaults to [`resolve`]):
            `(host, port) -> addresses`; the connection goes to the first of them, as checked.

    Returns:
        `bytes`: the body of the final answer.

    Raises:
        [`FetchError`]: one line: a refused scheme or address, a failed connection, an answer that is not 200,
        too many redirects, or a body over `max_bytes` (`too_large`).

    Example:

    ```python
    >>> from u2net_hf.url_fetch import FetchError, fetch_url

    >>> try:
    ...     fetch_url("http://127.0.0.1:8000/photo.jpg", max_bytes=1024)
    ... except FetchError as error:
    ...     print(error)
    refusing to fetch http://127.0.0.1:8000/photo.jpg: 127.0.0.1 is not a public address.
    ```
    """
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = _get_once(url, max_bytes, timeout, allow_address, resolver)
        if status in REDIRECT_STATUSES:
            location = headers.get("location")
            if not location:
                raise FetchError(f"{url} answered a redirect ({status}) without a Location.")
            url = urljoin(url, location)
            continue
        if status != 200:
            raise FetchError(f"{url} answered HTTP {status}, not an image.")
        return body
    raise FetchError(f"more than {MAX_REDIRECTS} redirects; stopped at {url}.")


def _get_once(url: str, max_bytes: int, timeout: float, allow_address, resolver) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"refusing to fetch {url}: only http and https URLs are fetched.")
    if not parts.hostname:
        raise FetchError(f"refusing to fetch {url}: the URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"refusing to fetch {url}: bad port.") from None
    addresses = resolver(parts.hostname, port)
    refused = [address for address in addresses if not allow_address(address)]
    if refused or not addresses:
        reason = f"{refused[0]} is not a public address" if refused else "the host has no address"
        raise FetchError(f"refusing to fetch {url}: {reason}.")
    connection = _PinnedConnection(parts.scheme, parts.hostname, port, str(addresses[0]), timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        if response.status in REDIRECT_STATUSES:
            return response.status, headers, b""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(f"{url} is {int(length):,} bytes, over the limit of {max_bytes:,}.", too_large=True)
        body = _read_before(response, max_bytes + 1, time.monotonic() + FETCH_DEADLINE_S, url)
        if len(body) > max_bytes:
            raise FetchError(f"{url} is over the limit of {max_bytes:,} bytes.", too_large=True)
        return response.status, headers, body
    except (OSError, http.client.HTTPException) as error:
        raise FetchError(f"cannot fetch {url} ({' '.join(str(error).split()) or type(error).__name__}).") from None
    finally:
        connection.close()


class _PinnedConnection:
    """An HTTP(S) connection to one checked address, speaking to `host` (Host header, TLS name and certificate)."""

    def __init__(self, scheme: str, host: str, port: int, address: str, timeout: float):
        self.scheme, self.host, self.address = scheme, host, address
        if scheme == "https":
            self._connection = http.client.HTTPSConnection(host, port, timeout=timeout)
        else:
            self._connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self._connection.connect = self._connect

    def _connect(self):
        connection = self._connection
        sock = socket.create_connection((self.address, connection.port), connection.timeout)
        if self.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        connection.sock = sock

    def request(self, *args, **kwargs):
        self._connection.request(*args, **kwargs)

    def getresponse(self) -> http.client.HTTPResponse:
        return self._connection.getresponse()

    def close(self):
        self._connection.close()


__all__ = ["MAX_REDIRECTS", "FetchError", "embedded_ipv4", "fetch_url", "is_public_address", "resolve"]
