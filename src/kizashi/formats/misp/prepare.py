"""A MISP event made complete before misp-stix reads it, so that its STIX is the same
every time it is read (see the list of departures in :mod:`.reading`).

misp-stix and pymisp fill what an event leaves out from the clock and the random
generator (a missing uuid becomes a UUIDv4, a missing timestamp "now"). Here every uuid
that is missing or is not a UUID is derived (UUIDv5) from what the record holds, every
missing timestamp is taken from the record that holds it, and an event without ``info``
is named after its uuid. Records misp-stix would turn into nonsense (a value that is a
JSON object) or drop without a word (a proposal, an expiration sighting) are taken out
here and reported as :class:`Problem` items.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from kizashi.formats.misp.common import (
    Prepared,
    Problem,
    Record,
    date_of,
    derived,
    is_uuid,
    timestamp_of,
)
from kizashi.formats.misp.context import EventContext

__all__ = ["Prepared", "Problem", "Record", "prepare"]


def prepare(event: dict[str, Any]) -> Prepared:
    """The event (its ``Event`` content, unwrapped) complete, with what was left out."""
    event = json.loads(json.dumps(event))  # a copy: pymisp pops what it loads
    given = event.get("uuid")
    event_uuid = str(given) if is_uuid(given) else derived("event", event)
    stamp = timestamp_of(event.get("timestamp"))
    if stamp is None:
        published = timestamp_of(event.get("publish_timestamp"))
        stamp = published or date_of(event.get("date")) or 0
    event["uuid"] = event_uuid
    event["timestamp"] = str(stamp)
    if not date_of(event.get("date")):
        event["date"] = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
    if not isinstance(event.get("info"), str) or not event["info"].strip():
        event["info"] = f"MISP event {event_uuid}"
    out = Prepared(event, event_uuid, stamp)
    _Preparer(out).run()
    return out


class _Preparer(EventContext):
    def __init__(self, out: Prepared) -> None:
        self.out = out
        self.remap: dict[str, str] = {}  # an object's uuid as written -> as used
        self.seen: Counter[str] = Counter()

    def problem(self, where: str, why: str) -> None:
        self.out.problems.append(Problem(where, why))

    def uuid_for(self, record: dict[str, Any], *identity: Any) -> str:
        """The record's uuid, or one derived from what it holds (the n-th record with
        the same content gets its own)."""
        given = record.get("uuid")
        if is_uuid(given):
            return str(given)
        key = json.dumps([given, *identity], sort_keys=True, default=str)
        self.seen[key] += 1
        made = derived(self.out.uuid, given, *identity, self.seen[key])
        if isinstance(given, str) and given:
            self.remap.setdefault(given, made)
        return made

    def run(self) -> None:
        event = self.out.event
        for key in ("Attribute", "Object", "EventReport", "Tag", "Galaxy"):
            if key in event and not isinstance(event[key], list | type(None)):
                self.problem(key, f"the event's {key} is a JSON {_kind(event[key])}, not a list")
        self.tags(event, "Tag")
        self.proposals(event, "")
        self.galaxies(event, "")
        event["Attribute"] = self.attributes(
            event.get("Attribute"), "Attribute", self.out.timestamp, None
        )
        objects = event.get("Object")
        kept: list[dict[str, Any]] = []
        for i, obj in enumerate(objects if isinstance(objects, list) else []):
            made = self.object(obj, f"Object[{i}]")
            if made is not None:
                kept.append(made)
        for obj in kept:
            self.references(obj)
        event["Object"] = kept
        self.reports(event)
        self.analyst_data(event, event["uuid"])
        self.clusters()

    # -- attributes and objects ---------------------------------------------------------

    def attributes(
        self, attributes: Any, where: str, parent_stamp: int, owner: str | None
    ) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        for i, attribute in enumerate(attributes if isinstance(attributes, list) else []):
            here = f"{where}[{i}]"
            if not isinstance(attribute, dict):
                self.problem(here, f"an attribute is a JSON object, not a {_kind(attribute)}")
                continue
            made = self.attribute(attribute, here, parent_stamp, owner)
            if made is not None:
                kept.append(made)
        return kept

    def attribute(
        self, attribute: dict[str, Any], where: str, parent_stamp: int, owner: str | None
    ) -> dict[str, Any] | None:
        kind = attribute.get("type")
        value = attribute.get("value")
        relation = attribute.get("object_relation")
        name = attribute.get("uuid") if is_uuid(attribute.get("uuid")) else "without a uuid"
        if not isinstance(kind, str) or not kind:
            self.problem(where, f"attribute {name}: it has no type")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            shown = json.dumps(value, ensure_ascii=False)[:80]
            self.problem(where, f"attribute {name} ({kind}): value {shown} is not text")
            return None
        attribute["value"] = str(value)
        attribute["uuid"] = self.uuid_for(attribute, "attribute", owner, kind, relation, value)
        stamp = timestamp_of(attribute.get("timestamp"))
        attribute["timestamp"] = str(stamp if stamp is not None else parent_stamp)
        own_stamp = int(attribute["timestamp"])
        self.tags(attribute, "Tag")
        self.proposals(attribute, where)
        self.galaxies(attribute, where)
        self.sightings(attribute, where, own_stamp)
        self.analyst_data(attribute, attribute["uuid"])
        if owner is None:
            self.out.records.append(
                Record("attribute", attribute["uuid"], kind, where, _deleted(attribute))
            )
        return attribute

    def object(self, obj: Any, where: str) -> dict[str, Any] | None:
        if not isinstance(obj, dict):
            self.problem(where, f"an object is a JSON object, not a {_kind(obj)}")
            return None
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            self.problem(where, "object without a name (its template)")
            return None
        obj["uuid"] = self.uuid_for(obj, "object", name, obj.get("Attribute"))
        stamp = timestamp_of(obj.get("timestamp"))
        obj["timestamp"] = str(stamp if stamp is not None else self.out.timestamp)
        obj["Attribute"] = self.attributes(
            obj.get("Attribute"), f"{where}.Attribute", int(obj["timestamp"]), obj["uuid"]
        )
        if not obj["Attribute"]:
            self.problem(where, f"object {obj['uuid']} ({name}): none of its attributes is usable")
            return None
        self.tags(obj, "Tag")
        self.analyst_data(obj, obj["uuid"])
        parts = tuple(a["uuid"] for a in obj["Attribute"])
        self.out.records.append(Record("object", obj["uuid"], name, where, _deleted(obj), parts))
        return obj

    def references(self, obj: dict[str, Any]) -> None:
        """An object's references, with the uuids they name as they are now used."""
        refs = obj.get("ObjectReference")
        kept: list[dict[str, Any]] = []
        for ref in refs if isinstance(refs, list) else []:
            target = ref.get("referenced_uuid") if isinstance(ref, dict) else None
            if not isinstance(target, str) or not isinstance(ref.get("relationship_type"), str):
                continue  # nothing to relate: MISP itself shows no such reference
            target = self.remap.get(target, target)
            ref["referenced_uuid"] = target
            ref["object_uuid"] = obj["uuid"]
            ref["uuid"] = self.uuid_for(
                ref, "reference", obj["uuid"], ref["relationship_type"], target
            )
            stamp = timestamp_of(ref.get("timestamp"))
            ref["timestamp"] = str(stamp if stamp is not None else obj["timestamp"])
            kept.append(ref)
        obj["ObjectReference"] = kept

    def sightings(self, attribute: dict[str, Any], where: str, stamp: int) -> None:
        sightings = attribute.get("Sighting")
        if sightings is None:
            return
        kept: list[dict[str, Any]] = []
        for i, sighting in enumerate(sightings if isinstance(sightings, list) else []):
            if not isinstance(sighting, dict):
                continue
            kind = str(sighting.get("type", "0"))
            if kind not in ("0", "1"):
                self.problem(
                    f"{where}.Sighting[{i}]",
                    f"attribute {attribute['uuid']}: an expiration sighting (type {kind}) has "
                    "no STIX form; not imported",
                )
                continue
            sighting["type"] = kind
            when = timestamp_of(sighting.get("date_sighting"))
            sighting["date_sighting"] = str(when if when is not None else stamp)
            org = sighting.get("Organisation")
            if org is not None and not (
                isinstance(org, dict) and is_uuid(org.get("uuid")) and org.get("name")
            ):
                sighting.pop("Organisation")
            sighting["uuid"] = self.uuid_for(
                sighting, "sighting", attribute["uuid"], kind, sighting["date_sighting"]
            )
            kept.append(sighting)
        attribute["Sighting"] = kept

    def proposals(self, record: dict[str, Any], where: str) -> None:
        """Proposals (``ShadowAttribute``) are not the event's until accepted in MISP."""
        proposals = record.pop("ShadowAttribute", None)
        for i, proposal in enumerate(proposals if isinstance(proposals, list) else []):
            if not isinstance(proposal, dict):
                continue
            shown = json.dumps(proposal.get("value"), ensure_ascii=False)[:80]
            target = f"attribute {record['uuid']}" if where else "the event"
            self.problem(
                f"{where + '.' if where else ''}ShadowAttribute[{i}]",
                f"a proposal to {target} ({proposal.get('type')} {shown}) is not part of the "
                "event until it is accepted in MISP; not imported",
            )

    # -- tags, reports, analyst data ------------------------------------------------------


def _deleted(record: dict[str, Any]) -> bool:
    return record.get("deleted") in (True, 1, "1", "true")


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
