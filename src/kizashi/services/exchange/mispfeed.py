"""A selection served as a MISP feed: ``manifest.json``, ``hashes.csv`` and one file per
event, the layout a MISP instance (and Kizashi's own MISP-feed poller) subscribes to.

The events are what the MISP format writes for the selection, as the asker may read it,
so a feed never holds more than its reader's exports would. They are built once per
reader, selection and state of the store (the newest ``updated_at`` and the number of
objects), and kept for the next requests: a subscriber reads the manifest and then
every event file, which would otherwise rebuild the whole feed each time.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kizashi import formats
from kizashi.model.actor import Actor
from kizashi.model.errors import not_found
from kizashi.services.common import Context
from kizashi.services.exchange.exporting import Exporter, Selection
from kizashi.store.schema import objects

#: Feeds kept built (per reader and selection).
KEEP = 8
#: The summary of an event that a MISP manifest carries.
MANIFEST_KEYS = ("info", "date", "analysis", "threat_level_id", "timestamp", "published")


@dataclass(frozen=True)
class Feed:
    #: event UUID → the event (the ``Event`` object, without its wrapper).
    events: dict[str, dict[str, Any]]

    def manifest(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for event_uuid, event in self.events.items():
            summary = {k: event[k] for k in MANIFEST_KEYS if k in event}
            if "Orgc" in event:
                summary["Orgc"] = {
                    k: event["Orgc"][k] for k in ("name", "uuid") if k in event["Orgc"]
                }
            summary["Tag"] = [
                {k: t[k] for k in ("name", "colour") if k in t} for t in event.get("Tag", [])
            ]
            out[event_uuid] = summary
        return out

    def hashes(self) -> str:
        """``md5(value),event uuid`` per attribute value: how MISP correlates a feed
        without fetching its events."""
        lines = []
        for event_uuid, event in self.events.items():
            for attr in _attributes(event):
                value = attr.get("value")
                if isinstance(value, str) and value:
                    digest = hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()
                    lines.append(f"{digest},{event_uuid}\n")
        return "".join(lines)

    def event(self, event_uuid: str) -> dict[str, Any]:
        found = self.events.get(event_uuid.lower())
        if found is None:
            raise not_found("Event %(uuid)s was not found.", uuid=event_uuid[:64])
        return {"Event": found}


def _attributes(event: dict[str, Any]) -> list[dict[str, Any]]:
    out = [a for a in event.get("Attribute", []) if isinstance(a, dict)]
    for obj in event.get("Object", []):
        if isinstance(obj, dict):
            out += [a for a in obj.get("Attribute", []) if isinstance(a, dict)]
    return out


def events_in(doc: Any) -> list[dict[str, Any]]:
    """The events of what the MISP format wrote: one event, a list, or a REST answer."""
    if isinstance(doc, dict) and "response" in doc:
        doc = doc["response"]
    if isinstance(doc, dict):
        doc = [doc]
    out = []
    for item in doc if isinstance(doc, list) else []:
        event = item.get("Event", item) if isinstance(item, dict) else None
        if isinstance(event, dict) and isinstance(event.get("uuid"), str):
            out.append(event)
    return out


class MispFeeds:
    def __init__(self, ctx: Context, exporter: Exporter) -> None:
        self.ctx = ctx
        self.exporter = exporter
        self._built: OrderedDict[tuple[Any, ...], Feed] = OrderedDict()
        self._lock = threading.Lock()

    def feed(self, actor: Actor, selection: Selection) -> Feed:
        key = (actor.user_pk, actor.role, selection, self._state())
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
        built = self._build(actor, selection)
        with self._lock:
            self._built[key] = built
            while len(self._built) > KEEP:
                self._built.popitem(last=False)
        return built

    def _state(self) -> tuple[Any, ...]:
        with self.ctx.store.read() as conn:
            row = conn.execute(
                sa.select(sa.func.max(objects.c.updated_at), sa.func.count(objects.c.pk))
            ).one()
        return tuple(row)

    def _build(self, actor: Actor, selection: Selection) -> Feed:
        fmt = formats.get("misp", writing=True)
        assert fmt.write is not None
        out = io.BytesIO()
        fmt.write(self.exporter.objects_of(actor, selection), out)
        events = events_in(json.loads(out.getvalue() or b"[]"))
        return Feed({e["uuid"].lower(): e for e in events})


def feed_selection(tags: str | None) -> Selection:
    """What a feed URL serves: everything its reader may read, or one tag expression."""
    return Selection(tags=tags or None)
