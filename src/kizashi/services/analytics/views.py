"""What the analytics answer: word statistics, emerging words, graphs and series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TermStat:
    term: str
    lang: str
    count: int
    docs: int
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "lang": self.lang,
            "count": self.count,
            "docs": self.docs,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class TermStats:
    query: str
    selected: int
    total: int
    terms: list[TermStat]
    counts_exact: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "selected": self.selected,
            "total": self.total,
            "counts_exact": self.counts_exact,
            "terms": [t.as_dict() for t in self.terms],
        }


@dataclass(frozen=True)
class Driver:
    id: str
    title: str
    published: str | None


@dataclass(frozen=True)
class Emerging:
    term: str
    lang: str
    docs: int  # documents of the recent period that hold it
    before: int  # documents of the period before that hold it
    score: float
    drivers: list[Driver] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "lang": self.lang,
            "docs": self.docs,
            "before": self.before,
            "score": round(self.score, 3),
            "articles": [
                {"id": d.id, "title": d.title, "published": d.published} for d in self.drivers
            ],
        }


@dataclass(frozen=True)
class Node:
    id: str
    count: int
    group: str  # a tag's namespace, a word's language, a report's type
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        label = self.label or self.id
        return {"id": self.id, "label": label, "count": self.count, "group": self.group}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    count: int
    pmi: float
    jaccard: float
    #: What the two ends share, where that is more than their co-occurrence.
    values: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "target": self.target,
            "count": self.count,
            "pmi": round(self.pmi, 4),
            "jaccard": round(self.jaccard, 4),
        }
        if self.values:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class Graph:
    kind: str
    selected: int
    nodes: list[Node]
    edges: list[Edge]
    #: Values left out of the edges for joining too many nodes, with how many.
    hubs: list[tuple[str, int]] = field(default_factory=list)
    #: Items the edges were counted over, when fewer than ``selected``.
    sampled: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "selected": self.selected,
            "nodes": [n.as_dict() for n in self.nodes],
            "edges": [e.as_dict() for e in self.edges],
        }
        if self.kind == "indicators":
            out["hubs"] = [{"value": v, "reports": n} for v, n in self.hubs]
        if self.sampled is not None:
            out["sampled"] = self.sampled
        return out


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[str, int]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": [{"t": t, "count": n} for t, n in self.points]}
