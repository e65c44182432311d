"""STIX 2.1 objects: which types exist, validation that lists every problem, display names.

Validation is the ``stix2`` library's own, applied property by property first so that
an input with five mistakes gets five problems back, then as a whole object for the
rules that span properties (``valid_until`` after ``valid_from``, ``at least one of``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import stix2
import stix2.exceptions
from stix2.v21 import OBJ_MAP, OBJ_MAP_OBSERVABLE

from kizashi.model import custom  # noqa: F401 - registers Kizashi's extra types with stix2
from kizashi.model.errors import Problem, failure, invalid, problem

SPEC_VERSION = "2.1"

#: Domain objects, relationship objects, markings and language content.
OBJECT_TYPES: frozenset[str] = frozenset(OBJ_MAP) - {"bundle"}
#: Cyber-observable objects: identified by their value (UUIDv5 ids).
OBSERVABLE_TYPES: frozenset[str] = frozenset(OBJ_MAP_OBSERVABLE)
ALL_TYPES: frozenset[str] = OBJECT_TYPES | OBSERVABLE_TYPES

#: Types an analyst enters as "entities" in the UI and CLI.
ENTITY_TYPES: tuple[str, ...] = (
    "threat-actor",
    "intrusion-set",
    "campaign",
    "malware",
    "tool",
    "attack-pattern",
    "vulnerability",
    "identity",
    "infrastructure",
    "course-of-action",
    "location",
)
#: Observables offered in the UI and CLI, with the property that carries the value.
OBSERVABLE_VALUE_PROPERTY: dict[str, str] = {
    "ipv4-addr": "value",
    "ipv6-addr": "value",
    "domain-name": "value",
    "url": "value",
    "email-addr": "value",
    "mac-addr": "value",
    "autonomous-system": "number",
    "file": "hashes",
    "mutex": "name",
    "windows-registry-key": "key",
    "user-account": "user_id",
    "cryptocurrency-wallet": "value",
    "user-agent": "value",
}
HASH_ALGORITHMS = ("MD5", "SHA-1", "SHA-256", "SHA-512")

#: Properties Kizashi keeps in its own tables and merges back on the way out.
MANAGED_PROPERTIES = ("labels",)


#: One encoder for the whole process: ``json.dumps`` with options builds a new one per call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact_json(value: Any) -> str:
    """JSON as stored and as hashed for observable ids: UTF-8 text, no spaces."""
    return _COMPACT.encode(value)


def is_observable(stix_type: str) -> bool:
    return stix_type in OBSERVABLE_TYPES


def format_timestamp(ts: datetime) -> str:
    """STIX timestamp with millisecond precision, always UTC (``…T…:…:….123Z``)."""
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def next_modified(previous: str, now: datetime) -> str:
    """A ``modified`` strictly after ``previous``, even when the clock has not moved."""
    prev = parse_timestamp(previous)
    candidate = now if now > prev else prev + timedelta(milliseconds=1)
    return format_timestamp(max(candidate, prev + timedelta(milliseconds=1)))


def _clean_property(cls: type, name: str, value: Any) -> str | None:
    prop = cls._properties[name]  # type: ignore[attr-defined]
    try:
        prop.clean(value, True)
    except (ValueError, TypeError, KeyError, AttributeError, stix2.exceptions.STIXError) as exc:
        return str(exc) or type(exc).__name__
    return None


#: Properties whose check needs their siblings (``definition`` needs ``definition_type``):
#: the whole-object parse checks them.
_CONTEXTUAL = frozenset({"definition"})


def _nul_paths(value: Any, path: str) -> list[str]:
    """Where a NUL character hides: PostgreSQL text cannot hold one, STIX has no use for it."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _nul_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, f"{path}[{i}]")]
    return []


