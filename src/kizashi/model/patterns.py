"""The values a STIX pattern names: what an indicator is looked up and correlated by.

``[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'evil.example']`` names two
values; an analyst who looks up either, or a report that mentions either, should meet the
indicator. Only equality (``=``, ``IN``) on the properties an observable is looked up by
counts: ``!=``, ``LIKE``, ``MATCHES`` and ranges describe many values, not one.
Each value is normalised as the observable it names would be (lower-case domains and
hashes, ``AS`` numbers), so that it meets the same value extracted from a report. A
value reached through a reference (``network-traffic:dst_ref.value``, as misp-stix writes
an ``ip-dst`` attribute; ``email-message:from_ref.value``) counts as the observable the
reference leads to.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from stix2patterns.exceptions import ParseException
from stix2patterns.v21.pattern import Pattern

from kizashi.model.stix import OBSERVABLE_VALUE_PROPERTY, observable_value

#: A pattern string literal: single-quoted, with ``\'`` and ``\\`` escaped (STIX 2.1 §9.3).
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")
#: Values per indicator kept for lookups: a pattern of 10,000 ORs is a list, not an
#: indicator, and should be imported as observables.
MAX_VALUES = 256


def _literals(raw: str) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", m) for m in _STRING.findall(raw)]


def _observable(stix_type: str, path: list[Any], literal: str) -> dict[str, Any] | None:
    """The observable ``stix_type:path = literal`` describes, as far as its value goes."""
    if stix_type == "file" and len(path) == 2 and path[0] == "hashes":
        return {"type": "file", "hashes": {str(path[1]): literal}}
    if stix_type == "file" and path == ["name"]:
        return {"type": "file", "name": literal}
    if stix_type == "autonomous-system" and path == ["number"]:
        return {"type": stix_type, "number": literal} if literal.isdigit() else None
    prop = OBSERVABLE_VALUE_PROPERTY.get(stix_type, "value")
    if path == [prop]:
        return {"type": stix_type, prop: literal}
    return None


#: What a reference names when its pattern does not say (``...dst_ref.type = '...'``).
_REFERENCED = {"from_ref": "email-addr", "sender_ref": "email-addr", "to_refs": "email-addr"}
_REFERENCED |= {"cc_refs": "email-addr", "bcc_refs": "email-addr"}


def _referenced_type(ref: str, literal: str, declared: dict[str, str]) -> str:
    """The type of the observable a ``*_ref`` / ``*_refs`` path leads to: as the pattern
    declares it, as the property implies it, or as the value reads (an address or a
    domain, for network traffic's ``src_ref`` and ``dst_ref``)."""
    if ref in declared:
        return declared[ref]
    if ref in _REFERENCED:
        return _REFERENCED[ref]
    try:
        return "ipv4-addr" if ipaddress.ip_address(literal).version == 4 else "ipv6-addr"
    except ValueError:
        return "domain-name"


def _resolved(
    stix_type: str, path: list[Any], literal: str, declared: dict[str, str]
) -> tuple[str, list[Any]]:
    """``network-traffic:dst_ref.value`` as the ``ipv4-addr:value`` it compares, and
    ``email-message:to_refs[*].value`` as ``email-addr:value``; other paths as they are."""
    if len(path) >= 2 and isinstance(path[0], str) and path[0].endswith(("_ref", "_refs")):
        rest = path[1:]
        if path[0].endswith("_refs") and rest and not isinstance(rest[0], str):
            rest = rest[1:]  # the list index ([*] or [n])
        if rest and rest != ["type"] and all(isinstance(p, str) for p in rest):
            return _referenced_type(path[0], literal, declared), list(rest)
    return stix_type, path


def pattern_values(pattern: object) -> list[str]:
    """The normalised values ``pattern`` compares for equality, in order, each once;
    [] for a pattern that is not valid STIX 2.1 or names none."""
    if not isinstance(pattern, str) or not pattern.strip():
        return []
    try:
        comparisons = Pattern(pattern).inspect().comparisons
    except (ParseException, ValueError, TypeError, AttributeError):
        return []
    out: dict[str, None] = {}
    for stix_type, found in comparisons.items():
        declared = {
            str(path[0]): lits[0]
            for path, op, raw in found
            if op == "=" and len(path) == 2 and path[1] == "type" and (lits := _literals(raw))
        }
        for path, op, raw in found:
            if op not in ("=", "IN"):
                continue
            literals = _literals(raw) if raw.startswith(("'", "(")) else [raw]
            for literal in literals:
                of, where = _resolved(str(stix_type), list(path), literal, declared)
                obj = _observable(of, where, literal)
                value = observable_value(obj) if obj is not None else None
                if value:
                    out[value] = None
                if len(out) >= MAX_VALUES:
                    return list(out)
    return list(out)
