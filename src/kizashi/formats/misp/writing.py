"""Writing STIX 2.1 objects as MISP events, through misp-stix's STIX-to-MISP parsers.

- **One event per report or grouping**, with what it refers to (its ``object_refs``, and
  what those refer to in turn), and the relationships, sightings, notes and opinions
  about those objects. Objects no report or grouping reaches go into one more event,
  ``Kizashi export: objects in no report`` (a grouping Kizashi makes for them, its id
  derived from theirs).
- **Which parser.** Reports and groupings misp-stix made from MISP events (labelled
  ``misp:tool="MISP-STIX-Converter"``) go through ``InternalSTIX2toMISPParser``, which
  reads back what misp-stix wrote (attributes, objects, galaxies, event reports); the
  others, and the extra event, through ``ExternalSTIX2toMISPParser``. An object misp-stix
  cannot express is left out (the contract: skip what the format cannot express).
- **Tags.** TLP markings become ``tlp:`` tags (misp-stix's mapping); an attribute's or
  an object's TLP tag that is its event's is left to the event (MISP applies it, and
  reading adds it back). The two labels misp-stix puts on every report it makes
  (``Threat-Report``, ``misp:tool="MISP-STIX-Converter"``) are not written as tags.
- **Creator.** An event's ``Orgc`` is its report's ``created_by_ref`` identity, so that a
  MISP instance (or Kizashi) reading it makes the same identity again.
- **Output**: ``{"response": [{"Event": {...}}, ...]}``, MISP's REST form, keys sorted;
  each event loads with ``pymisp.MISPEvent().load``. The same objects give the same
  bytes.
- **Memory.** misp-stix needs the whole bundle: the objects are held, with the events
  made of them, until the document is written. An export to MISP takes a few times its
  own size in memory; for a store-wide export, STIX streams.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from kizashi.formats.misp import capture
from kizashi.formats.misp.common import derived
from kizashi.formats.misp.libraries import (
    ExternalSTIX2toMISPParser,
    InternalSTIX2toMISPParser,
    load_stix2_content,
)

_CONTAINERS = ("report", "grouping")
_FROM_MISP = ('misp:tool="MISP-STIX-Converter"', 'misp:tool="misp2stix2"')
_ARTEFACTS = frozenset({"Threat-Report", 'misp:tool="MISP-STIX-Converter"'})
#: Objects that say something about others: they go with what they are about.
_ABOUT = {"relationship": ("source_ref",), "sighting": ("sighting_of_ref",)}
#: Objects that are no event's content on their own.
_SUPPORT = frozenset({"marking-definition", "extension-definition", "language-content"})
LEFTOVER_NAME = "Kizashi export: objects in no report"


def write(objects: Iterable[dict[str, Any]], out: IO[bytes]) -> None:
    """The objects as MISP events (held in memory: see above)."""
    events = list(events_of(list(objects)))
    doc = {"response": [{"Event": e} for e in events]}
    out.write(json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode())
    out.write(b"\n")


def events_of(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The MISP events (as dicts) the objects make."""
    by_id: dict[str, dict[str, Any]] = {}
    for obj in objects:
        if isinstance(obj.get("id"), str) and isinstance(obj.get("type"), str):
            by_id.setdefault(obj["id"], json.loads(json.dumps(obj)))
    containers = [o for o in by_id.values() if o["type"] in _CONTAINERS]
    reached: dict[str, set[str]] = {c["id"]: _closure(c, by_id) for c in containers}
    _attach(by_id, containers, reached)
    anywhere = set().union(*reached.values()) if reached else set()
    # The producer of an extension definition (misp-stix's own identity) is support too.
    producers = {o.get("created_by_ref") for o in by_id.values() if o["type"] in _SUPPORT}
    leftovers = [
        o["id"]
        for o in by_id.values()
        if o["id"] not in anywhere
        and o["type"] not in _SUPPORT | set(_CONTAINERS)
        and o["id"] not in producers
    ]
    internal = [c for c in containers if _from_misp(c)]
    external = [c for c in containers if not _from_misp(c)]
    if leftovers:
        extra = _leftover_grouping(leftovers, by_id)
        by_id[extra["id"]] = extra
        reached[extra["id"]] = _closure(extra, by_id)
        external.append(extra)
    for group, parser in (
        (internal, InternalSTIX2toMISPParser),
        (external, ExternalSTIX2toMISPParser),
    ):
        if group:
            yield from _converted(group, reached, by_id, parser)