def _own_problems(cls: type, obj: Mapping[str, Any]) -> list[Problem]:
    """Kizashi's rules beyond stix2's: no NULs, no unknown properties, bounded confidence,
    no empty required text."""
    problems: list[Problem] = []
    props: dict[str, Any] = cls._properties  # type: ignore[attr-defined]
    for name, value in obj.items():
        problems += [Problem(p, "contains a NUL character") for p in _nul_paths(value, name)]
        if name not in props:
            if not name.startswith(("x_", "x-")):
                problems.append(
                    problem(
                        name,
                        "not a property of %(type)s (custom ones start with x_)",
                        type=obj["type"],
                    )
                )
        elif name == "confidence" and not (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100
        ):
            problems.append(Problem(name, "an integer from 0 to 100"))
    for name, prop in props.items():
        if prop.required and name not in obj:
            problems.append(Problem(name, "required"))
        elif prop.required and isinstance(obj.get(name), str) and not obj[name].strip():
            problems.append(Problem(name, "must not be empty"))
    return problems


def _property_problems(cls: type, obj: Mapping[str, Any]) -> list[Problem]:
    """stix2's check of each property on its own, so that every bad one is named."""
    props: dict[str, Any] = cls._properties  # type: ignore[attr-defined]
    problems = []
    for name, value in obj.items():
        if name in props and name not in _CONTEXTUAL and name != "confidence":
            msg = _clean_property(cls, name, value)
            if msg:
                problems.append(Problem(name, msg))
    return problems


def validate(
    raw: Any,
    *,
    now: datetime,
    author_ref: str | None = None,
) -> dict[str, Any]:
    """Return the object as stored STIX JSON, or raise with every problem found.

    Fills in what STIX lets a producer fill in: ``spec_version``, a random id for
    domain objects, ``created``/``modified`` and ``created_by_ref``. Observable ids are
    always computed from their value, so the same domain is always the same object.
    """
    if not isinstance(raw, Mapping):
        raise invalid("A STIX object is a JSON object.", [Problem("body", "not an object")])
    stix_type = raw.get("type")
    if not isinstance(stix_type, str) or not stix_type:
        raise invalid("Every object needs a type.", [Problem("type", "required")])
    if stix_type not in ALL_TYPES or stix_type == "bundle":
        raise failure(
            "Unknown object type %(type)r.",
            "unknown_type",
            [problem("type", "%(type)r is not a STIX 2.1 type", type=stix_type)],
            type=stix_type,
        )
    obj = {k: v for k, v in raw.items() if k not in MANAGED_PROPERTIES}
    obj.setdefault("spec_version", SPEC_VERSION)
    observable = is_observable(stix_type)
    stamp = format_timestamp(now)
    if observable:
        obj.pop("id", None)
        cls = OBJ_MAP_OBSERVABLE[stix_type]
    else:
        obj.setdefault("id", f"{stix_type}--{uuid.uuid4()}")
        if stix_type != "marking-definition":
            obj.setdefault("created", stamp)
            obj.setdefault("modified", obj["created"])
        else:
            obj.setdefault("created", stamp)
        if author_ref and stix_type not in ("marking-definition",) and "created_by_ref" not in obj:
            obj["created_by_ref"] = author_ref
        cls = OBJ_MAP[stix_type]
    problems = _own_problems(cls, obj)
    if problems:
        problems += [
            p for p in _property_problems(cls, obj) if p.loc not in {q.loc for q in problems}
        ]
        raise invalid(
            "The %(type)s has %(n)s problem(s).", problems, type=stix_type, n=len(problems)
        )
    try:
        # stix2 stops at the first problem: only when it finds one is every property
        # checked on its own, so a valid object is checked once, a bad one fully.
        parsed = stix2.parse(dict(obj), allow_custom=True, version=SPEC_VERSION)
    except (stix2.exceptions.STIXError, ValueError, TypeError) as exc:
        problems = _property_problems(cls, obj) or [Problem("object", str(exc))]
        raise invalid(
            "The %(type)s has %(n)s problem(s).", problems, type=stix_type, n=len(problems)
        ) from exc
    out: dict[str, Any] = json.loads(parsed.serialize())
    return out


def display_name(obj: Mapping[str, Any]) -> str:
    """A one-line name for lists: name, value, hash or the start of a note."""
    t = obj.get("type", "")
    for key in ("name", "value", "key", "user_id", "abstract"):
        v = obj.get(key)
        if isinstance(v, str) and v:
            return v
    if t == "autonomous-system" and "number" in obj:
        return f"AS{obj['number']}"
    hashes = obj.get("hashes")
    if isinstance(hashes, Mapping) and hashes:
        for alg in ("SHA-256", "SHA-1", "MD5", *hashes):
            if alg in hashes:
                return str(hashes[alg])
    if t == "relationship":
        return f"{obj.get('source_ref')} {obj.get('relationship_type')} {obj.get('target_ref')}"
    content = obj.get("content") or obj.get("explanation") or obj.get("description") or ""
    if isinstance(content, str) and content:
        first = content.strip().splitlines()[0] if content.strip() else ""
        return first[:120]
    return str(obj.get("id", ""))


