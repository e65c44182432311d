"""Indicators as lines of ``type<TAB>value`` (``ipv4-addr	198.51.100.7``): a Kizashi
format plugin, written against the contract in docs/plugins.md only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

import stix2

from kizashi.formats import Format, FormatError, Limits, Rejected

MAKERS = {
    "ipv4-addr": stix2.IPv4Address,
    "domain-name": stix2.DomainName,
    "url": stix2.URL,
}


def read(source: IO[bytes], limits: Limits) -> Iterator[Any]:
    for index, raw in enumerate(source):
        if index >= limits.max_items:
            raise FormatError(f"More than {limits.max_items:,} lines.")
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise FormatError(f"Line {index + 1} is not UTF-8.") from None
        if not line or line.startswith("#"):
            continue
        kind, _, value = line.partition("\t")
        maker = MAKERS.get(kind)
        if maker is None or not value:
            yield Rejected(index, f"not 'type<TAB>value' with a type of {', '.join(MAKERS)}")
            continue
        yield dict(maker(value=value))


def write(objects: Iterable[dict[str, Any]], out: IO[bytes]) -> None:
    for obj in objects:
        if obj.get("type") in MAKERS:
            out.write(f"{obj['type']}\t{obj['value']}\n".encode())


def sniff(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return first.split(b"\t", 1)[0].decode("utf-8", "replace") in MAKERS


FORMAT = Format(
    name="lines",
    title="Indicator lines (type, tab, value)",
    media_type="text/plain",
    extension="txt",
    read=read,
    write=write,
    sniff=sniff,
)
