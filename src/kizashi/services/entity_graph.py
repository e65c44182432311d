"""The entity graph of one object: what it is related to, what it refers to, and what
refers to it, one hop at a time.

An object page draws this and lets the analyst expand any node by asking for that
node's graph in turn. Three kinds of edge:

- ``relationship``: a STIX relationship object (``uses``, ``indicates``…), labelled
  with its type and pointing from ``source_ref`` to ``target_ref``;
- ``ref``: an embedded reference of the object itself (a report's ``object_refs``,
  a sighting's ``sighting_of_ref``), from the object to what it names;
- the same ``ref`` kind, reversed: objects whose refs name this one (the reports that
  mention an indicator, in which it was found by extraction or named by hand).

Only what the asker may read is a node: never a revoked object (it is deleted; an admin
opens it by its id), TLP:RED for admins and the object's own author. A node's edges are
capped (``limit`` per kind, newest first) and ``more`` says how many were left out, so a
hub such as a malware family named by thousands of reports stays drawable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, invalid
from kizashi.services.common import Context
from kizashi.services.objects import ObjectService, ObjectView
from kizashi.store import objects as repo

#: Edges of one kind drawn around a node before the rest are counted in ``more``.
DEFAULT_LIMIT = 40
MAX_LIMIT = 500
#: Refs that are bookkeeping rather than meaning: every object has them.
_SKIPPED_REFS = frozenset({"object_marking_refs", "created_by_ref"})
#: A relationship's own ends are drawn as the relationship edge itself.
_RELATIONSHIP_ENDS = frozenset({"source_ref", "target_ref"})


@dataclass(frozen=True)
class GraphEdge:
    id: str
    source: str
    target: str
    label: str
    kind: str  # "relationship" | "ref"

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "source": self.source,
            "target": self.target,
            "label": self.label,
            "kind": self.kind,
        }


@dataclass
class EntityGraph:
    root: str
    nodes: dict[str, ObjectView]
    edges: list[GraphEdge]
    #: Edges left out by kind ("relationship", "refers", "referred"), beyond ``limit``.
    more: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "nodes": [
                {
                    "id": v.id,
                    "type": v.type,
                    "name": v.name,
                    "tlp": v.tlp,
                    "revoked": v.revoked,
                    "tags": v.tags[:12],
                }
                for v in self.nodes.values()
            ],
            "edges": [e.as_dict() for e in self.edges],
            "more": self.more,
        }


def own_refs(stix: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(property, target id) of an object's embedded references, in document order."""
    out: list[tuple[str, str]] = []
    for key, value in stix.items():
        if key in _SKIPPED_REFS or key in _RELATIONSHIP_ENDS:
            continue
        if key.endswith("_ref") and isinstance(value, str):
            out.append((key, value))
        elif key.endswith("_refs") and isinstance(value, list):
            out.extend((key, v) for v in value if isinstance(v, str))
    return list(dict.fromkeys(out))


class EntityGraphService:
    def __init__(self, ctx: Context, objects: ObjectService) -> None:
        self.ctx = ctx
        self.objects = objects

    def graph(self, actor: Actor, stix_id: str, *, limit: int = DEFAULT_LIMIT) -> EntityGraph:
        """``stix_id`` and everything one hop away from it (see the module's note)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid(
                "limit is between 1 and %(max)s.", [Problem("limit", str(limit))], max=MAX_LIMIT
            )
        root = self.objects.get(actor, stix_id)
        more: dict[str, int] = {}
        with self.ctx.store.read() as conn:
            related = repo.relationship_edges(conn, [stix_id])
            # Newest first; the relationships' own ends are the relationship edges.
            referring = [
                (i, p)
                for i, p in repo.referrers(conn, stix_id, limit=limit + len(related))
                if p not in _RELATIONSHIP_ENDS
            ][:limit]
            referred = repo.referrer_count(conn, stix_id, skip=sorted(_RELATIONSHIP_ENDS))
        if root.type == "relationship":
            ends = [(p, root.stix.get(p)) for p in ("source_ref", "target_ref")]
            refs = [(p, v) for p, v in ends if isinstance(v, str)]
        else:
            refs = own_refs(root.stix)
        related.sort(key=lambda r: r[0])
        wanted = [
            *(s if t == stix_id else t for _, _, s, t in related[:limit]),
            *(v for _, v in refs[:limit]),
            *(i for i, _ in referring),
        ]
        views = self._readable(actor, wanted)
        nodes: dict[str, ObjectView] = {stix_id: root}
        edges: list[GraphEdge] = []

        def add(edge: GraphEdge, other: str) -> None:
            if other in views:
                nodes.setdefault(other, views[other])
                edges.append(edge)

        for rid, rtype, src, tgt in related[:limit]:
            add(GraphEdge(rid, src, tgt, rtype, "relationship"), src if tgt == stix_id else tgt)
        for prop, target in refs[:limit]:
            add(GraphEdge(f"{stix_id}|{prop}|{target}", stix_id, target, prop, "ref"), target)
        for source, prop in referring:
            add(GraphEdge(f"{source}|{prop}|{stix_id}", source, stix_id, prop, "ref"), source)
        for name, total in (
            ("relationship", len(related)),
            ("refers", len(refs)),
            ("referred", referred),
        ):
            if total > limit:
                more[name] = total - limit
        return EntityGraph(stix_id, self._named(actor, nodes), edges, more)

    def _named(self, actor: Actor, nodes: dict[str, ObjectView]) -> dict[str, ObjectView]:
        """A relationship drawn as a node is named by its ends' names ("Kagerou uses
        KageLock"), not by their ids; an end the reader may not read keeps its id."""
        ends = {
            end
            for v in nodes.values()
            if v.type == "relationship"
            for end in (v.stix.get("source_ref"), v.stix.get("target_ref"))
            if isinstance(end, str)
        }
        if not ends:
            return nodes
        known = nodes | self._readable(actor, ends - set(nodes))
        out = dict(nodes)
        for i, v in nodes.items():
            if v.type != "relationship":
                continue
            src, tgt = v.stix.get("source_ref"), v.stix.get("target_ref")
            said = [known[e].name if e in known else str(e) for e in (src, tgt)]
            out[i] = replace(v, name=f"{said[0]} {v.stix.get('relationship_type', '')} {said[1]}")
        return out

    def _readable(self, actor: Actor, ids: Iterable[str]) -> dict[str, ObjectView]:
        # What the actor may read (TLP), as everywhere; revoked ones are never nodes, not
        # even for an admin.
        found = self.objects.get_many(actor, set(ids))
        return {i: v for i, v in found.items() if not v.revoked}
