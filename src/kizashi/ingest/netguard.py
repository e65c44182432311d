"""Which addresses Kizashi may connect to, checked when the socket is opened.

Feeds are user input: a URL (or a redirect) pointing at 127.0.0.1, 10.0.0.0/8 or the
cloud metadata address 169.254.169.254 would turn the poller into a way into the
internal network. Every connection resolves the host itself, refuses the whole host
if any of its addresses is not public (unless an admin allowed that range with
``KIZASHI_FETCH_ALLOW``) and connects to the address it checked, so a DNS answer that
changes between check and connect (rebinding) cannot slip through.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefusedError(httpcore.ConnectError):
    """The destination is private, loopback, link-local or otherwise not public."""


def parse_allowlist(text: str | Iterable[str] | None) -> tuple[Network, ...]:
    """``"127.0.0.1/32, 10.1.0.0/16"`` → networks; a bad entry raises ValueError naming it."""
    if text is None:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for raw in parts:
        item = raw.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"KIZASHI_FETCH_ALLOW: {item!r} is not an address or CIDR range"
            ) from exc
    return tuple(out)


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64, 6to4 or Teredo one."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses are allowed; others only inside ``allow``."""

    allow: tuple[Network, ...] = field(default_factory=tuple)

    def permits(self, address: str) -> bool:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in net for net in self.allow if net.version == ip.version):
            return True
        inner = embedded_ipv4(ip)
        if inner is not None:
            # An IPv6 address that carries an IPv4 one reaches that IPv4 host.
            return self.permits(str(inner))
        if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
            return False
        return bool(ip.is_global) and not ip.is_multicast

    def check_host(self, host: str, port: int) -> list[str]:
        """The host's addresses, all permitted, or AddressRefusedError."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        refused = [a for a in addresses if not self.permits(a)]
        if refused:
            raise AddressRefusedError(
                f"{host} resolves to {', '.join(refused)}, which is not a public address; "
                "an admin can allow it with KIZASHI_FETCH_ALLOW"
            )
        return addresses


_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "fetch_deadline", default=None
)


@contextlib.contextmanager
def read_deadline(deadline: float) -> Iterator[None]:
    """Within this block every socket read ends by ``deadline`` (``time.monotonic()``)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose reads stop at the current request's deadline.

    httpx's read timeout is per read: a server that sends one byte of headers every
    few seconds would never trip it. Here each read gets only the time that is left.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def _left(self, timeout: float | None) -> float | None:
        deadline = _deadline.get()
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the total time limit was reached")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self.inner.start_tls(ssl_context, server_hostname, self._left(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses the policy permits."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.policy.check_host(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
                return _DeadlineStream(stream)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"cannot connect to {host}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded backend underneath (no proxy support)."""

    def __init__(self, policy: AddressPolicy, *, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=10)
        super().__init__(trust_env=False, limits=limits)
        old = self._pool
        assert isinstance(old, httpcore.ConnectionPool)
        self._pool = httpcore.ConnectionPool(
            ssl_context=old._ssl_context,  # the TLS settings httpx chose
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
        old.close()
