"""One prepared MISP event through misp-stix's ``MISPtoSTIX21Parser``, and what Kizashi
adds to its STIX (the list is in :mod:`.reading`).

misp-stix records what goes wrong in its ``errors`` and ``warnings`` (pymisp logs the
same lines): they become :class:`~.prepare.Problem` items naming the record, never
printed. A record misp-stix leaves out without a word is kept as the custom object
misp-stix itself makes for what it cannot map (``x-misp-attribute``, ``x-misp-object``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from kizashi.formats.misp import capture
from kizashi.formats.misp.common import Prepared, Problem, Record
from kizashi.formats.misp.galaxy import fix_cluster_object
from kizashi.formats.misp.libraries import MISPtoSTIX21Mapping, MISPtoSTIX21Parser
from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model

_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
#: pymisp's message for an attribute it refuses (``… Attribute <uuid> in file Object <uuid>:``).
_FAILED = re.compile(r"Failed validation for \S+ Attribute <[^>]*>[^:\n]*:\n(?P<rest>.*)", re.S)
#: misp-stix's message for an event without an organisation: nothing is lost (its
#: objects have no ``created_by_ref``), so it is no problem of the import.
_HARMLESS = ("Missing Orgc",)
_TIME_FIELDS = (
    "created",
    "modified",
    "valid_from",
    "first_observed",
    "last_observed",
    "published",
    "first_seen",
    "last_seen",
)


class UnconvertibleError(Exception):
    """misp-stix made nothing of the event."""


def convert(prepared: Prepared) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The event's STIX objects, and the problems with its records."""
    parser = MISPtoSTIX21Parser()
    before = datetime.now(UTC)
    with capture.held() as logged:
        try:
            parser.parse_misp_event(prepared.event)
        except Exception as exc:  # misp-stix's own failure, on this event only
            raise UnconvertibleError(_clean(f"{type(exc).__name__}: {exc}")) from None
    after = datetime.now(UTC)
    objects = [_as_dict(o) for o in parser.stix_objects]
    ids = {f"report--{prepared.uuid}", f"grouping--{prepared.uuid}"}
    container = next((o for o in objects if o["id"] in ids), None)
    if container is None:
        said = [m for ms in parser.errors.values() for m in ms] + logged
        reasons = list(dict.fromkeys(_clean(m) for m in said))[:3]
        raise UnconvertibleError("; ".join(reasons) or "no report made")
    produced = {o["id"].split("--", 1)[1] for o in objects}
    problems = list(prepared.problems)
    problems += _problems(parser, logged, prepared, produced)
    noted = {u for p in problems for u in _UUID.findall(p.why)}
    objects += _kept(prepared, produced, noted, container, objects)
    _fix_times(objects, before, after, prepared.timestamp)
    for obj in objects:
        cluster = prepared.clusters.get(obj["id"].split("--", 1)[1])
        if cluster is not None:
            fix_cluster_object(obj, cluster)
    _revoke_deleted(objects, prepared.records)
    _keep_comments(objects, prepared.event)
    _mark(objects, container, prepared)
    return objects, problems


def _keep_comments(objects: list[dict[str, Any]], event: dict[str, Any]) -> None:
    """misp-stix writes a record's comment on its indicator (``description``) but not
    on its observed data: a record made only observed data (``to_ids`` false) keeps its
    comment as ``x_misp_comment`` there, which writing reads back."""
    by_id = {o["id"]: o for o in objects}
    for record_uuid, record in _records_by_uuid(event):
        comment = record.get("comment")
        observed = by_id.get(f"observed-data--{record_uuid}")
        if not isinstance(comment, str) or not comment or observed is None:
            continue
        if f"indicator--{record_uuid}" not in by_id and "x_misp_comment" not in observed:
            observed["x_misp_comment"] = comment


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return json.loads(json.dumps(obj, default=str))  # type: ignore[no-any-return]
    return json.loads(obj.serialize())  # type: ignore[no-any-return]


# -- what misp-stix said ----------------------------------------------------------------


def _problems(
    parser: Any, logged: list[str], prepared: Prepared, produced: set[str]
) -> Iterator[Problem]:
    records = {r.uuid: r for r in prepared.records}
    for r in prepared.records:
        records.update(dict.fromkeys(r.parts, r))
    values = dict(_attribute_values(prepared.event))
    errors = [m for ms in parser.errors.values() for m in ms]
    warnings = [m for ms in parser.warnings.values() for m in ms]
    said = set(errors) | set(warnings)
    errors += [m for m in logged if m not in said and "Failed validation" not in m]
    seen: set[str] = set()
    for message, serious in [(m, True) for m in errors] + [(m, False) for m in warnings]:
        if message.startswith(_HARMLESS):
            continue
        named = next((u for u in _UUID.findall(message) if u in records), None)
        failed = _FAILED.match(message)
        if named is None:
            if not serious:
                continue  # a remark on how something was mapped: nothing is lost
            why = f"event {prepared.uuid}: {_clean(message)}"
            where = ""
        elif failed is not None:  # pymisp refused the attribute: it is left out
            kind, value = values.get(named, ("?", ""))
            reason = failed["rest"].strip().removeprefix(f"{value} - ").rstrip(".")
            why = f"attribute {named} ({kind}): value {value!r} is not valid: {reason}"
            record = records[named]
            if record.uuid != named:
                why += f" (left out of object {record.uuid}, {record.type})"
            where = record.where
        else:
            record = records[named]
            lost = record.uuid not in produced
            if not serious and not lost:
                continue
            why = f"{record.kind} {record.uuid} ({record.type}): {_clean(message)}"
            if not lost:
                why += " (the rest of it was imported)"
            where = record.where
        if why not in seen:
            seen.add(why)
            yield Problem(where, why)


