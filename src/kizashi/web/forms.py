"""Turn the UI's form fields into STIX objects (and back, for editing)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from kizashi.model.errors import Problem, invalid

_SPLIT = re.compile(r"[,、\n]+")
#: A date input's value, or a datetime-local one.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?")
WITH_ALIASES = {"threat-actor", "intrusion-set", "campaign", "malware", "tool", "infrastructure"}

#: A STIX identifier (type--UUID), as the note form's picker fills its box with.
STIX_ID = re.compile(
    r"[a-z0-9][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def split_list(text: str | None) -> list[str]:
    """Tags or aliases typed as ``a, b、c`` (ASCII or Japanese commas, or lines)."""
    return [p.strip() for p in _SPLIT.split(text or "") if p.strip()]


def day_to_timestamp(day: str | None, field: str, zone: tzinfo = UTC) -> str | None:
    """A date (or ``datetime-local`` value) typed in ``zone`` as a UTC timestamp: the
    start of that day there (2026-12-07 in Tokyo is 2026-12-06T15:00:00Z)."""
    if not day:
        return None
    moment = None
    if _DAY.fullmatch(day):
        try:
            moment = datetime.fromisoformat(day).replace(tzinfo=zone)
        except ValueError:
            moment = None
    if moment is None:
        raise invalid(
            "%(field)s must be a date like 2024-05-01.", [Problem(field, day)], field=field
        )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_day(timestamp: str | None, zone: tzinfo = UTC) -> str:
    """The day a stored timestamp falls on in ``zone`` (for a date input)."""
    if not timestamp:
        return ""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp[:10]
    return moment.astimezone(zone).strftime("%Y-%m-%d")


def report_from_form(f: dict[str, str], zone: tzinfo = UTC) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "report", "name": f.get("title", "").strip()}
    if f.get("body", "").strip():
        obj["description"] = f["body"]
    obj["published"] = day_to_timestamp(f.get("published"), "published", zone) or None
    if f.get("source_url", "").strip():
        obj["external_references"] = [{"source_name": "source", "url": f["source_url"].strip()}]
    return {k: v for k, v in obj.items() if v is not None}


def entity_from_form(f: dict[str, str]) -> dict[str, Any]:
    stix_type = f.get("type", "")
    obj: dict[str, Any] = {"type": stix_type, "name": f.get("name", "").strip()}
    if f.get("description", "").strip():
        obj["description"] = f["description"]
    aliases = split_list(f.get("aliases"))
    if aliases and stix_type in WITH_ALIASES:
        obj["aliases"] = aliases
    if stix_type == "malware":
        obj["is_family"] = f.get("is_family") == "on"
    if stix_type == "location":
        for key in ("country", "region"):
            if f.get(key, "").strip():
                obj[key] = f[key].strip()
    return obj


def observable_from_form(f: dict[str, str]) -> dict[str, Any]:
    stix_type = f.get("type", "")
    value = f.get("value", "").strip()
    if stix_type == "file":
        return {"type": "file", "hashes": {f.get("hash_algorithm") or "SHA-256": value}}
    if stix_type == "autonomous-system":
        number = value.upper().removeprefix("AS")
        if not number.isdigit():
            raise invalid("An AS number is digits, e.g. AS2914.", [Problem("value", value)])
        return {"type": stix_type, "number": int(number)}
    if stix_type == "indicator":
        obj: dict[str, Any] = {
            "type": "indicator",
            "name": f.get("name", "").strip() or value,
            "pattern": value,
            "pattern_type": f.get("pattern_type") or "stix",
        }
        valid_from = day_to_timestamp(f.get("valid_from"), "valid_from")
        if valid_from:
            obj["valid_from"] = valid_from
        if f.get("description", "").strip():
            obj["description"] = f["description"]
        return obj
    return {"type": stix_type, "value": value}


def note_from_form(f: dict[str, str]) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "note", "content": f.get("content", "")}
    if f.get("abstract", "").strip():
        obj["abstract"] = f["abstract"].strip()
    refs = split_list(f.get("object_refs"))
    # The picker's own box: what was typed and not picked (no script, or an id pasted).
    refs += [r for r in split_list(f.get("about")) if STIX_ID.fullmatch(r) and r not in refs]
    if refs:
        obj["object_refs"] = refs
    return obj


def edit_fields(stix: dict[str, Any], zone: tzinfo = UTC) -> dict[str, str]:
    """The editable fields of an object, as the edit form shows them."""
    refs = stix.get("external_references") or []
    source = next((r.get("url", "") for r in refs if r.get("source_name") == "source"), "")
    return {
        "name": stix.get("name", ""),
        "description": stix.get("description", ""),
        "content": stix.get("content", ""),
        "abstract": stix.get("abstract", ""),
        "published": local_day(stix.get("published"), zone),
        "source_url": source,
        "aliases": ", ".join(stix.get("aliases", [])),
    }


def changes_from_edit(
    stix: dict[str, Any], f: dict[str, str], zone: tzinfo = UTC
) -> dict[str, Any]:
    """Only what the form changed; an emptied optional field removes the property."""
    changes: dict[str, Any] = {}
    for key in ("name", "description", "content", "abstract"):
        if key in f:
            new = f[key]
            if new != stix.get(key, ""):
                changes[key] = new if new.strip() else None
    if "published" in f and stix.get("type") == "report":
        ts = day_to_timestamp(f["published"], "published", zone)
        if ts and f["published"] != local_day(stix.get("published"), zone):
            changes["published"] = ts
    if "aliases" in f and stix.get("type") in WITH_ALIASES:
        aliases = split_list(f["aliases"])
        if aliases != stix.get("aliases", []):
            changes["aliases"] = aliases or None
    if "source_url" in f:
        refs = [r for r in stix.get("external_references", []) if r.get("source_name") != "source"]
        url = f["source_url"].strip()
        if url:
            refs.append({"source_name": "source", "url": url})
        if refs != stix.get("external_references", []):
            changes["external_references"] = refs or None
    return changes