def _refs(obj: Any) -> Iterator[str]:
    """Every id an object refers to (``*_ref``, ``*_refs``, at any depth)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key.endswith("_ref") and isinstance(value, str):
                yield value
            elif key.endswith("_refs") and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            elif isinstance(value, dict | list):
                yield from _refs(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _refs(value)


def _closure(start: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> set[str]:
    seen = {start["id"]}
    todo = [start]
    while todo:
        for ref in _refs(todo.pop()):
            if ref not in seen and ref in by_id:
                seen.add(ref)
                todo.append(by_id[ref])
    return seen


def _attach(
    by_id: dict[str, dict[str, Any]],
    containers: list[dict[str, Any]],
    reached: dict[str, set[str]],
) -> None:
    """A relationship, sighting, note or opinion no container lists goes with the first
    container that holds what it is about."""
    for obj in by_id.values():
        if obj["type"] not in (*_ABOUT, "note", "opinion"):
            continue
        if any(obj["id"] in r for r in reached.values()):
            continue
        about = [obj.get(k) for k in _ABOUT.get(obj["type"], ())] or obj.get("object_refs", [])
        for container in containers:
            held = reached[container["id"]]
            if any(isinstance(a, str) and a in held for a in about):
                listed = container.setdefault("object_refs", [])
                more = _closure(obj, by_id) - held
                added = sorted(i for i in more if by_id[i]["type"] not in _SUPPORT)
                listed += [i for i in [obj["id"], *added] if i not in listed]
                held |= {obj["id"], *added}
                break


def _from_misp(container: dict[str, Any]) -> bool:
    labels = container.get("labels")
    return isinstance(labels, list) and any(t in labels for t in _FROM_MISP)


def _leftover_grouping(ids: list[str], by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    times = [by_id[i].get("modified") or by_id[i].get("created") for i in ids]
    when = max((t for t in times if isinstance(t, str)), default="1970-01-01T00:00:00.000Z")
    return {
        "type": "grouping",
        "spec_version": "2.1",
        "id": f"grouping--{derived('leftovers', sorted(ids))}",
        "created": when,
        "modified": when,
        "name": LEFTOVER_NAME,
        "context": "unspecified",
        "object_refs": ids,
    }


def _converted(
    containers: list[dict[str, Any]],
    reached: dict[str, set[str]],
    by_id: dict[str, dict[str, Any]],
    parser_class: Any,
) -> Iterator[dict[str, Any]]:
    wanted: set[str] = set()
    for container in containers:
        wanted |= reached[container["id"]]
    first = min(c["id"] for c in containers)
    held = [o for i, o in by_id.items() if i in wanted]
    bundle = {"type": "bundle", "id": f"bundle--{derived('bundle', first)}", "objects": held}
    with capture.held():
        parser = parser_class()
        parser.load_stix_bundle(load_stix2_content(bundle))
        parser.parse_stix_bundle()
        made = parser.misp_events
    labels: dict[str, list[str]] = {}
    comments: dict[str, str] = {}
    for obj in held:
        said = obj.get("x_misp_comment" if obj["type"] == "observed-data" else "description")
        if isinstance(said, str) and said:
            comments.setdefault(obj["id"].split("--", 1)[1], said)
        own = obj.get("labels")
        if isinstance(own, list):
            tags = labels.setdefault(obj["id"].split("--", 1)[1], [])
            tags += [t for t in own if isinstance(t, str) and _is_tag(t) and t not in tags]
    for event in made if isinstance(made, list) else [made]:
        yield _with_creator(_tidied(json.loads(event.to_json()), labels, comments), by_id)


def _with_creator(event: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The event's ``Orgc`` is its report's ``created_by_ref`` identity (misp-stix writes
    none; reading an event makes that identity of its Orgc, so it comes back the same)."""
    if "Orgc" in event:
        return event
    container = next(
        (
            by_id[f"{t}--{event.get('uuid')}"]
            for t in _CONTAINERS
            if f"{t}--{event.get('uuid')}" in by_id
        ),
        None,
    )
    creator = by_id.get(str(container.get("created_by_ref"))) if container else None
    if creator and creator["type"] == "identity" and isinstance(creator.get("name"), str):
        event["Orgc"] = {"name": creator["name"], "uuid": creator["id"].split("--", 1)[1]}
    return event


def _is_tag(label: str) -> bool:
    """A label that is a tag of its own, not one misp-stix writes to describe a record
    (``misp:type="ip-dst"``) or a galaxy (which MISP holds as a galaxy)."""
    return not label.startswith(("misp:", "misp-galaxy:")) and label not in _ARTEFACTS


def _tidied(
    event: dict[str, Any], labels: dict[str, list[str]], comments: dict[str, str]
) -> dict[str, Any]:
    """Without misp-stix's own labels as tags, without the event's TLP repeated on each
    attribute and object, with the labels misp-stix did not make tags of (the external
    parser makes none), with the comment misp-stix left out (an indicator's description,
    observed data's ``x_misp_comment``: see convert.py), and with references'
    uuids that do not change."""
    _add_tags(event, labels.get(str(event.get("uuid")), []))
    tags = [t for t in event.get("Tag", []) if t.get("name") not in _ARTEFACTS]
    if tags:
        event["Tag"] = tags
    else:
        event.pop("Tag", None)
    event_tlp = {t["name"] for t in tags if str(t.get("name", "")).startswith("tlp:")}
    holders = [*event.get("Attribute", []), *event.get("Object", [])]
    for obj in event.get("Object", []):
        holders += obj.get("Attribute", [])
    for obj in event.get("Object", []):
        for ref in obj.get("ObjectReference", []):
            # pymisp gives a reference it adds a random uuid: one from what it says
            what = (obj.get("uuid"), ref.get("relationship_type"), ref.get("referenced_uuid"))
            ref["uuid"] = derived("reference", *what)
    for holder in [event, *holders]:
        _analyst_times(holder)
    for holder in holders:
        _add_tags(holder, labels.get(str(holder.get("uuid")), []))
        comment = comments.get(str(holder.get("uuid")))
        if comment and not holder.get("comment"):
            holder["comment"] = comment
        own = [t for t in holder.get("Tag", []) if t.get("name") not in event_tlp]
        if own:
            holder["Tag"] = own
        else:
            holder.pop("Tag", None)
    return event


def _add_tags(record: dict[str, Any], names: list[str]) -> None:
    held = {t.get("name") for t in record.get("Tag", [])}
    missing = [{"name": n} for n in names if n not in held and not n.startswith("tlp:")]
    if missing:
        record["Tag"] = [*record.get("Tag", []), *missing]


def _analyst_times(record: dict[str, Any]) -> None:
    """pymisp writes an analyst note's times with their zone and reads them only
    without one (it adds UTC): written as it reads them."""
    for key in ("Note", "Opinion", "Relationship"):
        for item in record.get(key, []):
            for field in ("created", "modified"):
                value = item.get(field)
                if isinstance(value, str):
                    item[field] = value.removesuffix("Z").removesuffix("+00:00")
