"""What the MISP reader's modules share: the records of a prepared event, and the uuids
and times Kizashi derives where an event leaves them out."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NAMESPACE = uuid.UUID("34a62094-70d5-454f-8a0f-fe410f103b08")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


@dataclass(frozen=True)
class Problem:
    """A record of the event left out, where it was, and why."""

    where: str
    why: str


@dataclass(frozen=True)
class Record:
    """What the conversion needs to know about an attribute or an object afterwards."""

    kind: str  # "attribute" or "object"
    uuid: str
    type: str
    where: str
    deleted: bool
    #: The uuids of the object's attributes (an object's STIX may be named after them).
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cluster:
    """A galaxy cluster of the event, as the conversion refers to it."""

    uuid: str
    type: str
    value: str
    version: int | None
    default: bool
    meta: dict[str, Any]


@dataclass
class Prepared:
    """The event as misp-stix reads it, and what was learnt on the way."""

    event: dict[str, Any]
    uuid: str
    timestamp: int
    problems: list[Problem] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def derived(*parts: Any) -> str:
    """A UUIDv5 in Kizashi's namespace for what identifies a record."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return str(uuid.uuid5(NAMESPACE, text))


def timestamp_of(value: Any) -> int | None:
    """A MISP timestamp (seconds since the epoch, as a string or a number), if it is one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def date_of(value: Any) -> int | None:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return int(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
        except ValueError:
            return None
    return None