def _clean(message: str) -> str:
    """misp-stix's message without its traceback: what failed, and the last line (why)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "no reason given"
    first = lines[0].rstrip(":")
    last = lines[-1]
    text = first if len(lines) == 1 else f"{first}: {last}"
    return text if len(text) <= 400 else text[:399] + "…"


def _attribute_values(event: dict[str, Any]) -> Iterator[tuple[str, tuple[str, str]]]:
    holders = [event, *event.get("Object", [])]
    for holder in holders:
        for attribute in holder.get("Attribute", []):
            yield attribute["uuid"], (attribute["type"], attribute["value"])


# -- what Kizashi adds ------------------------------------------------------------------


def _kept(
    prepared: Prepared,
    produced: set[str],
    noted: set[str],
    container: dict[str, Any],
    objects: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The records misp-stix made nothing of, with nothing said: as the custom objects
    misp-stix makes for what it does not map."""
    made: list[dict[str, Any]] = []
    markings = {o["id"] for o in objects if o["type"] == "marking-definition"}
    by_uuid = dict(_records_by_uuid(prepared.event))
    creator = container.get("created_by_ref")
    for record in prepared.records:
        if record.uuid in produced or record.uuid in noted:
            continue
        if any(part in produced for part in record.parts):
            continue
        source = by_uuid[record.uuid]
        obj = _custom(record, source, creator)
        for tag in source.get("Tag", []):
            marking = MISPtoSTIX21Mapping.tlp_markings(tag["name"])
            marking = marking or MISPtoSTIX21Mapping.tlp2_markings(tag["name"])
            if marking is None:
                obj.setdefault("labels", []).append(tag["name"])
                continue
            obj.setdefault("object_marking_refs", []).append(marking.id)
            if marking.id not in markings:
                markings.add(marking.id)
                made.append(_as_dict(marking))
        made.append(obj)
        container["object_refs"].append(obj["id"])
    return made


def _custom(record: Record, source: dict[str, Any], creator: Any) -> dict[str, Any]:
    when = _stix_time(int(source["timestamp"]))
    obj: dict[str, Any] = {
        "type": f"x-misp-{record.kind}",
        "spec_version": "2.1",
        "id": f"x-misp-{record.kind}--{record.uuid}",
        "created": when,
        "modified": when,
    }
    if isinstance(creator, str):
        obj["created_by_ref"] = creator
    if record.kind == "attribute":
        obj["labels"] = [f'misp:{k}="{source[k]}"' for k in ("type", "category") if source.get(k)]
        obj |= {"x_misp_type": source["type"], "x_misp_value": source["value"]}
        if source.get("category"):
            obj["x_misp_category"] = source["category"]
    else:
        category = source.get("meta-category") or "misc"
        obj["labels"] = [f'misp:name="{source["name"]}"', f'misp:meta-category="{category}"']
        obj |= {
            "x_misp_name": source["name"],
            "x_misp_meta_category": category,
            "x_misp_attributes": [
                {
                    k: a[k]
                    for k in ("type", "object_relation", "value", "category", "comment", "uuid")
                    if a.get(k) not in (None, "")
                }
                for a in source["Attribute"]
            ],
        }
    if source.get("comment"):
        obj["x_misp_comment"] = source["comment"]
    return obj


def _records_by_uuid(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for attribute in event.get("Attribute", []):
        yield attribute["uuid"], attribute
    for obj in event.get("Object", []):
        yield obj["uuid"], obj


def _stix_time(stamp: int, millis: bool = True) -> str:
    text = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (".000Z" if millis else "Z")


def _fix_times(
    objects: list[dict[str, Any]], before: datetime, after: datetime, stamp: int
) -> None:
    """A time misp-stix took from the clock (a record it found none in) is the event's."""
    for obj in objects:
        for key in _TIME_FIELDS:
            value = obj.get(key)
            if not isinstance(value, str):
                continue
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if before <= when <= after:
                obj[key] = _stix_time(stamp, millis="." in value)


def _revoke_deleted(objects: list[dict[str, Any]], records: list[Record]) -> None:
    """What MISP deleted (``deleted: true``) is imported revoked: a copy imported before
    it was deleted is revoked with it."""
    deleted = {r.uuid for r in records if r.deleted}
    for obj in objects:
        kind, _, uid = obj["id"].partition("--")
        if uid in deleted and kind not in stix_model.OBSERVABLE_TYPES:
            obj["revoked"] = True


def _mark(objects: list[dict[str, Any]], container: dict[str, Any], prepared: Prepared) -> None:
    """The event's TLP on everything the event holds that has no TLP of its own, as in
    MISP; not on what any event may name (its organisation, a galaxy's own clusters)."""
    event_tlp = [r for r in container.get("object_marking_refs", []) if r in tlp_model.LEVEL_BY_ID]
    if not event_tlp:
        return
    held = {r.uuid for r in prepared.records}
    for obj in objects:
        uid = obj["id"].split("--", 1)[1]
        if obj is container or obj["type"] == "marking-definition":
            continue
        if obj["type"] == "identity" and uid not in held:
            continue  # the event's organisation, or a sighting's
        cluster = prepared.clusters.get(uid)
        if cluster is not None and cluster.default:
            continue
        refs = obj.get("object_marking_refs", [])
        if any(r in tlp_model.LEVEL_BY_ID for r in refs):
            continue
        obj["object_marking_refs"] = [*refs, *event_tlp]
