"""MISP's benign warning lists, held compactly: which lists a value is on.

``pymispwarninglists`` ships the lists (offline) and its own ``WarningLists`` object keeps
every entry as a Python string: 330 MB per process, two thirds of it for two lists of a
million popular hostnames. Here each list keeps 64-bit hashes of its entries in a sorted
``array`` (8 bytes an entry, 20 MB for all of them) and networks as sorted integer ranges;
a lookup is a binary search. The lists are read one at a time, on first use.

Matching follows the list's type: ``string`` is the exact (case-folded) value,
``hostname`` (and ``substring``, whose entries are domains) matches the host or one of its
parent domains, ``cidr`` is containment, ``regex`` a search. A list applies only to the
kinds its ``matching_attributes`` name.
"""

from __future__ import annotations

import heapq
import ipaddress
import json
import re
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files

from kizashi.text.extract.validate import host_of

#: MISP attribute types, by the kinds of value Kizashi extracts.
_ATTRIBUTES = {
    "ipv4": {"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "ip", "domain|ip"},
    "ipv6": {"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "ip", "domain|ip"},
    "cidr": {"ip-src", "ip-dst", "ip"},
    "domain": {"domain", "hostname", "domain|ip", "hostname|port", "url", "uri"},
    "url": {"url", "uri", "link"},
    "email": {"email", "email-src", "email-dst", "target-email", "whois-registrant-email"},
    "md5": {"md5", "filename|md5"},
    "sha1": {"sha1", "filename|sha1"},
    "sha256": {"sha256", "filename|sha256"},
    "sha512": {"sha512", "filename|sha512"},
}


@dataclass
class _List:
    name: str
    kind: str  # string, hostname, cidr, regex
    applies: frozenset[str]
    hashes: array[int] = field(default_factory=lambda: array("q"))
    v4: tuple[array[int], array[int]] = field(default_factory=lambda: (array("Q"), array("Q")))
    v6: list[tuple[int, int]] = field(default_factory=list)
    patterns: list[re.Pattern[str]] = field(default_factory=list)

    def has(self, h: int) -> bool:
        i = bisect_left(self.hashes, h)
        return i < len(self.hashes) and self.hashes[i] == h


def _load() -> list[_List]:
    root = files("pymispwarninglists") / "data" / "misp-warninglists" / "lists"
    lists: list[_List] = []
    for folder in sorted(root.iterdir(), key=lambda p: p.name):
        path = folder / "list.json"
        if not path.is_file():
            continue
        raw = json.loads(path.read_text("utf-8"))
        attributes = set(raw.get("matching_attributes") or ())
        applies = frozenset(k for k, names in _ATTRIBUTES.items() if names & attributes)
        kind = raw.get("type", "string")
        entry = _List(str(raw.get("name", folder.name)), kind, applies)
        entries = raw.pop("list", None) or []
        del raw
        if kind == "cidr":
            _networks(entry, [str(v).strip() for v in entries])
        elif kind == "regex":
            entry.patterns = [re.compile(str(v)) for v in entries]
        else:
            if kind == "substring":
                entry.kind = "hostname"  # its entries are domains (disposable e-mail and such)
            strip = "." if entry.kind == "hostname" else ""
            # One entry at a time into the hash array: no second copy of a million strings.
            hashes = array("q", (hash(str(v).strip().lower().lstrip(strip)) for v in entries))
            del entries
            entry.hashes = array("q", sorted(hashes))  # duplicates are harmless to bisect
            del hashes
            entries = []
        del entries
        lists.append(entry)
    return lists


def _networks(entry: _List, values: list[str]) -> None:
    v4: list[tuple[int, int]] = []
    for v in values:
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            continue
        pair = (int(net.network_address), int(net.broadcast_address))
        (v4 if net.version == 4 else entry.v6).append(pair)
    merged4 = _merge(v4)
    entry.v4 = (array("Q", (a for a, _ in merged4)), array("Q", (b for _, b in merged4)))
    entry.v6 = _merge(entry.v6)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping ranges joined, so the last range starting at or before an address is
    the only one that can hold it."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


@dataclass
class _Index:
    """Every list, and two screens in front of them: the hashes of all string and
    hostname entries together, and the union of all IPv4 ranges. Most values are on no
    list, and one binary search each says so; only a hit looks list by list."""

    lists: list[_List]
    all_hashes: array[int]
    v4_union: tuple[array[int], array[int]]
    by_kind: dict[str, list[_List]]
    has_regex: dict[str, bool]


@cache
def _index() -> _Index:
    lists = _load()
    # A k-way merge of the sorted lists: no list of two million ints on the way.
    merged = array("q", heapq.merge(*(w.hashes for w in lists if w.hashes)))
    ranges = _merge([(a, b) for w in lists for a, b in zip(*w.v4, strict=True)])
    union = (array("Q", (a for a, _ in ranges)), array("Q", (b for _, b in ranges)))
    kinds = {k for w in lists for k in w.applies}
    by_kind = {k: [w for w in lists if k in w.applies] for k in kinds}
    has_regex = {k: any(w.kind == "regex" for w in ws) for k, ws in by_kind.items()}
    return _Index(lists, merged, union, by_kind, has_regex)


def _has(hashes: array[int], h: int) -> bool:
    i = bisect_left(hashes, h)
    return i < len(hashes) and hashes[i] == h


@lru_cache(maxsize=65536)  # feeds repeat their hosts and addresses item after item
def lists_for(kind: str, value: str) -> tuple[str, ...]:
    """Names of the warning lists ``value`` (of extracted ``kind``) is on."""
    index = _index()
    candidates = index.by_kind.get(kind)
    if not candidates:
        return ()
    folded = value.lower()
    exact = {hash(folded)}
    host = host_of(kind, folded)
    names: set[int] = set()
    if host is not None:
        exact.add(hash(host))
        labels = host.split(".")
        names = {hash(".".join(labels[i:])) for i in range(len(labels) - 1)}
    hashed = any(_has(index.all_hashes, h) for h in exact | names)
    network = _network(folded) if kind in ("ipv4", "ipv6", "cidr") else None
    in_nets = network is not None and (
        network[0] == 6 or _in_ranges(index.v4_union, network[1], network[2])
    )
    if not hashed and not in_nets and not index.has_regex.get(kind):
        return ()  # the common case: on no list, two binary searches to know it
    found = []
    for w in candidates:
        if w.kind == "string":
            hit = hashed and any(w.has(h) for h in exact)
        elif w.kind == "hostname":
            hit = hashed and any(w.has(h) for h in (names or exact))
        elif w.kind == "cidr":
            hit = in_nets and network is not None and _in_networks(w, *network)
        else:
            hit = any(p.search(value) for p in w.patterns)
        if hit:
            found.append(w.name)
    return tuple(found)


_DOTTED = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")


def _network(value: str) -> tuple[int, int, int] | None:
    if _DOTTED.fullmatch(value):  # a plain IPv4 address: no ipaddress object needed
        a, b, c, d = (int(x) for x in value.split("."))
        n = a << 24 | b << 16 | c << 8 | d
        return 4, n, n
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


def _in_ranges(ranges: tuple[array[int], array[int]], lo: int, hi: int) -> bool:
    starts, ends = ranges
    i = bisect_right(starts, lo) - 1
    return i >= 0 and ends[i] >= hi


def _in_networks(w: _List, version: int, lo: int, hi: int) -> bool:
    if version == 4:
        return _in_ranges(w.v4, lo, hi)
    pairs = w.v6
    i = bisect_right(pairs, (lo, 1 << 129)) - 1
    return i >= 0 and pairs[i][1] >= hi
