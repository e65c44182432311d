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
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Kizashi's namespace for the uuids it derives for MISP records.
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


def _date_of(value: Any) -> int | None:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return int(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
        except ValueError:
            return None
    return None


def prepare(event: dict[str, Any]) -> Prepared:
    """The event (its ``Event`` content, unwrapped) complete, with what was left out."""
    event = json.loads(json.dumps(event))  # a copy: pymisp pops what it loads
    event_uuid = event.get("uuid") if is_uuid(event.get("uuid")) else derived("event", event)
    stamp = timestamp_of(event.get("timestamp"))
    if stamp is None:
        published = timestamp_of(event.get("publish_timestamp"))
        stamp = published or _date_of(event.get("date")) or 0
    event["uuid"] = event_uuid
    event["timestamp"] = str(stamp)
    if not _date_of(event.get("date")):
        event["date"] = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
    if not isinstance(event.get("info"), str) or not event["info"].strip():
        event["info"] = f"MISP event {event_uuid}"
    out = Prepared(event, event_uuid, stamp)
    _Preparer(out).run()
    return out


class _Preparer:
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
            ref["uuid"] = self.uuid_for(ref, "reference", obj["uuid"], ref["relationship_type"], target)
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

    def tags(self, record: dict[str, Any], key: str) -> None:
        tags = record.get(key)
        if tags is None:
            return
        kept: list[dict[str, Any]] = []
        for tag in tags if isinstance(tags, list) else []:
            name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(name, str) or not name.strip():
                continue  # a tag without a name says nothing
            name = name.strip()
            if name.lower().startswith("tlp:"):
                name = name.lower()  # misp-stix knows TLP tags in lower case only
            kept.append({**tag, "name": name})
        record[key] = kept

    def reports(self, event: dict[str, Any]) -> None:
        reports = event.get("EventReport")
        if reports is None:
            return
        kept: list[dict[str, Any]] = []
        for i, report in enumerate(reports if isinstance(reports, list) else []):
            if not isinstance(report, dict) or not isinstance(report.get("content"), str):
                self.problem(f"EventReport[{i}]", "an event report without text content")
                continue
            if not isinstance(report.get("name"), str) or not report["name"]:
                report["name"] = f"Event report {i + 1}"
            report["uuid"] = self.uuid_for(report, "report", report["name"], report["content"])
            stamp = timestamp_of(report.get("timestamp"))
            report["timestamp"] = str(stamp if stamp is not None else self.out.timestamp)
            kept.append(report)
        event["EventReport"] = kept

    def analyst_data(self, record: dict[str, Any], owner: str) -> None:
        """Analyst notes and opinions: a uuid and times each."""
        for key in ("Note", "Opinion"):
            items = record.get(key)
            if items is None:
                continue
            kept = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
            for item in kept:
                item["uuid"] = self.uuid_for(item, key, owner, item.get("note"), item.get("opinion"))
                when = item.get("created") or item.get("modified")
                if not isinstance(when, str):
                    when = datetime.fromtimestamp(self.out.timestamp, UTC).isoformat()
                item.setdefault("created", when)
                item.setdefault("modified", when)
            record[key] = kept

    # -- galaxies -------------------------------------------------------------------------

    def galaxies(self, record: dict[str, Any], where: str) -> None:
        galaxies = record.get("Galaxy")
        if galaxies is None:
            return
        kept: list[dict[str, Any]] = []
        for i, galaxy in enumerate(galaxies if isinstance(galaxies, list) else []):
            here = f"{where + '.' if where else ''}Galaxy[{i}]"
            if not isinstance(galaxy, dict) or not isinstance(galaxy.get("type"), str):
                self.problem(here, "a galaxy without a type")
                continue
            clusters = galaxy.get("GalaxyCluster")
            usable = [
                c
                for c in (clusters if isinstance(clusters, list) else [])
                if isinstance(c, dict) and isinstance(c.get("value"), str) and c["value"]
            ]
            if len(usable) != len(clusters if isinstance(clusters, list) else []):
                self.problem(here, f"galaxy {galaxy['type']}: a cluster without a value")
            if not usable:
                continue
            galaxy.setdefault("name", galaxy["type"])
            galaxy.setdefault("description", galaxy["name"])
            for cluster in usable:
                cluster.setdefault("type", galaxy["type"])
                cluster.setdefault("tag_name", f'misp-galaxy:{cluster["type"]}="{cluster["value"]}"')
            galaxy["GalaxyCluster"] = usable
            kept.append(galaxy)
        record["Galaxy"] = kept

    def clusters(self) -> None:
        """Each cluster's uuid. Clusters exported by older MISP carry their galaxy's
        uuid, the same for every cluster of it: misp-stix would keep the first of them
        only, so those get one derived from their type and value."""
        every = list(_clusters_in(self.out.event))
        values: dict[str, set[tuple[str, str]]] = {}
        for cluster in every:
            if is_uuid(cluster.get("uuid")):
                values.setdefault(cluster["uuid"], set()).add((cluster["type"], cluster["value"]))
        for cluster in every:
            given = cluster.get("uuid")
            if not is_uuid(given) or len(values.get(given, ())) > 1:
                cluster["uuid"] = derived("cluster", cluster["type"], cluster["value"])
            version = timestamp_of(cluster.get("version"))
            meta = cluster.get("meta") if isinstance(cluster.get("meta"), dict) else {}
            self.out.clusters[cluster["uuid"]] = Cluster(
                cluster["uuid"],
                cluster["type"],
                cluster["value"],
                version,
                cluster.get("default") is True,
                meta,
            )


def _clusters_in(event: dict[str, Any]) -> Any:
    holders = [event, *event.get("Attribute", [])]
    for obj in event.get("Object", []):
        holders += obj.get("Attribute", [])
    for holder in holders:
        for galaxy in holder.get("Galaxy", []) or []:
            yield from galaxy["GalaxyCluster"]


def _deleted(record: dict[str, Any]) -> bool:
    return record.get("deleted") in (True, 1, "1", "true")


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