def observable_value(obj: Mapping[str, Any]) -> str | None:
    """The value an analyst searches an observable by (normalised, lower-case where safe)."""
    t = obj.get("type")
    if t not in OBSERVABLE_TYPES:
        return None
    if t == "autonomous-system":
        return f"AS{obj.get('number')}"
    if t == "file":
        hashes = obj.get("hashes") or {}
        for alg in ("SHA-256", "SHA-1", "MD5", *hashes):
            if alg in hashes:
                return str(hashes[alg]).lower()
        return str(obj.get("name")) if obj.get("name") else None
    prop = OBSERVABLE_VALUE_PROPERTY.get(str(t), "value")
    v = obj.get(prop)
    if v is None:
        return None
    s = str(v)
    return s.lower() if t in ("domain-name", "email-addr", "ipv6-addr", "mac-addr") else s


#: The STIX namespace for observable ids (STIX 2.1 §2.9).
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
#: Observables whose only id-contributing property is a string ``value`` and whose
#: only check in ``stix2`` is that the value is a string.
_VALUE_OBSERVABLES = frozenset(
    {"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "mac-addr"}
)
_SIMPLE_KEYS = frozenset({"type", "value", "spec_version"})


def simple_observable(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """Fast path for bulk loads: ``{"type": "domain-name", "value": …}`` and nothing else.

    Returns exactly what :func:`validate` returns for such an object (the tests
    compare the two on generated values), or None when the object needs the full
    validation.
    """
    t = raw.get("type")
    value = raw.get("value")
    if t not in _VALUE_OBSERVABLES or not isinstance(value, str) or not value.strip():
        return None
    if raw.keys() - _SIMPLE_KEYS or raw.get("spec_version", SPEC_VERSION) != SPEC_VERSION:
        return None
    if "\x00" in value or (not value.isprintable() and not _encodable(value)):
        return None
    name = compact_json({"value": value})
    return {
        "type": t,
        "spec_version": SPEC_VERSION,
        "id": f"{t}--{uuid.uuid5(SCO_NAMESPACE, name)}",
        "value": value,
    }


_HASH_SHAPES = {
    "MD5": re.compile("[0-9a-fA-F]{32}"),
    "SHA-1": re.compile("[0-9a-fA-F]{40}"),
    "SHA-256": re.compile("[0-9a-fA-F]{64}"),
    "SHA-512": re.compile("[0-9a-fA-F]{128}"),
}


def simple_file(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """Fast path for ``{"type": "file", "hashes": {"SHA-256": …}}`` with one well-formed
    hash and nothing else; exactly what :func:`validate` returns (the tests compare)."""
    hashes = raw.get("hashes")
    if raw.get("type") != "file" or raw.keys() - {"type", "hashes", "spec_version"}:
        return None
    if not isinstance(hashes, Mapping) or len(hashes) != 1:
        return None
    ((alg, value),) = hashes.items()
    shape = _HASH_SHAPES.get(alg)
    if shape is None or not isinstance(value, str) or not shape.fullmatch(value):
        return None
    if raw.get("spec_version", SPEC_VERSION) != SPEC_VERSION:
        return None
    name = compact_json({"hashes": {alg: value}})
    return {
        "type": "file",
        "spec_version": SPEC_VERSION,
        "id": f"file--{uuid.uuid5(SCO_NAMESPACE, name)}",
        "hashes": {alg: value},
    }


_IDENTIFIER = re.compile(
    r"[a-z][a-z0-9-]{0,62}--[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
_PUBLISHED = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z")
_REPORT_KEYS = frozenset(
    {
        "type", "spec_version", "id", "created_by_ref", "name", "description", "report_types",
        "published", "object_refs", "lang", "external_references", "object_marking_refs",
        "extensions", "labels",
    }
)  # fmt: skip
_REFERENCE_KEYS = frozenset({"source_name", "url", "external_id", "description"})


def simple_report(
    raw: Mapping[str, Any], *, now: datetime, author_ref: str | None = None
) -> dict[str, Any] | None:
    """Fast path for the reports feeds make: plain strings, identifiers, a property
    extension of strings. Returns exactly what :func:`validate` returns (the tests compare
    the two on generated reports), or None when the report needs the full validation."""
    if raw.get("type") != "report" or raw.keys() - _REPORT_KEYS or "created" in raw:
        return None
    if raw.get("spec_version", SPEC_VERSION) != SPEC_VERSION:
        return None
    stix_id = raw.get("id")
    name, description = raw.get("name"), raw.get("description", "")
    if not (
        isinstance(stix_id, str)
        and stix_id.startswith("report--")
        and _IDENTIFIER.fullmatch(stix_id)
    ):
        return None
    if not isinstance(name, str) or not _plain_text(name) or not name.strip():
        return None
    if not _plain_text(description):
        return None
    published = _published(raw.get("published"))
    refs = raw.get("object_refs")
    author = raw.get("created_by_ref", author_ref)
    if published is None or not _identifiers(refs) or not refs:
        return None
    if author is not None and not _identifiers([author]):
        return None
    types, lang = raw.get("report_types", []), raw.get("lang")
    if not isinstance(types, list) or not all(_plain_text(t) and t for t in types):
        return None
    if "report_types" in raw and not types:
        return None  # stix2 drops an empty list: leave that to it
    if lang is not None and not (_plain_text(lang) and lang):
        return None
    markings = raw.get("object_marking_refs")
    references = raw.get("external_references")
    extensions = raw.get("extensions")
    if markings is not None and not (_identifiers(markings) and markings):
        return None
    if references is not None and not _references(references):
        return None
    if extensions is not None and not _property_extensions(extensions):
        return None
    labels = raw.get("labels")
    if labels is not None and not (
        isinstance(labels, list) and all(_plain_text(x) for x in labels)
    ):
        return None
    stamp = format_timestamp(now)
    out: dict[str, Any] = {"type": "report", "spec_version": SPEC_VERSION, "id": stix_id}
    if author is not None:
        out["created_by_ref"] = author
    out |= {"created": stamp, "modified": stamp, "name": name}
    if "description" in raw:
        out["description"] = description
    if "report_types" in raw:
        out["report_types"] = list(types)
    out["published"] = published
    out["object_refs"] = list(refs)
    for key in ("lang", "external_references", "object_marking_refs", "extensions"):
        if key in raw:
            out[key] = json.loads(compact_json(raw[key]))
    return out


def _plain_text(value: Any) -> bool:
    return isinstance(value, str) and "\x00" not in value and _encodable(value)


def _identifiers(values: Any) -> bool:
    return isinstance(values, list) and all(
        isinstance(v, str) and _IDENTIFIER.fullmatch(v) is not None for v in values
    )


def _published(value: Any) -> str | None:
    """stix2's rendering of a timestamp of any precision: trailing zeros of the fraction
    dropped, no fraction when it is zero."""
    m = _PUBLISHED.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    try:
        datetime.fromisoformat(m.group(1))
    except ValueError:
        return None
    fraction = (m.group(2) or "").ljust(6, "0").rstrip("0")
    return f"{m.group(1)}.{fraction}Z" if fraction else f"{m.group(1)}Z"


def _references(values: Any) -> bool:
    if not isinstance(values, list) or not values:
        return False
    for ref in values:
        if not isinstance(ref, dict) or ref.keys() - _REFERENCE_KEYS or "source_name" not in ref:
            return False
        if not all(_plain_text(v) and v for v in ref.values()):
            return False
        if "url" not in ref and "external_id" not in ref and "description" not in ref:
            return False
    return True


def _property_extensions(value: Any) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    for key, block in value.items():
        if not (isinstance(key, str) and key.startswith("extension-definition--")):
            return False
        if not _IDENTIFIER.fullmatch(key) or not isinstance(block, dict):
            return False
        if block.get("extension_type") != "property-extension" or len(block) < 2:
            return False
        if not all(isinstance(k, str) and _plain_text(v) for k, v in block.items()):
            return False
    return True


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
