"""MISP galaxies as STIX: the ``misp-galaxy`` format reads a galaxy's cluster file (the
misp-galaxy repository's ``clusters/*.json``, or a galaxy as MISP exports it) into the
objects misp-stix makes of an event's clusters, so that a cluster named by an event and
the same cluster loaded from its galaxy are one object.

- **Types as misp-stix has them.** misp-stix turns a ``threat-actor`` cluster into a
  ``threat-actor`` (not an ``intrusion-set``: it keeps those for the MITRE galaxies), a
  ``tool`` or ``exploit-kit`` cluster into a ``tool``, ``ransomware`` and the malware
  galaxies into ``malware``, ``sector`` into an ``identity`` of class ``class``, and a
  galaxy it does not know into an ``x-misp-galaxy-cluster``. Keeping its choice keeps
  the ids it gives (``threat-actor--<cluster uuid>``): an event's cluster and the
  galaxy's are the same object.
- **What a cluster holds.** Its synonyms are the object's ``aliases`` (in whatever
  script they are written), its ``description`` and ``meta.refs`` (as
  ``external_references``) are kept, its other meta as ``x_misp_*`` properties; its tag
  (``misp-galaxy:threat-actor="APT10"``) is one of its ``labels``, so Kizashi's tags link
  what carries that tag to it.
- **Kizashi adds** (to clusters read from a galaxy or from an event alike):
  ``is_family: true`` on malware clusters (a cluster names a family; misp-stix says
  ``false`` unless the cluster says otherwise), ``sectors`` and the cluster's meta on a
  sector's identity, and ``created``/``modified`` from the cluster's ``version`` read as
  seconds since the epoch (0 without one). A galaxy file has no dates: its version is a
  number that grows with each release (MISP gives a custom cluster the time it was
  edited as its version), so a newer release of a galaxy replaces the clusters of an
  older one, and a galaxy file replaces the older copies of its clusters events carried
  (a copy of the same version with other content is a conflict: the stored one stays).
  A cluster's ``related`` entries become relationships (``similar``, ``uses``,
  ``overlaps`` …) where both ends are in the file; one to another galaxy's cluster is
  left out, since the file does not say what type that cluster has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from kizashi.formats.contract import FormatError, Limits, Rejected
from kizashi.formats.jsonstream import items
from kizashi.formats.misp import capture
from kizashi.formats.misp.common import Cluster, derived, is_uuid, timestamp_of
from kizashi.formats.misp.libraries import MISPtoSTIX21Parser
from kizashi.model.errors import Text

_SLUG = re.compile(r"[^a-z0-9]+")


def stix_time(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fix_cluster_object(obj: dict[str, Any], cluster: Cluster) -> None:
    """What Kizashi adds to the object misp-stix made of a cluster (see above)."""
    if cluster.version is not None:
        obj["created"] = obj["modified"] = stix_time(cluster.version)
    if obj["type"] == "malware" and "is_family" not in cluster.meta:
        obj["is_family"] = True
    if obj["type"] == "identity" and obj.get("identity_class") == "class":
        obj.setdefault("sectors", [_SLUG.sub("-", cluster.value.lower()).strip("-")])
        for key, value in sorted(cluster.meta.items()):
            if key == "refs" and isinstance(value, list):
                refs = [{"source_name": "url", "url": u} for u in value if isinstance(u, str)]
                if refs:
                    obj.setdefault("external_references", refs)
            elif value not in (None, "", []):
                obj.setdefault("x_misp_" + _SLUG.sub("_", key.lower()).strip("_"), value)


# -- the misp-galaxy format ---------------------------------------------------------------


def read(source: IO[bytes], limits: Limits) -> Iterator[Any]:
    """Each cluster of the galaxy file(s) as a STIX object, or why it cannot be one."""
    position = 0
    # No key is "\x00": the root object is one item, its clusters are held together (a
    # galaxy's own fields, its version among them, may come after its values).
    for document in items(source, limits, under="\x00"):
        galaxy, clusters = galaxy_of(document)
        if len(clusters) > limits.max_items:
            raise FormatError(f"More than {limits.max_items:,} clusters.")
        yield from clusters_of(galaxy, clusters, position)
        position += len(clusters)


def sniff(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{") or b'"spec_version"' in text or b'"Event"' in text:
        return False
    cluster_file = b'"values"' in text and b'"uuid"' in text and b'"authors"' in text
    misp_export = b'"GalaxyCluster"' in text and b'"Galaxy"' in text
    return cluster_file or misp_export


def galaxy_of(document: Any) -> tuple[dict[str, Any], list[Any]]:
    """The galaxy's own fields and its clusters, from either form of file."""
    if not isinstance(document, dict):
        raise FormatError("A galaxy file holds a JSON object, not a list of values.")
    if isinstance(document.get("values"), list):
        return document, document["values"]
    own = document.get("Galaxy", document)
    own = own if isinstance(own, dict) else {}
    clusters = document.get("GalaxyCluster", own.get("GalaxyCluster"))
    if own and isinstance(clusters, list):
        return own, clusters
    raise FormatError(
        "Not a MISP galaxy: a cluster file has a 'values' list, a MISP galaxy a "
        "'GalaxyCluster' list."
    )


