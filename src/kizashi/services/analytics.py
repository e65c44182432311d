"""Analytics: frequent and emerging words, tag and word co-occurrence, trends.

Every statistic is over a *selection*, anything a search can express (a query, a tag, a
source, a time window), read as the asker may read it (TLP). The counting is done by the
search index (:mod:`kizashi.search.stats`), which keeps every item's keywords as the item
arrives; this service turns counts into scores.

- **Keyness** is Dunning's log-likelihood (G²) on a 2×2 table of documents: how many of
  the selection hold the word against how many of the rest of the store do. It is signed
  (negative when the word is rarer in the selection than elsewhere), so ``Ivanti`` rises
  in the week it matters while ``攻撃``, in every article, scores about nothing.
- **Emerging terms** compare a recent period with the period before it the same way and
  keep the words significantly more frequent now (G² ≥ 10.83, p < 0.001).
- **Tag co-occurrence** weights each pair by count and by an association measure
  (positive PMI, or Jaccard), so that ``tlp:clear`` on everything ties nothing together.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, invalid
from kizashi.search import stats
from kizashi.search.documents import source_of
from kizashi.services.common import Context, readable_row
from kizashi.services.search import SearchService, access_for
from kizashi.store import mentions as mention_repo
from kizashi.store import search as repo

TERM_ORDERS = ("score", "count", "docs")
#: What a selection holds unless its query names a type: the texts analysts write and
#: read (articles, notes), not the thousands of ATT&CK objects or identities beside them.
ITEM_TYPES = ("report", "note", "opinion")
INTERVALS = ("day", "week", "month")
MEASURES = ("pmi", "jaccard")
#: What a trend can follow: the index field counted, and the query field that selects one
#: of its values.
TREND_FIELDS = {
    "tag": ("tag", "tag"),
    "source": ("source", "source"),
    "term": ("kw", "keyword"),
    "ioc_kind": ("ioc_kind", "ioc"),
}
MAX_TERMS = 1000
MAX_NODES = 2000
#: G² at p < 0.001 with one degree of freedom.
SIGNIFICANT = 10.83
#: An indicator mentioned by more reports of a selection than this joins none of them.
HUB_REPORTS = 25
#: Indicators of one report that an expansion of the indicator map looks for.
AROUND_VALUES = 200
#: Items of a selection (the newest) over which word pairs are counted.
WORD_PAIR_ITEMS = 2000


def log_likelihood(a: int, n1: int, b: int, n2: int) -> float:
    """Signed G² for a term held by ``a`` of ``n1`` documents here and ``b`` of ``n2``
    elsewhere (positive: more frequent here)."""
    if n1 <= 0 or n2 <= 0:
        return 0.0
    total = n1 + n2
    held = a + b
    cells = ((a, n1, held), (n1 - a, n1, total - held), (b, n2, held), (n2 - b, n2, total - held))
    g = 0.0
    for observed, row, col in cells:
        if observed > 0:
            g += observed * math.log(observed * total / (row * col))
    g = max(2.0 * g, 0.0)
    return g if a * n2 >= b * n1 else -g


def language_of(term: str) -> str:
    return "ja" if any(ord(c) > 0x3000 for c in term) else "en"


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


def namespace_of(tag: str) -> str:
    return tag.split(":", 1)[0] if ":" in tag else ""


def selection(query: str, since: str | None, until: str | None) -> sq.Expr:
    """The query, narrowed to items published from ``since`` up to ``until`` (dates in
    the query language's forms: ``2024-05``, ``2024-05-01``, full instants), and to the
    item types (:data:`ITEM_TYPES`) unless it names a type itself."""
    expr = sq.parse(query or "")
    parts: list[sq.Expr] = [] if isinstance(expr, sq.MatchAll) else [expr]
    if not _names_type(expr):
        parts.append(sq.Or(tuple(sq.Field("type", t, 0) for t in ITEM_TYPES)))
    if since or until:
        parts.append(sq.parse(f"published:{since or ''}..{until or ''}"))
    return parts[0] if len(parts) == 1 else sq.And(tuple(parts))


def _background(query: str) -> sq.Expr:
    """What a selection's words are compared with: every item (of its types)."""
    expr = sq.parse(query or "")
    if _names_type(expr):
        return sq.MatchAll()
    return selection("", None, None)


def _names_type(expr: sq.Expr) -> bool:
    match expr:
        case sq.Field(name="type"):
            return True
        case sq.And(exprs=parts) | sq.Or(exprs=parts):
            return any(_names_type(p) for p in parts)
        case sq.Not(expr=inner):
            return _names_type(inner)
    return False


def _check_limit(name: str, value: int, most: int) -> None:
    if not 1 <= value <= most:
        raise invalid(f"{name} must be between 1 and {most}.", [Problem(name, str(value))])


class AnalyticsService:
    def __init__(self, ctx: Context, search: SearchService) -> None:
        self.ctx = ctx
        self.search = search
        self.index = search.index

    def _ready(self) -> None:
        if self.search.sync_on_query:
            self.search.follower.catch_up(wait=2.0)

    # -- words -----------------------------------------------------------------

    def terms(
        self,
        actor: Actor,
        query: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        order: str = "score",
        lang: str | None = None,
    ) -> TermStats:
        """The frequent words of a selection, with counts, documents and keyness."""
        if order not in TERM_ORDERS:
            raise invalid(
                f"Order must be one of {', '.join(TERM_ORDERS)}.", [Problem("order", order)]
            )
        _check_limit("limit", limit, MAX_TERMS)
        expr = selection(query, since, until)
        self._ready()
        counts = stats.term_counts(
            self.index,
            expr,
            access_for(actor),
            candidates=max(500, limit * 5),
            background=_background(query),
        )
        rest = counts.total - counts.selected
        out = []
        for t in counts.terms:
            term_lang = language_of(t.term)
            if lang and term_lang != lang:
                continue
            score = log_likelihood(t.docs, counts.selected, t.background - t.docs, rest)
            out.append(TermStat(t.term, term_lang, t.count, t.docs, score))
        key = {
            "score": lambda s: (-s.score, -s.docs, s.term),
            "count": lambda s: (-s.count, -s.docs, s.term),
            "docs": lambda s: (-s.docs, -s.count, s.term),
        }[order]
        out.sort(key=key)
        return TermStats(query, counts.selected, counts.total, out[:limit], counts.counts_exact)

    def emerging(
        self,
        actor: Actor,
        query: str = "",
        *,
        days: int = 7,
        baseline_days: int = 28,
        limit: int = 20,
        now: datetime | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[Emerging]:
        """Words significantly more frequent in a period than in the ``baseline_days``
        before it, each with the newest articles that hold it.

        The period is the last ``days`` up to ``until`` (default: now), or from
        ``since`` to ``until`` when ``since`` is given (dates in the query language's
        forms: ``2024-05``, ``2024-05-01``, full instants)."""
        _check_limit("days", days, 366)
        _check_limit("baseline_days", baseline_days, 3660)
        _check_limit("limit", limit, 200)
        start, now = _period(since, until, days, now or datetime.now(UTC))
        base_start = start - timedelta(days=baseline_days)
        # Half-open windows: an item published at ``start`` is in the period only.
        chosen = selection(query, None, None)
        recent_q = sq.And((chosen, _published(start, now)))
        before_q = sq.And((chosen, _published(base_start, start)))
        self._ready()
        access = access_for(actor)
        recent = stats.term_counts(
            self.index, recent_q, access, candidates=max(500, limit * 10), compare=False
        )
        before = stats.value_counts(self.index, before_q, access, "kw", size=stats.MAX_BUCKETS // 2)
        earlier = dict(before.values)
        found: list[Emerging] = []
        for t in recent.terms:
            b = earlier.get(t.term, 0)
            score = log_likelihood(t.docs, recent.selected, b, before.selected)
            if score >= SIGNIFICANT and t.docs >= 2:
                found.append(Emerging(t.term, language_of(t.term), t.docs, b, score))
        found.sort(key=lambda e: (-e.score, e.term))
        found = found[:limit]
        return [
            Emerging(e.term, e.lang, e.docs, e.before, e.score, self._drivers(actor, recent_q, e))
            for e in found
        ]

    def _drivers(self, actor: Actor, expr: sq.Expr, e: Emerging, n: int = 3) -> list[Driver]:
        keyword = sq.Field("keyword", e.term, 0)
        page = self.index.search(sq.And((expr, keyword)), access_for(actor), sort="newest", limit=n)
        with self.ctx.store.read() as conn:
            rows = repo.documents(conn, [h.pk for h in page.hits])
        return [
            Driver(rows[h.pk].id, rows[h.pk].name, rows[h.pk].published)
            for h in page.hits
            if h.pk in rows
        ]

    # -- graphs ----------------------------------------------------------------

    def tag_graph(
        self,
        actor: Actor,
        query: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        namespaces: Sequence[str] = (),
        min_count: int = 1,
        size: int = 100,
    ) -> Graph:
        """Tags as nodes, joined when they occur on the same item."""
        return self._graph(
            actor, "tags", "tag", query, since, until, namespaces, min_count, size, namespace_of
        )

    def word_graph(
        self,
        actor: Actor,
        query: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        min_count: int = 2,
        size: int = 100,
    ) -> Graph:
        """Keywords as nodes (the ``size`` held by most items of the selection), joined
        when they occur in the same article. Pairs are counted over the selection's
        newest :data:`WORD_PAIR_ITEMS` items (``sampled``), nodes over all of it."""
        _check_limit("size", size, MAX_NODES)
        _check_limit("min_count", min_count, 1_000_000)
        expr = selection(query, since, until)
        self._ready()
        access = access_for(actor)
        top = stats.value_counts(self.index, expr, access, "kw", size=size)
        wanted = {w for w, _ in top.values}
        sets = [
            s & wanted for s in stats.keyword_sets(self.index, expr, access, newest=WORD_PAIR_ITEMS)
        ]
        held: dict[str, int] = defaultdict(int)
        both: dict[tuple[str, str], int] = defaultdict(int)
        for words in sets:
            ordered = sorted(words)
            for i, a in enumerate(ordered):
                held[a] += 1
                for b in ordered[i + 1 :]:
                    both[(a, b)] += 1
        n = max(len(sets), 1)
        edges = [
            Edge(
                a,
                b,
                k,
                max(math.log(k * n / (held[a] * held[b])), 0.0),
                k / (held[a] + held[b] - k),
            )
            for (a, b), k in both.items()
            if k >= min_count
        ]
        edges.sort(key=lambda e: (-e.count, e.source, e.target))
        nodes = [Node(w, c, language_of(w)) for w, c in top.values]
        return Graph("words", top.selected, nodes, edges, sampled=len(sets))

    def _graph(
        self,
        actor: Actor,
        kind: str,
        field_name: str,
        query: str,
        since: str | None,
        until: str | None,
        namespaces: Sequence[str],
        min_count: int,
        size: int,
        group: Any,
    ) -> Graph:
        _check_limit("size", size, MAX_NODES)
        _check_limit("min_count", min_count, 1_000_000)
        expr = selection(query, since, until)
        if namespaces:
            wanted = tuple(sq.Field("tag", f"{ns}:", 0, prefix=True) for ns in namespaces)
            only = wanted[0] if len(wanted) == 1 else sq.Or(wanted)
            expr = only if isinstance(expr, sq.MatchAll) else sq.And((expr, only))
        self._ready()
        # More values than kept: a namespace filter drops some after counting.
        ask = min(size * 4 if namespaces else size, MAX_NODES * 2)
        buckets, pairs = stats.cooccurrence(
            self.index, expr, access_for(actor), field_name, size=ask
        )
        counts = dict(buckets.values)
        keep = [
            (v, n) for v, n in buckets.values if not namespaces or namespace_of(v) in namespaces
        ][:size]
        kept = {v for v, _ in keep}
        n_docs = max(buckets.selected, 1)
        edges = []
        for (a, b), both in pairs.items():
            if a not in kept or b not in kept or both < min_count:
                continue
            ca, cb = counts[a], counts[b]
            pmi = math.log(both * n_docs / (ca * cb))
            jaccard = both / (ca + cb - both)
            edges.append(Edge(a, b, both, max(pmi, 0.0), jaccard))
        edges.sort(key=lambda e: (-e.count, e.source, e.target))
        nodes = [Node(v, n, group(v)) for v, n in keep]
        return Graph(kind, buckets.selected, nodes, edges)

    def indicator_graph(
        self,
        actor: Actor,
        query: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        size: int = 300,
        min_shared: int = 1,
        around: str | None = None,
    ) -> Graph:
        """Reports as nodes (the ``size`` newest of the selection), joined when they
        mention the same indicators; an edge's count is how many they share, and its
        ``values`` name them. A value mentioned by more than :data:`HUB_REPORTS` of
        them (a public resolver, a vendor's domain) joins nothing: it would tie
        everything together; it is listed under ``hubs`` instead. A node's group is
        its source.

        ``around`` (a report's id) narrows the selection to that report and the reports
        that mention any of its indicators: the map's "expand"."""
        _check_limit("size", size, MAX_NODES)
        _check_limit("min_shared", min_shared, 1000)
        expr = selection(query, since, until)
        if around is not None:
            expr = sq.And((expr, self._sharing(actor, around)))
        self._ready()
        page = self.index.search(expr, access_for(actor), sort="newest", limit=size)
        pks = [h.pk for h in page.hits]
        with self.ctx.store.read() as conn:
            rows = repo.documents(conn, pks)
            found = mention_repo.values_in_reports(conn, list(rows))
        by_value: dict[tuple[str, str], set[int]] = defaultdict(set)
        for pk, kind, value in found:
            by_value[(kind, value)].add(pk)
        shared: dict[tuple[int, int], list[str]] = defaultdict(list)
        hubs: list[tuple[str, int]] = []
        for (_, value), reports in sorted(by_value.items()):
            if len(reports) > HUB_REPORTS:
                hubs.append((value, len(reports)))
                continue
            ordered = sorted(reports)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1 :]:
                    shared[(a, b)].append(value)
        mentioned: dict[int, int] = defaultdict(int)
        for pk, _, _ in found:
            mentioned[pk] += 1
        nodes = [
            Node(rows[pk].id, mentioned[pk], source_of(rows[pk]) or "", label=rows[pk].name)
            for pk in pks
            if pk in rows
        ]
        n = max(len(nodes), 1)
        edges = []
        for (a, b), values in shared.items():
            if len(values) < min_shared:
                continue
            ca, cb, both = mentioned[a], mentioned[b], len(values)
            edges.append(
                Edge(
                    rows[a].id,
                    rows[b].id,
                    both,
                    max(math.log(both * n / (ca * cb)), 0.0),
                    both / (ca + cb - both),
                    values=tuple(values[:10]),
                )
            )
        edges.sort(key=lambda e: (-e.count, e.source, e.target))
        hubs.sort(key=lambda h: (-h[1], h[0]))
        return Graph("indicators", len(nodes), nodes, edges, hubs=hubs)

    def _sharing(self, actor: Actor, report_id: str) -> sq.Expr:
        """The report itself, or any report mentioning one of its indicators (the
        first :data:`AROUND_VALUES` of them): a report ``actor`` may read."""
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, report_id)
            found = mention_repo.values_in_reports(conn, [row.pk])
        values = sorted({v for _, _, v in found})[:AROUND_VALUES]
        return sq.Or((sq.Field("id", report_id, 0), *(sq.Field("ioc", v, 0) for v in values)))

    # -- trends ----------------------------------------------------------------

    def trends(
        self,
        actor: Actor,
        *,
        by: str = "tag",
        values: Sequence[str] = (),
        query: str = "",
        since: str | None = None,
        until: str | None = None,
        interval: str = "day",
        top: int = 5,
    ) -> list[Series]:
        """Items per ``interval`` for each value of ``by`` (the ``top`` commonest over
        the selection unless ``values`` names them), and for the selection itself."""
        if by not in TREND_FIELDS:
            raise invalid(f"By must be one of {', '.join(TREND_FIELDS)}.", [Problem("by", by)])
        if interval not in INTERVALS:
            raise invalid(
                f"Interval must be one of {', '.join(INTERVALS)}.",
                [Problem("interval", interval)],
            )
        _check_limit("top", top, 50)
        expr = selection(query, since, until)
        self._ready()
        access = access_for(actor)
        field_name, query_field = TREND_FIELDS[by]
        if not values:
            values = [
                v
                for v, _ in stats.value_counts(
                    self.index, expr, access, field_name, size=top
                ).values
            ]
        out = [Series("all", self._series(expr, access, interval))]
        for value in values[:50]:
            one = sq.And((expr, sq.Field(query_field, value, 0)))
            out.append(Series(value, self._series(one, access, interval)))
        return out

    def _series(self, expr: sq.Expr, access: Any, interval: str) -> list[tuple[str, int]]:
        if interval == "month":
            return [
                (f"{key // 12:04d}-{key % 12 + 1:02d}", n)
                for key, n in stats.histogram(self.index, expr, access, interval="month")
            ]
        daily = stats.histogram(self.index, expr, access, interval="day")
        if interval == "day":
            return [(_day(ms).isoformat(), n) for ms, n in daily]
        weeks: dict[str, int] = defaultdict(int)
        for ms, n in daily:
            d = _day(ms)
            monday = d - timedelta(days=d.weekday())
            weeks[monday.isoformat()] += n
        return sorted(weeks.items())


def _day(ms: int) -> Any:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _period(
    since: str | None, until: str | None, days: int, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) of an emerging-terms period (see :meth:`AnalyticsService.emerging`)."""
    if not since and not until:
        return now - timedelta(days=days), now
    expr = sq.parse(f"published:{since or ''}..{until or ''}")
    assert isinstance(expr, sq.DateRange)
    end = _parse_instant(expr.end) if expr.end else now
    start = _parse_instant(expr.start) if expr.start else end - timedelta(days=days)
    if start >= end:
        raise invalid(
            "The period is empty: since must come before until.",
            [Problem("since", since or ""), Problem("until", until or "")],
        )
    return start, end


def _published(start: datetime, end: datetime) -> sq.DateRange:
    """Published in [start, end)."""
    return sq.DateRange("published", _instant(start), _instant(end), 0)


def _parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _instant(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
