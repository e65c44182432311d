"""Why an analyst may not want a value: documentation, private, or on a benign list.

Flags explain; they never drop. Callers (the CLI, the ingest pipeline) decide by setting
whether flagged values are kept.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from kizashi.text.extract.validate import host_of

DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001:db8::/32",
        "3fff::/20",
    )
)
#: Second-level names reserved for documentation (RFC 2606, JPRS for example.jp).
DOCUMENTATION_NAMES = frozenset({"example.com", "example.net", "example.org", "example.jp"})
#: Top-level names that never resolve on the internet (RFC 2606, RFC 6761).
RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})


_FLAGGED_KINDS = frozenset({"ipv4", "ipv6", "cidr", "domain", "url", "email"})
#: First octets of every IPv4 range that gets a flag (private, documentation, reserved,
#: multicast): an address starting otherwise needs no closer look.
_FLAGGED_FIRST_OCTETS = frozenset(
    {"0", "10", "100", "127", "169", "172", "192", "198", "203"} | {str(n) for n in range(224, 256)}
)


def flags_for(kind: str, value: str, warninglists: bool = False) -> tuple[str, ...]:
    if kind not in _FLAGGED_KINDS:
        flags: tuple[str, ...] = ()
    elif kind == "ipv4" and value.partition(".")[0] not in _FLAGGED_FIRST_OCTETS:
        flags = ()
    elif kind == "domain":
        flags = _name_flags(value)
    else:
        flags = _static_flags(kind, value)
    if warninglists and kind in _LISTED_TYPES:
        listed = _warninglist_flags(kind, value)
        if listed:
            flags = flags + listed
    return flags


@lru_cache(maxsize=65536)
def _static_flags(kind: str, value: str) -> tuple[str, ...]:
    host = _host_or_value(kind, value)
    if kind in ("ipv4", "ipv6", "cidr") or (host and (host[0].isdigit() or ":" in host)):
        return _ip_flags(host)
    if kind in ("domain", "url", "email"):
        return _name_flags(host)
    return ()


def _host_or_value(kind: str, value: str) -> str:
    host = host_of(kind, value)
    return value if host is None else host


def _ip_flags(text: str) -> tuple[str, ...]:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return ()
    address = net.network_address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _ip_flags(str(address.ipv4_mapped))
    if any(
        net.version == doc.version and net.subnet_of(doc)  # type: ignore[arg-type]
        for doc in DOCUMENTATION_NETS
    ):
        return ("documentation",)
    if address.is_loopback or address.is_link_local or address.is_private:
        return ("private",)
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return ("reserved",)
    return ()


_DOCUMENTATION_SUFFIXES = tuple("." + n for n in DOCUMENTATION_NAMES)


def _name_flags(name: str) -> tuple[str, ...]:
    if name.rpartition(".")[2] in RESERVED_TLDS:
        return ("documentation",)
    if name in DOCUMENTATION_NAMES or name.endswith(_DOCUMENTATION_SUFFIXES):
        return ("documentation",)
    return ()


_LISTED_TYPES = frozenset(
    {"ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256"}
)


def _warninglist_flags(kind: str, value: str) -> tuple[str, ...]:
    from kizashi.text.extract.warninglists import lists_for

    return tuple(f"warninglist:{name}" for name in lists_for(kind, value))