def clusters_of(galaxy: dict[str, Any], clusters: list[Any], start: int) -> Iterator[Any]:
    """The STIX objects of ``clusters`` (of ``galaxy``), or why each cannot be one;
    ``start``: the position of the first in the input."""
    kind = galaxy.get("type")
    if not isinstance(kind, str) or not kind:
        raise FormatError("The galaxy has no 'type' (threat-actor, tool, sector …).")
    name = galaxy.get("name") if isinstance(galaxy.get("name"), str) else kind
    version = timestamp_of(galaxy.get("version"))
    ready: list[tuple[int, dict[str, Any], Cluster]] = []
    for i, raw in enumerate(clusters, start):
        made = _cluster(raw, kind, version)
        if isinstance(made, str):
            yield Rejected(i, made, where=f"values[{i - start}]")
            continue
        ready.append((i, *made))
    description = galaxy.get("description") if isinstance(galaxy.get("description"), str) else name
    shell = {"type": kind, "name": name, "description": description, "uuid": galaxy.get("uuid")}
    try:
        objects = _converted(shell, [c for _, c, _ in ready])
    except Exception:  # misp-stix failed on the batch: find the cluster(s) it fails on
        objects = None
    by_uuid: dict[str, dict[str, Any]] = {}  # cluster uuid → its object
    for i, cluster, known in ready:
        if objects is None:
            try:
                found = _converted(shell, [cluster])
            except Exception as exc:
                why = Text(
                    "cluster %(name)r: misp-stix could not convert it: %(error)s",
                    {"name": known.value, "error": str(exc)},
                )
                yield Rejected(i, why)
                continue
        else:
            found = [o for o in objects if o["id"].endswith("--" + known.uuid)]
        if not found:
            yield Rejected(
                i, Text("cluster %(name)r: misp-stix made nothing of it", {"name": known.value})
            )
        for obj in found:
            fix_cluster_object(obj, known)
            by_uuid.setdefault(known.uuid, obj)
            yield obj
    yield from _related(clusters, by_uuid)


def _related(clusters: list[Any], made: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A cluster's ``related`` entries (``similar``, ``uses``, ``overlaps`` …) as STIX
    relationships, where both ends are clusters of this file (a cluster of another
    galaxy has a type this file does not tell)."""
    seen: set[str] = set()
    for raw in clusters:
        if not isinstance(raw, dict) or raw.get("uuid") not in made:
            continue
        source = made[raw["uuid"]]
        for rel in raw.get("related") or []:
            if not isinstance(rel, dict) or rel.get("dest-uuid") not in made:
                continue
            said = rel.get("type")
            kind = _SLUG.sub("-", said.lower()).strip("-") if isinstance(said, str) else ""
            kind = kind or "related-to"
            target = made[rel["dest-uuid"]]
            rid = f"relationship--{derived('related', source['id'], kind, target['id'])}"
            if rid in seen or source["id"] == target["id"]:
                continue
            seen.add(rid)
            when = max(source["modified"], target["modified"])
            yield {
                "type": "relationship",
                "spec_version": "2.1",
                "id": rid,
                "created": when,
                "modified": when,
                "relationship_type": kind,
                "source_ref": source["id"],
                "target_ref": target["id"],
            }


def _cluster(raw: Any, kind: str, version: int | None) -> tuple[dict[str, Any], Cluster] | str:
    if not isinstance(raw, dict):
        return "a cluster is a JSON object"
    value = raw.get("value")
    if not isinstance(value, str) or not value.strip():
        return "a cluster without a value (its name)"
    meta: dict[str, Any] = raw["meta"] if isinstance(raw.get("meta"), dict) else {}
    uid = raw["uuid"] if is_uuid(raw.get("uuid")) else derived("cluster", kind, value)
    own_version = timestamp_of(raw.get("version"))
    stamp = own_version if own_version is not None else version
    cluster = {
        "uuid": uid,
        "type": kind,
        "value": value,
        "tag_name": f'misp-galaxy:{kind}="{value}"',
        "meta": meta,
        "timestamp": str(stamp or 0),
    }
    if isinstance(raw.get("description"), str) and raw["description"]:
        cluster["description"] = raw["description"]
    return cluster, Cluster(uid, kind, value, stamp or 0, True, meta)


def _converted(shell: dict[str, Any], clusters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parser = MISPtoSTIX21Parser()
    galaxy = {**shell, "GalaxyCluster": json.loads(json.dumps(clusters))}
    with capture.held():
        parser.parse_misp_attributes({"Attribute": [], "Galaxy": [galaxy]})
    return [json.loads(o.serialize()) for o in parser.stix_objects]
