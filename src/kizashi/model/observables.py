"""From an extracted value to the STIX objects it stands for, and back to a lookup value.

Every extracted type maps to STIX 2.1: observables (ids computed from their value, so
the same domain is always the same object), ``vulnerability`` for CVE and JVN ids, and
the ATT&CK object for technique, group and software ids. Until ATT&CK data is loaded,
an ATT&CK id becomes a *stub* (``x_kizashi_stub``) that the real object replaces when it
arrives. Wallets and user agents are Kizashi's own observables (:mod:`.custom`), tactics
are ATT&CK's ``x-mitre-tactic``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from kizashi.model.stix import SCO_NAMESPACE, compact_json, observable_value

#: Every kind of value the extractor finds (``kizashi.text.extract``), named once here so
#: the model (rules, queries) can check a kind without importing the extractor.
INDICATOR_KINDS = (
    "ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256", "sha512",
    "ssdeep", "tlsh", "cve", "jvn", "attack-technique", "attack-tactic", "attack-group",
    "attack-software", "asn", "registry-key", "file-path", "file-name", "btc", "eth", "xmr",
    "mac", "user-agent",
)  # fmt: skip

#: ``external_references`` source names that carry ATT&CK ids.
ATTACK_SOURCES = frozenset({"mitre-attack", "mitre-ics-attack", "mitre-mobile-attack"})
#: Object types an ATT&CK id can name.
ATTACK_TYPES = frozenset(
    {"attack-pattern", "intrusion-set", "malware", "tool", "campaign", "x-mitre-tactic"}
)
#: The stub marker: a custom property, so a loaded ATT&CK object can take its place.
STUB_PROPERTY = "x_kizashi_stub"

_HASH_NAMES = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha512": "SHA-512",
    "ssdeep": "SSDEEP",
    "tlsh": "TLSH",
}
_STUB_TYPES = {
    "attack-technique": "attack-pattern",
    "attack-group": "intrusion-set",
    "attack-software": "malware",
    "attack-tactic": "x-mitre-tactic",
}
_NAMESPACE = uuid.UUID("5f2a3c0e-6b1d-4a8e-9b0f-6b697a617368")  # Kizashi's own


def lookup_value(obj: Mapping[str, Any]) -> str | None:
    """What an analyst looks an object up by: an observable's value, a CVE or JVN id,
    or an ATT&CK id (``T1059.001``, ``G0007``)."""
    found = observable_value(obj)
    if found is not None:
        return found
    t = obj.get("type")
    if t == "vulnerability":
        name = obj.get("name")
        return str(name).upper() if isinstance(name, str) and name else None
    if t in ATTACK_TYPES:
        for ref in obj.get("external_references") or ():
            if isinstance(ref, Mapping) and ref.get("source_name") in ATTACK_SOURCES:
                ext = ref.get("external_id")
                if isinstance(ext, str) and ext:
                    return ext
    return None


def stix_for(kind: str, value: str) -> list[dict[str, Any]]:
    """The objects for one extracted value, the one that names it first; [] if none."""
    if kind in ("btc", "eth", "xmr"):
        return [{"type": "cryptocurrency-wallet", "value": value, "currency": kind}]
    if kind == "user-agent":
        return [{"type": "user-agent", "value": value}]
    if kind in ("ipv4", "ipv6", "cidr"):
        family = "ipv6-addr" if ":" in value else "ipv4-addr"
        return [{"type": family, "value": value}]
    simple = {"domain": "domain-name", "url": "url", "email": "email-addr", "mac": "mac-addr"}
    if kind in simple:
        return [{"type": simple[kind], "value": value}]
    if kind in _HASH_NAMES:
        return [{"type": "file", "hashes": {_HASH_NAMES[kind]: value}}]
    if kind == "asn":
        return [{"type": "autonomous-system", "number": int(value[2:])}]
    if kind == "registry-key":
        return [{"type": "windows-registry-key", "key": value}]
    if kind == "file-name":
        return [{"type": "file", "name": value}]
    if kind == "file-path":
        return _file_path(value)
    if kind in ("cve", "jvn"):
        source = "cve" if kind == "cve" else "jvn"
        return [
            {
                "type": "vulnerability",
                "id": deterministic_id("vulnerability", value),
                "name": value,
                "external_references": [{"source_name": source, "external_id": value}],
            }
        ]
    if kind in _STUB_TYPES:
        stix_type = _STUB_TYPES[kind]
        stub: dict[str, Any] = {
            "type": stix_type,
            "id": deterministic_id(stix_type, value),
            "name": value,
            "external_references": [{"source_name": "mitre-attack", "external_id": value}],
            STUB_PROPERTY: True,
        }
        if stix_type == "malware":
            stub["is_family"] = True
        return [stub]
    return []


def _file_path(path: str) -> list[dict[str, Any]]:
    sep = "\\" if "\\" in path else "/"
    parent, _, name = path.rpartition(sep)
    if "." not in name or not parent:
        return [{"type": "directory", "path": path}]
    directory = {"type": "directory", "path": parent}
    directory_id = f"directory--{uuid.uuid5(SCO_NAMESPACE, compact_json({'path': parent}))}"
    return [{"type": "file", "name": name, "parent_directory_ref": directory_id}, directory]


def deterministic_id(stix_type: str, value: str) -> str:
    """One id per named thing across installations, so two imports of CVE-2024-3400
    or a stub for T1059 are the same object."""
    return f"{stix_type}--{uuid.uuid5(_NAMESPACE, f'{stix_type}:{value}')}"


def named_object(raw: dict[str, Any], stamp: str) -> dict[str, Any]:
    """The stored form of a vulnerability or ATT&CK stub from :func:`stix_for`, built
    directly: what :func:`kizashi.model.stix.validate` returns for it at ``stamp`` (the
    tests compare), without stix2's per-property checks, which cost half a millisecond
    an object and can find nothing wrong in what this module builds."""
    out: dict[str, Any] = {
        "type": raw["type"],
        "spec_version": "2.1",
        "id": raw["id"],
        "created": stamp,
        "modified": stamp,
    }
    out.update((k, v) for k, v in raw.items() if k not in ("type", "id"))
    return out
