"""Reading the index: a page of matches by relevance or newest first, exact counts, and
facets. :class:`~kizashi.search.index.SearchIndex` reads through this part."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import tantivy

from kizashi.model import searchquery as sq
from kizashi.model.errors import Problem, invalid
from kizashi.search.compile import Access, Compiler

FACET_FIELDS = ("type", "tag", "source", "lang", "tlp")
#: Past this many word matches a relevance search stops counting exactly.
EXACT_TOTAL = 10_000
#: Newest first (see SearchIndex.search): a query that can match fewer documents than
#: this is read whole; otherwise windows of the newest documents, each at least this many
#: times larger than the last, until one holds a page or would be half the index.
NEWEST_CHEAP = 5_000
#: ... and that can match at least this share of the index (a looser bound than it looks:
#: a term's rarest bigram is often much more common than the term).
NEWEST_SHARE = 0.2
NEWEST_GROWTH = 4
#: Windows tried before reading everything.
NEWEST_TRIES = 2
#: How far back the date ranges that find a window's start go before all of time.
NEWEST_ALL_DAYS = 3650


@dataclass(frozen=True)
class IndexHit:
    pk: int
    score: float


@dataclass(frozen=True)
class IndexPage:
    total: int
    hits: list[IndexHit]
    next_cursor: str | None
    #: False when ``total`` is a lower bound (a large result set, see SearchIndex.search).
    total_exact: bool = True


class IndexReading:
    """Searches over :meth:`searcher` (the index's, which sees every commit)."""

    schema: Any
    compiler: Compiler

    def searcher(self) -> Any:  # pragma: no cover - the index's
        raise NotImplementedError

    def search(
        self,
        expr: sq.Expr,
        access: Access,
        *,
        sort: str = "relevance",
        limit: int = 20,
        cursor: str | None = None,
        now: float | None = None,
    ) -> IndexPage:
        """A page of matches, by relevance or newest first.

        Counting every match of a common word costs more than finding the page (the
        bigram phrase that gives recall is checked on every document that holds the
        word's characters), so large result sets are not counted exactly, as
        Elasticsearch does past 10,000: :attr:`IndexPage.total_exact` says which.

        - **Relevance.** The words-only variant of the query runs first (a subset of the
          matches, an order of magnitude cheaper). When it finds :data:`EXACT_TOTAL` or
          more, its page is the page (word matches rank above bigram-only matches anyway)
          and its count is the total, at least. Otherwise the full query runs, exactly.
        - **Newest first.** When the terms' document frequencies say the query can match
          a fifth of the index or more, the query runs inside a window of the newest
          documents (sized from that bound, widened once by the rate of matches found),
          the window pushed into every phrase, until one holds a page; the total is then
          that window's count, at least. Otherwise, or when the windows find nothing or
          would be half the index, all of it is read and counted exactly. Newest first
          never reads scores, so its query has no scoring tiers.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")  # tantivy panics on 0
        searcher = self.searcher()
        if sort == "newest":
            after = _decode(cursor, "newest")
            return self._newest(searcher, expr, access, limit, after, now)
        return self._relevance(searcher, expr, access, limit, _decode(cursor, "relevance") or 0)

    def _relevance(
        self, searcher: Any, expr: sq.Expr, access: Access, limit: int, offset: int
    ) -> IndexPage:
        words = self.compiler.variant(words_only=True)
        query = words.query(expr, access)
        if not words.dropped:  # no bigram clause anywhere: the words-only query is the query
            return self._ranked(searcher, query, limit, offset)
        if self._bound(searcher, expr) >= EXACT_TOTAL:
            n, hits = self._top(searcher, query, limit, offset)
            if n >= EXACT_TOTAL and offset + limit <= n:
                # Bigram-only matches may follow the word matches: there is always more.
                return IndexPage(n, hits, _encode("relevance", offset + limit), False)
        return self._ranked(searcher, self.compiler.query(expr, access), limit, offset)

    def _ranked(self, searcher: Any, query: Any, limit: int, offset: int) -> IndexPage:
        n, hits = self._top(searcher, query, limit, offset)
        more = offset + len(hits) < n
        return IndexPage(n, hits, _encode("relevance", offset + limit) if more else None)

    def _top(
        self, searcher: Any, query: Any, limit: int, offset: int
    ) -> tuple[int, list[IndexHit]]:
        """The match count and the hits ``offset`` to ``offset + limit`` by score, recency
        breaking near-ties (``documents.recency``). Recency is applied by tantivy over
        every match: re-ranking only the best candidates in Python was measured slower,
        since a common word's near-ties run into the hundreds of thousands."""
        found: Any = searcher.search(
            query, limit, count=True, offset=offset, weight_by_field="recency"
        )
        addrs = [a for _, a in found.hits]
        pks = searcher.fast_field_values("pk", addrs)
        hits = [
            IndexHit(int(pk or 0), float(s)) for (s, _), pk in zip(found.hits, pks, strict=True)
        ]
        return int(found.count), hits

    def _newest(
        self,
        searcher: Any,
        expr: sq.Expr,
        access: Access,
        limit: int,
        after: int | None,
        now: float | None,
    ) -> IndexPage:
        now = time.time() if now is None else now
        everything = int(searcher.num_docs)
        bound = self._bound(searcher, expr)
        # The first window: the newest documents that would hold two pages if the matches
        # were spread evenly (they lean towards recent ones); none for a small result.
        size = everything
        if bound >= max(NEWEST_CHEAP, everything * NEWEST_SHARE):
            size = max(4 * limit, -(-everything * 2 * limit // bound))
        for _ in range(NEWEST_TRIES):
            if size >= everything // 2:
                break
            low = self._newest_key(searcher, size, after, now)
            if low is None:
                break  # fewer documents than that before the cursor: read them all
            window = self._sortkeys(low, after)
            query = self.compiler.variant(within=window, match_only=True).query(expr, access)
            found = searcher.search(query, limit, count=True, order_by_field="sortkey")
            n = int(found.count)
            if n >= limit:
                return self._sorted_page(searcher, found, n, limit, exact=False)
            if n == 0:
                break  # the bound was far off: this query is not a common one
            # Wide enough to hold a page at this window's rate, twice over.
            size *= max(NEWEST_GROWTH, -(-2 * limit // n))
        matching = self.compiler.variant(match_only=True)
        query = matching.query(expr, access)
        total: int | None = None
        if after is not None:
            total = int(searcher.search(query, 1, count=True).count)
            before = self._sortkeys(None, after)
            query = matching.variant(within=before, match_only=True).query(expr, access)
        found = searcher.search(query, limit, count=True, order_by_field="sortkey")
        return self._sorted_page(
            searcher, found, int(found.count) if total is None else total, limit, exact=True
        )

    def _newest_key(self, searcher: Any, size: int, below: int | None, now: float) -> int | None:
        """The sort key of the ``size``-th newest document (before ``below``), found
        through widening date ranges so that only recent documents are read."""
        days = 1
        while True:
            low = None if days >= NEWEST_ALL_DAYS else max(0, int(now) - days * 86_400) << 32
            found = searcher.search(
                self._sortkeys(low, below), size, count=False, order_by_field="sortkey"
            )
            if len(found.hits) >= size:
                return int(found.hits[-1][0])
            if low is None:
                return None
            days *= 8

    def _bound(self, searcher: Any, expr: sq.Expr) -> int:
        return self.compiler.upper_bound(expr, searcher.doc_freq, int(searcher.num_docs))

    def _sortkeys(self, low: int | None, below: int | None) -> Any:
        if low is None and below is None:
            return tantivy.Query.all_query()
        return tantivy.Query.range_query(
            self.schema,
            "sortkey",
            tantivy.FieldType.Integer,
            low,
            below,
            include_lower=True,
            include_upper=below is None,  # tantivy: an open side counts as inclusive
        )

    def _sorted_page(
        self, searcher: Any, found: Any, total: int, limit: int, *, exact: bool
    ) -> IndexPage:
        addrs = [a for _, a in found.hits]
        pks: list[Any] = searcher.fast_field_values("pk", addrs)
        keys = [int(k) for k, _ in found.hits]
        hits = [IndexHit(int(pk), 0.0) for pk in pks]
        nxt = _encode("newest", keys[-1]) if len(hits) == limit else None
        return IndexPage(total, hits, nxt, exact)

    def count_matches(self, expr: sq.Expr, access: Access) -> int:
        """Every match of ``expr``, counted exactly (what a large search leaves out)."""
        query = self.compiler.variant(match_only=True).query(expr, access)
        found: Any = self.searcher().search(query, 1, count=True)
        return int(found.count)

    def facets(self, expr: sq.Expr, access: Access, *, size: int = 20) -> dict[str, Any]:
        """Counts per type, tag, source, language and TLP, a histogram of dates, and
        under ``"matches"`` the exact number of matches (every one is read here anyway)."""
        query = self.compiler.variant(match_only=True).query(expr, access)
        aggs: dict[str, Any] = {f: {"terms": {"field": f, "size": size}} for f in FACET_FIELDS}
        aggs["published"] = {"histogram": {"field": "month", "interval": 1, "min_doc_count": 1}}
        aggs["matches"] = {"value_count": {"field": "pk"}}
        result = self.searcher().aggregate(query, aggs)
        out: dict[str, Any] = {
            f: [(b["key"], int(b["doc_count"])) for b in result.get(f, {}).get("buckets", [])]
            for f in FACET_FIELDS
        }
        months = [
            (_month_label(int(b["key"])), int(b["doc_count"]))
            for b in result.get("published", {}).get("buckets", [])
            if b["doc_count"]
        ]
        out["published"] = _roll_up(months)
        out["matches"] = int(result.get("matches", {}).get("value") or 0)
        return out


def _month_label(key: int) -> str:
    return f"{key // 12:04d}-{key % 12 + 1:02d}"


def _roll_up(months: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Months, or years when they span more than ten years."""
    if len(months) < 2 or int(months[-1][0][:4]) - int(months[0][0][:4]) < 10:
        return months
    out: dict[str, int] = {}
    for month, n in months:
        out[month[:4]] = out.get(month[:4], 0) + n
    return list(out.items())


def _encode(sort: str, value: int) -> str:
    raw = json.dumps({"s": sort, "v": value}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None, sort: str) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, TypeError):
        data = None
    if not isinstance(data, dict) or data.get("s") != sort:
        data = None
    value = data.get("v") if data else None
    if not isinstance(value, int) or value < 0:
        raise invalid(
            "This cursor does not belong to a %(sort)r search; start again without it.",
            [Problem("cursor", "not a cursor of this search")],
            sort=sort,
        )
    return value
