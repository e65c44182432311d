"""STIX 2.1 JSON: a bundle, a list of objects, or one object, read as a stream; written as
a bundle, one object at a time."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, Any

from kizashi.formats.contract import Format, Limits, Rejected
from kizashi.formats.jsonstream import items
from kizashi.model.errors import Text

MEDIA_TYPE = "application/stix+json;version=2.1"


def read(source: IO[bytes], limits: Limits) -> Iterator[Any]:
    """Each object of the input; an item that is not a JSON object is rejected."""
    for i, item in enumerate(items(source, limits)):
        if isinstance(item, dict):
            yield item
        else:
            kind = {list: "array", str: "string", int: "number", float: "number"}.get(
                type(item), "value"
            )
            yield Rejected(i, Text("not a STIX object but a JSON %(kind)s", {"kind": kind}))


def write(objects: Iterable[dict[str, Any]], out: IO[bytes]) -> None:
    """A bundle of ``objects``, written as they come (a large export is never held)."""
    out.write(b'{"type": "bundle", "id": "bundle--%s", "objects": [' % str(uuid.uuid4()).encode())
    first = True
    for obj in objects:
        out.write(b"\n  " if first else b",\n  ")
        out.write(json.dumps(obj, ensure_ascii=False, sort_keys=False).encode())
        first = False
    out.write(b"\n]}\n")


def sniff(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith((b"{", b"[")):
        return False
    return b'"spec_version"' in text or b'"bundle"' in text or b'"stix' in text


FORMAT = Format(
    name="stix",
    title="STIX 2.1 (bundle)",
    media_type=MEDIA_TYPE,
    extension="json",
    read=read,
    write=write,
    sniff=sniff,
)
