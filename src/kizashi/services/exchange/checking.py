"""Is this a STIX 2.1 object Kizashi can keep as it came? The checks every imported object
passes, whatever format it was read from: its identity, its version's timestamps, and
``stix2``'s own validation for the types STIX defines (custom properties allowed, since a
producer's ``x_`` properties are kept)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import stix2
import stix2.exceptions

from kizashi.model import stix as stix_model
from kizashi.model.errors import Text

#: ``type--uuid`` (STIX 2.1 §2.9); a custom type is lower-case letters, digits and hyphens.
_IDENTIFIER = re.compile(
    r"([a-z][a-z0-9-]{1,248}[a-z0-9])--"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z")
#: Types whose objects carry no ``modified``: a later copy is the same object or a conflict.
UNVERSIONED = frozenset({"marking-definition"}) | stix_model.OBSERVABLE_TYPES


class UnfitError(Exception):
    """Why an object cannot be imported: where in it, and what is wrong (``why`` in
    English; ``reason`` the same as a catalogue phrase, None for a library's words)."""

    def __init__(self, where: str, why: str | Text) -> None:
        self.reason = why if isinstance(why, Text) else None
        self.why = str(why)
        super().__init__(f"{where}: {self.why}" if where else self.why)
        self.where = where


def check(obj: Mapping[str, Any]) -> None:
    """Raise :class:`UnfitError` with the first problem that keeps ``obj`` out of the store."""
    stix_type = obj.get("type")
    if not isinstance(stix_type, str) or not stix_type:
        raise UnfitError("type", Text("every STIX object has a type"))
    if stix_type == "bundle":
        raise UnfitError("type", Text("a bundle inside a bundle is not an object"))
    stix_id = obj.get("id")
    if not isinstance(stix_id, str):
        raise UnfitError("id", Text("every STIX 2.1 object has an id"))
    m = _IDENTIFIER.fullmatch(stix_id)
    if m is None:
        raise UnfitError(
            "id", Text("%(id)r is not a STIX identifier (type--UUID)", {"id": stix_id[:120]})
        )
    if m.group(1) != stix_type:
        raise UnfitError(
            "id",
            Text(
                "the id names type %(named)r, the object is a %(type)r",
                {"named": m.group(1), "type": stix_type},
            ),
        )
    spec = obj.get("spec_version")
    observable = stix_type in stix_model.OBSERVABLE_TYPES
    if spec is None and not observable:
        raise UnfitError("spec_version", Text("missing: every STIX 2.1 domain object has one"))
    if spec is not None and spec != "2.1":
        raise UnfitError("spec_version", Text("%(spec)r: Kizashi reads STIX 2.1", {"spec": spec}))
    for key in ("created", "modified"):
        value = obj.get(key)
        if value is not None and not (isinstance(value, str) and _TIMESTAMP.fullmatch(value)):
            raise UnfitError(key, Text("not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)"))
    if stix_type in stix_model.ALL_TYPES:
        try:
            stix2.parse(dict(obj), allow_custom=True, version="2.1")
        except (stix2.exceptions.STIXError, ValueError, TypeError, KeyError) as exc:
            why = _why(exc)
            second = validator_errors(obj)
            if second:
                why += " · stix2-validator: " + "; ".join(second)
            raise UnfitError(_where(exc), why) from None
    elif not stix_type.startswith("x-"):
        raise UnfitError(
            "type",
            Text("%(type)r is neither a STIX 2.1 type nor a custom x- type", {"type": stix_type}),
        )


def validator_errors(obj: Mapping[str, Any], most: int = 3) -> list[str]:
    """What the OASIS validator (``stix2-validator``) says is wrong with ``obj``: its
    error-level findings, without the id it prefixes them with, each cut to a line.

    It runs only on objects that python-stix2 has already refused, to say more about
    why: on every object it would cost about 3 ms each (ATT&CK ICS: 5 s) for findings
    that, on objects python-stix2 accepts, are about form (a timestamp without
    milliseconds) that Kizashi keeps as the producer wrote it."""
    try:
        from stix2validator import ValidationOptions, validate_instance

        result = validate_instance(dict(obj), ValidationOptions(version="2.1"))
    except Exception:
        return []
    prefix = f"{obj.get('id')}: "
    out: list[str] = []
    for error in result.errors:
        if len(out) == most:
            break
        text = str(getattr(error, "message", error))
        text = text.removeprefix(prefix)
        if text.startswith("{") and " valid under " in text:
            continue  # a oneOf/anyOf finding: the object quoted back, naming nothing
        out.append(text if len(text) <= 200 else text[:199] + "…")
    return out


def upgraded(obj: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A STIX 2.0 domain or relationship object (no ``spec_version``) as STIX 2.1, and
    whether it was one: ``spec_version`` added, and ``is_family`` for malware, which 2.1
    requires (``true``: STIX 2.0's malware objects named families and their variants).
    Everything else is kept as it was; 2.1 objects come back unchanged."""
    stix_type = obj.get("type")
    if (
        "spec_version" in obj
        or not isinstance(stix_type, str)
        or stix_type in stix_model.OBSERVABLE_TYPES
        or stix_type == "bundle"
    ):
        return obj, False
    out = {**obj, "spec_version": "2.1"}
    if stix_type == "malware":
        out.setdefault("is_family", True)
    return out, True


def modified_of(obj: Mapping[str, Any]) -> str | None:
    """The version an object is (its ``modified``, else ``created``) as a key that orders
    as the instants do: ``…:SS.fffffffff`` (a STIX timestamp may have 0 to 9 decimals)."""
    value = obj.get("modified") or obj.get("created")
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return None
    whole, _, fraction = value[:-1].partition(".")
    return f"{whole}.{fraction:0<9}"


def _where(exc: Exception) -> str:
    prop = getattr(exc, "prop_name", None)
    if prop:
        return str(prop)
    props = getattr(exc, "properties", None)  # missing or extra properties, by name
    if isinstance(props, list | tuple | set | frozenset) and props:
        return ", ".join(sorted(str(p) for p in props))
    return ""


def _why(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:500]
