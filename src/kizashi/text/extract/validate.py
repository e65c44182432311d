"""Checks per type: a real TLD, octets in range, hash lengths, wallet checksums."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}

#: Top-level domains that are also everyday file extensions. A two-label name ending in
#: one of them, written where a file name fits, is a file (``setup.py``), not a host.
_FILE_EXTENSIONS = (
    "py sh zip mov rs pl md ps so cc cs sc ai gz rar tar pdf doc docx xls xlsx txt "
    "log dat bin cfg ini inf tmp bak json xml yml yaml php asp aspx jsp html htm css "
    "png jpg gif iso img vhd apk dmg pkg deb rpm app"
)
FILE_LIKE_TLDS = frozenset(_FILE_EXTENSIONS.split())

_psl = PublicSuffixList(accept_unknown=False)


@lru_cache(maxsize=65536)
def domain(name: str) -> str | None:
    """The lower-cased name if every label is valid and it ends in a real suffix."""
    lowered = name.lower().rstrip(".")
    labels = lowered.split(".")
    if len(labels) < 2 or len(lowered) > 253:
        return None
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return None
    if labels[-1].isdigit():
        return None
    suffix = _psl.publicsuffix(lowered)
    if suffix is None or suffix == lowered:
        return None
    return lowered


def looks_like_file(name: str) -> bool:
    """``setup.py``, ``invoice.zip``: a two-label name whose suffix is a file extension."""
    parts = name.split(".")
    if len(parts) != 2 or parts[-1].lower() not in FILE_LIKE_TLDS:
        return False
    return not parts[0].lower().startswith("www")


#: ssdeep block sizes are 3 * 2**n.
_SSDEEP_BLOCKS = frozenset(3 << n for n in range(40))


def ssdeep(value: str) -> bool:
    block, _, rest = value.partition(":")
    return int(block) in _SSDEEP_BLOCKS and not rest.replace(":", "").isdigit()


_DOTTED_QUAD = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")


def ipv4(address: str) -> bool:
    return _DOTTED_QUAD.fullmatch(address) is not None and max(map(int, address.split("."))) < 256


def ipv6(candidate: str) -> tuple[str | None, str]:
    """``("ipv6", value)``, ``("cidr", value)`` or ``(None, "")`` for a non-address."""
    value = candidate.lower()
    prefix = ""
    if "/" in value:
        value, _, prefix = value.partition("/")
    zone = value.find("%")
    if zone != -1:
        value = value[:zone]
    if "::" not in value and value.count(":") != 7 and not (value.count(":") == 6 and "." in value):
        return None, ""
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return None, ""
    groups = [g for g in value.split(":") if g]
    if len(groups) <= 2 and all(g.isalpha() for g in groups) and value != "::":
        return None, ""  # ABC::DEF, dead::beef: words with a scope operator, not hosts
    if not groups:
        return None, ""
    if prefix:
        if not prefix.isdigit() or int(prefix) > 128:
            return None, ""
        return "cidr", f"{value}/{prefix}"
    return "ipv6", value


def host(name: str) -> tuple[str | None, str]:
    """What a URL's or e-mail's host is: ``domain``, ``ipv4``, ``ipv6`` or None."""
    if not name:
        return None, ""
    if ":" in name:
        kind, value = ipv6(name)
        return ("ipv6", value) if kind == "ipv6" else (None, "")
    if name[0].isdigit() and ipv4(name):
        return "ipv4", name
    checked = domain(name)
    return ("domain", checked) if checked is not None else (None, "")


def mac(value: str) -> str:
    digits = value.replace(":", "").replace("-", "").replace(".", "").lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def attack_kind(value: str) -> str:
    if value.startswith("TA"):
        return "attack-tactic"
    if value.startswith("T"):
        return "attack-technique"
    return "attack-group" if value.startswith("G") else "attack-software"


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def coin(value: str) -> str | None:
    """``btc`` for a Bitcoin address with a valid checksum, ``xmr`` for Monero, or None."""
    if value.startswith("bc1"):
        return "btc" if _bech32_ok(value) else None
    if value[0] == "4" and len(value) == 95:
        return "xmr"
    return "btc" if _base58check_ok(value) else None


def _base58check_ok(value: str) -> bool:
    number = 0
    for ch in value:
        number = number * 58 + _B58_INDEX[ch]
    raw = number.to_bytes(25, "big") if number.bit_length() <= 200 else b""
    if len(raw) != 25:
        return False
    digest = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()
    return digest[:4] == raw[-4:]


def _bech32_ok(value: str) -> bool:
    data = [_BECH32.find(c) for c in value[3:]]
    if -1 in data or len(data) < 7:
        return False
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for v in [3, 3, 0, 2, 3, *data]:  # "bc" expanded: high bits, 0, low bits
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                check ^= generator[i]
    return check in (1, 0x2BC830A3)  # bech32 (segwit v0) or bech32m (v1+)


def url_host(url: str) -> str:
    """The host of a URL as extracted: no user-info, port or brackets (``[::1]`` → ``::1``)."""
    rest = url.split("://", 1)[-1]
    for sep in "/?#":
        rest = rest.split(sep, 1)[0]
    hostport = rest.rpartition("@")[2]
    if hostport.startswith("["):
        return hostport[1:].split("]", 1)[0]
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


def host_of(kind: str, value: str) -> str | None:
    """The host a domain, URL or e-mail value names; None for other kinds."""
    if kind == "domain":
        return value
    if kind == "email":
        return value.rpartition("@")[2]
    if kind == "url":
        return url_host(value) or None
    return None
