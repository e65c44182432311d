"""The values a STIX pattern names: what an indicator is looked up and correlated by.

``[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'evil.example']`` names two
values; an analyst who looks up either, or a report that mentions either, should meet the
indicator. Only equality (``=``, ``IN``) on the properties an observable is looked up by
counts: ``!=``, ``LIKE``, ``MATCHES`` and ranges describe many values, not one.
Each value is normalised as the observable it names would be (lower-case domains and
hashes, ``AS`` numbers), so that it meets the same value extracted from a report.
"""

from __future__ import annotations

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
        for path, op, raw in found:
            if op not in ("=", "IN"):
                continue
            literals = _literals(raw) if raw.startswith(("'", "(")) else [raw]
            for literal in literals:
                obj = _observable(str(stix_type), list(path), literal)
                value = observable_value(obj) if obj is not None else None
                if value:
                    out[value] = None
                if len(out) >= MAX_VALUES:
                    return list(out)
    return list(out)
