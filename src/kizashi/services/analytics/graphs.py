"""Co-occurrence graphs: tags on the same item, words in the same article, reports that
mention the same indicators."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model.actor import Actor
from kizashi.search import stats
from kizashi.search.documents import source_of
from kizashi.services.analytics.keyness import language_of
from kizashi.services.analytics.selection import IndexReader, check_limit, selection
from kizashi.services.analytics.views import Edge, Graph, Node
from kizashi.services.common import readable_row
from kizashi.services.search import access_for
from kizashi.store import mentions as mention_repo
from kizashi.store import search as repo

MAX_NODES = 2000
#: An indicator mentioned by more reports of a selection than this joins none of them.
HUB_REPORTS = 25
#: Indicators of one report that an expansion of the indicator map looks for.
AROUND_VALUES = 200
#: Items of a selection (the newest) over which word pairs are counted.
WORD_PAIR_ITEMS = 2000


def namespace_of(tag: str) -> str:
    return tag.split(":", 1)[0] if ":" in tag else ""


class Graphs(IndexReader):
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
        check_limit("size", size, MAX_NODES)
        check_limit("min_count", min_count, 1_000_000)
        expr = selection(query, since, until)
        self.ready()
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
        check_limit("size", size, MAX_NODES)
        check_limit("min_count", min_count, 1_000_000)
        expr = selection(query, since, until)
        if namespaces:
            wanted = tuple(sq.Field("tag", f"{ns}:", 0, prefix=True) for ns in namespaces)
            only = wanted[0] if len(wanted) == 1 else sq.Or(wanted)
            expr = only if isinstance(expr, sq.MatchAll) else sq.And((expr, only))
        self.ready()
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
        check_limit("size", size, MAX_NODES)
        check_limit("min_shared", min_shared, 1000)
        expr = selection(query, since, until)
        if around is not None:
            expr = sq.And((expr, self._sharing(actor, around)))
        self.ready()
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
