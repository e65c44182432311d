"""Typed relationships between objects and the neighbourhood of an object."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, invalid, not_found, problem
from kizashi.services.common import Context, may_see
from kizashi.services.objects import ObjectService, ObjectView
from kizashi.store import objects as repo

#: The relationship types STIX 2.1 names (its vocabulary is open: others are allowed).
VOCABULARY: tuple[str, ...] = (
    "related-to",
    "derived-from",
    "duplicate-of",
    "attributed-to",
    "authored-by",
    "beacons-to",
    "based-on",
    "communicates-with",
    "compromises",
    "consists-of",
    "controls",
    "delivers",
    "downloads",
    "drops",
    "exfiltrates-to",
    "exploits",
    "has",
    "hosts",
    "impersonates",
    "indicates",
    "investigates",
    "located-at",
    "mitigates",
    "originates-from",
    "owns",
    "remediates",
    "resolves-to",
    "targets",
    "uses",
    "variant-of",
    "belongs-to",
)
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


@dataclass(frozen=True)
class Edge:
    id: str
    relationship_type: str
    source_ref: str
    target_ref: str

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "relationship_type": self.relationship_type,
            "source_ref": self.source_ref,
            "target_ref": self.target_ref,
        }


@dataclass(frozen=True)
class Neighbourhood:
    root: str
    nodes: dict[str, ObjectView]
    edges: list[Edge]
    #: Objects that point at the root through their own refs (reports that mention it).
    referrers: list[tuple[str, str]]
    #: The referrers' views, read to check them (a page shows their names from these).
    referrer_views: dict[str, ObjectView] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "nodes": [
                {"id": v.id, "type": v.type, "name": v.name, "tlp": v.tlp, "tags": v.tags}
                for v in self.nodes.values()
            ],
            "edges": [e.as_dict() for e in self.edges],
            "referrers": [{"id": i, "property": p} for i, p in self.referrers],
        }


class RelationshipService:
    def __init__(self, ctx: Context, objects: ObjectService) -> None:
        self.ctx = ctx
        self.objects = objects

    def create(
        self,
        actor: Actor,
        source_ref: str,
        relationship_type: str,
        target_ref: str,
        *,
        description: str | None = None,
        confidence: int | None = None,
        tags: list[str] | None = None,
    ) -> ObjectView:
        """Relate two stored objects; both ends must exist and not be revoked."""
        actor.require_write()
        problems = []
        if not _TYPE.fullmatch(relationship_type):
            problems.append(
                Problem("relationship_type", "lower-case words joined by '-', e.g. 'uses'")
            )
        with self.ctx.store.read() as conn:
            found = repo.get_many(conn, [source_ref, target_ref])
        for loc, ref in (("source_ref", source_ref), ("target_ref", target_ref)):
            row = found.get(ref)
            if row is None or row.revoked or not may_see(actor, row):
                problems.append(problem(loc, "%(ref)s is not a stored object", ref=ref))
        if source_ref == target_ref:
            problems.append(Problem("target_ref", "an object cannot be related to itself"))
        if problems:
            raise invalid("The relationship cannot be made.", problems)
        raw: dict[str, Any] = {
            "type": "relationship",
            "relationship_type": relationship_type,
            "source_ref": source_ref,
            "target_ref": target_ref,
        }
        if description:
            raw["description"] = description
        if confidence is not None:
            raw["confidence"] = confidence
        view, _ = self.objects.create(actor, raw, tags=tags or [])
        return view

    def neighbours(self, actor: Actor, stix_id: str, depth: int = 1) -> Neighbourhood:
        """Objects within ``depth`` (1 or 2) relationship hops of ``stix_id``."""
        if depth not in (1, 2):
            raise invalid("depth is 1 or 2.", [Problem("depth", str(depth))])
        root = self.objects.get(actor, stix_id)
        visible: dict[str, ObjectView] = {stix_id: root}
        frontier = [stix_id]
        edges: dict[str, Edge] = {}
        with self.ctx.store.read() as conn:
            for _ in range(depth):
                found = repo.relationship_edges(conn, frontier)
                new_refs = {ref for _, _, s, t in found for ref in (s, t)} - visible.keys()
                # Only what the caller may see is a node, and the walk goes on only through
                # nodes: a hidden (revoked) object does not lead anywhere.
                fresh = self.objects.get_many(actor, new_refs)  # readable (TLP, revoked)
                visible.update(fresh)
                for rid, rtype, src, tgt in found:
                    if src in visible and tgt in visible:
                        edges[rid] = Edge(rid, rtype, src, tgt)
                frontier = list(fresh)
                if not frontier:
                    break
            referrers = repo.referrers(conn, stix_id)
        readable = self.objects.get_many(actor, {i for i, _ in referrers})
        referrers = [(i, p) for i, p in referrers if i in readable]
        return Neighbourhood(stix_id, visible, list(edges.values()), referrers, readable)

    def get_edge(self, actor: Actor, stix_id: str) -> ObjectView:
        view = self.objects.get(actor, stix_id)
        if view.type != "relationship":
            raise not_found("Relationship %(stix_id)s was not found.", stix_id=stix_id)
        return view
