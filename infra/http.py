"""Outbound HTTP: httpx with timeouts, and an SSRF guard checked on the address actually dialled.

The guard resolves the host itself, refuses loopback, private, link-local (cloud
metadata), multicast and reserved addresses unless the host is allow-listed, and then
connects to the address it checked, so a DNS answer that changes between check and
connect (rebinding) cannot slip through. TLS still verifies the original host name.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import certifi
import httpcore
import httpx

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class BlockedAddressError(httpx.TransportError):
    """Raised when a URL's host resolves to an address the guard refuses."""


def is_public(address: str) -> bool:
    """Globally routable unicast only: no loopback, private, shared, link-local or reserved."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, allowed_hosts: frozenset[str]) -> None:
        self._inner = inner
        self._allowed = allowed_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = self.check(host, port)
        return self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    def check(self, host: str, port: int) -> str:
        """The first address of `host`, if every address it resolves to may be dialled."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            msg = f"cannot resolve {host!r}"
            raise httpcore.ConnectError(msg) from error
        addresses = [str(info[4][0]) for info in infos]
        if host.lower() not in self._allowed:
            refused = [a for a in addresses if not is_public(a)]
            if refused:
                msg = f"{host!r} resolves to a non-public address ({refused[0]})"
                raise BlockedAddressError(msg)
        return addresses[0]

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        msg = "unix sockets are not allowed for outbound requests"
        raise BlockedAddressError(msg)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle costs ~30 ms."""
    return ssl.create_default_context(cafile=certifi.where())


def guarded_client(
    *, allowed_hosts: Iterable[str] = (), timeout: httpx.Timeout = DEFAULT_TIMEOUT, **kwargs: Any
) -> httpx.Client:
    """An httpx client that refuses non-public addresses except for `allowed_hosts`."""
    transport = httpx.HTTPTransport(retries=0, verify=_tls_context())
    pool = transport._pool
    pool._network_backend = _GuardedBackend(
        pool._network_backend, frozenset(h.lower() for h in allowed_hosts)
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, **kwargs)
