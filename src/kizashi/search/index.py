"""The full-text index: a tantivy index in the data directory, derived from the database.

The database is the system of record; this index can always be rebuilt from it. One
process per index directory writes (tantivy's lock file decides which; the lock dies
with its process); the others only read and see each commit as it lands.

What has been applied is kept *inside* the index, in a bookkeeping document committed with
the changes it covers: a crash leaves index and position consistent, and the follower
starts again from there (see :mod:`kizashi.search.sync`).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tantivy

from kizashi.model import searchquery as sq
from kizashi.model.errors import Problem, invalid
from kizashi.search.compile import META_PK, Access, Compiler
from kizashi.search.documents import IndexDoc, TextFields
from kizashi.store.files import private_dir, tighten_tree

#: 2: the analysis of each document's text is stored with it (documents.TextFields).
#: 3: keywords (kw, kwc) for term statistics; indicators are a fast field.
log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
WRITER_HEAP = 64_000_000
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


def _schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("pk", stored=True, indexed=True, fast=True)
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("type", fast=True, tokenizer_name="raw", index_option="basic")
    for name in ("title_w", "body_w", "title_b", "body_b"):
        sb.add_text_field(name, tokenizer_name="ws")
    sb.add_text_field("ioc", fast=True, tokenizer_name="raw", index_option="freq")
    # Keywords (each once) and, for those that occur more than once, "keyword\x1fcount".
    sb.add_text_field("kw", fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("kwc", fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("ioc_kind", tokenizer_name="raw", index_option="basic")
    for name in ("tag", "source", "tlp"):
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    # The language of the document and of each paragraph (ja, en, mixed), kept for display.
    sb.add_text_field("lang", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_bytes_field("paragraphs", stored=True)
    # What the analysis made of the text: a change that leaves the text alone reuses it.
    sb.add_bytes_field("analysed", stored=True)
    sb.add_text_field("source_k", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("created_by", indexed=True)
    for name in ("published", "created", "modified"):
        sb.add_date_field(name, indexed=True, fast=True)
    sb.add_float_field("recency", fast=True)
    # Months since year 0 (year * 12 + month - 1): the date histogram's calendar buckets.
    sb.add_integer_field("month", fast=True)
    sb.add_integer_field("sortkey", indexed=True, fast=True)
    sb.add_text_field("meta", stored=True, tokenizer_name="raw", index_option="basic")
    return sb.build()


@dataclass(frozen=True)
class Position:
    """How far into the outbox this index has applied changes."""

    position: int = 0
    read_above: Mapping[int, int] = field(default_factory=dict)
    #: False for an index that has never been built (it needs a rebuild first).
    built: bool = False
    synced_at: str | None = None


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


class IndexBusyError(RuntimeError):
    """Another process holds this index's writer."""


def _schema_version(meta: Path) -> int | None:
    """The layout version an index was written with (None: unreadable, say being written
    by another process this instant: the next start reads it)."""
    try:
        found = json.loads(meta.read_text()).get("schema_version")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, int) else None


class SearchIndex:
    """A tantivy index at ``path`` (in memory when None)."""

    def __init__(self, path: Path | None, *, write: bool = True) -> None:
        self.path = path
        self.schema = _schema()
        meta = (path / "kizashi-index.json") if path else None
        if path is not None:
            private_dir(path)
            tighten_tree(path)  # segments written by an older version under a wide umask
            if meta and meta.exists():
                found = _schema_version(meta)
                if found is not None and found != SCHEMA_VERSION:
                    _clear(path)  # an older layout: rebuilt from the database
            if meta and not meta.exists():
                # Written whole or not at all: processes starting together (a server and
                # its workers) read it while one of them writes it.
                part = meta.with_name(f"{meta.name}.{os.getpid()}.{threading.get_ident()}")
                part.write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
                os.replace(part, meta)
        try:
            self.index = tantivy.Index(self.schema, str(path) if path else None)
        except ValueError as exc:
            if path is None or "schema does not match" not in str(exc):
                raise
            _clear(path)  # written by another version: rebuilt from the database
            self.index = tantivy.Index(self.schema, str(path))
        self.index.register_tokenizer(
            "ws", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
        )
        self.compiler = Compiler(self.schema)
        #: Results derived from the index that callers keep a while (search.stats).
        self.memo: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self._writer: Any = None
        #: Committed here since the reader last reloaded (see :meth:`searcher`).
        self._stale = False
        #: The position this process last committed (it holds the writer, so nobody else
        #: moves it): read without a searcher (see :meth:`position`).
        self._committed: Position | None = None
        if write:
            self.try_write()
        self.index.reload()

    def try_write(self) -> bool:
        """Take the writer if no other process holds it; True when this one writes."""
        with self._lock:
            if self._writer is None:
                try:
                    self._writer = self.index.writer(WRITER_HEAP, 1)
                except ValueError as exc:
                    if "LockBusy" not in str(exc):
                        raise
            return self._writer is not None

    @property
    def writable(self) -> bool:
        return self._writer is not None

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.wait_merging_threads()

    def refresh(self) -> None:
        """Reload the reader: another process's commits become visible."""
        self._stale = False
        self.index.reload()

    def searcher(self) -> Any:
        """A searcher that sees every commit of this process.

        A commit does not reload the reader; the first read after it does. Reloading at
        once raced tantivy's own bookkeeping: a merge ending just after a commit holds the
        index's meta lock, and a reader that finds it held sleeps 100 ms before it tries
        again (tantivy's lock retry). On a feed's batches of 20 that was up to half of the
        time the index took to take them in. Moments later the merge is over: the next
        batch's first read (or the follower thread, after its round) reloads at no cost.
        """
        if self._stale:
            self._stale = False  # before: a commit during the reload marks it again
            self.index.reload()
        return self.index.searcher()

    # -- bookkeeping -----------------------------------------------------------

    def position(self) -> Position:
        committed = self._committed
        if committed is not None and self._writer is not None:
            return committed
        searcher = self.searcher()
        found = searcher.search(tantivy.Query.term_query(self.schema, "pk", META_PK), 1)
        if not found.hits:
            return Position()
        doc = searcher.doc(found.hits[0][1]).to_dict()
        data = json.loads(doc["meta"][0])
        return Position(
            int(data["position"]),
            {int(k): int(v) for k, v in data.get("read_above", {}).items()},
            True,
            data.get("synced_at"),
        )

    def _meta_doc(self, position: int, read_above: Mapping[int, int]) -> tuple[Any, Position]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        meta = {"position": position, "read_above": read_above, "synced_at": now}
        doc = tantivy.Document(pk=META_PK, type="__meta__", meta=json.dumps(meta))
        # As read back from the document (JSON's keys are strings; position() makes ints).
        return doc, Position(position, {int(k): int(v) for k, v in read_above.items()}, True, now)

    # -- writing ---------------------------------------------------------------

    def _require_writer(self) -> Any:
        if self._writer is None:
            raise IndexBusyError(f"another process is writing the search index at {self.path}")
        return self._writer

    def apply(
        self,
        docs: Mapping[int, IndexDoc | None],
        position: int,
        read_above: Mapping[int, int],
    ) -> None:
        """Replace (or remove, for None) each pk's document and move the position, in one
        commit. A document tantivy refuses is left out, its earlier version kept, and the
        refusal logged with its pk: one bad object does not hold the index back."""
        ready: list[tuple[int, Any]] = []
        for pk, doc in docs.items():
            if doc is None:
                ready.append((pk, None))
                continue
            try:
                ready.append((pk, tantivy.Document(**doc.fields)))
            except (ValueError, TypeError, OverflowError) as exc:
                log.warning("search index: object %s left at its earlier version: %s", pk, exc)
        with self._lock:
            writer = self._require_writer()
            try:
                self._write(writer, ready, position, read_above)
            except ValueError:
                # tantivy checks a document against the schema when it commits: find the
                # one it refuses by writing them one at a time (the rare, slow path).
                writer.rollback()
                for item in ready:
                    try:
                        self._write(writer, [item], None, None)
                    except ValueError as exc:
                        writer.rollback()
                        log.warning(
                            "search index: object %s left at its earlier version: %s",
                            item[0],
                            exc,
                        )
                self._write(writer, [], position, read_above)

    def _write(
        self,
        writer: Any,
        ready: list[tuple[int, Any]],
        position: int | None,
        read_above: Mapping[int, int] | None,
    ) -> None:
        for pk, made in ready:
            writer.delete_documents_by_term("pk", pk)
            if made is not None:
                writer.add_document(made)
        moved = None
        if position is not None:
            writer.delete_documents_by_term("pk", META_PK)
            meta, moved = self._meta_doc(position, read_above or {})
            writer.add_document(meta)
        writer.commit()
        self._stale = True
        if moved is not None:
            self._committed = moved

    def start_rebuild(self) -> None:
        """Drop every document; nothing is visible to readers until :meth:`apply`."""
        with self._lock:
            self.memo.clear()
            self._require_writer().delete_all_documents()

    def add(self, docs: list[IndexDoc]) -> None:
        """Add documents to a rebuild (uncommitted); one that cannot be made into a
        tantivy document is logged by pk and left out."""
        with self._lock:
            writer = self._require_writer()
            for doc in docs:
                try:
                    made = tantivy.Document(**doc.fields)
                except (ValueError, TypeError, OverflowError) as exc:
                    log.warning("search index: object %s left out: %s", doc.fields["pk"], exc)
                    continue
                writer.add_document(made)

    # -- reading ---------------------------------------------------------------

    def languages(self, pk: int) -> tuple[str | None, list[tuple[int, int, str | None]]] | None:
        """The stored language of a document and of each paragraph of its body (offsets
        into the body text), or None when the document is not in the index."""
        searcher = self.searcher()
        found: Any = searcher.search(tantivy.Query.term_query(self.schema, "pk", pk), 1)
        if not found.hits:
            return None
        doc = searcher.doc(found.hits[0][1]).to_dict()
        paragraphs = json.loads(bytes(doc.get("paragraphs", [b"[]"])[0]))
        lang = doc.get("lang", [None])[0]
        return lang, [(int(s), int(e), code) for s, e, code in paragraphs]

    def stored_text(self, pks: list[int]) -> dict[int, TextFields]:
        """What the index kept of these documents' text analysis (the ones it holds)."""
        if not pks:
            return {}
        searcher = self.searcher()
        query = tantivy.Query.term_set_query(self.schema, "pk", pks)
        found: Any = searcher.search(query, len(pks), count=False)
        out: dict[int, TextFields] = {}
        for _, addr in found.hits:
            doc = searcher.doc(addr)
            data = doc.get_first("analysed")
            if data is None:
                continue
            paragraphs = json.loads(bytes(doc.get_first("paragraphs") or b"[]"))
            text = TextFields.decode(
                bytes(data),
                doc.get_first("lang"),
                [(int(s), int(e), code) for s, e, code in paragraphs],
            )
            pk = doc.get_first("pk")
            if text is not None and pk is not None:
                out[int(pk)] = text
        return out

    def all_pks(self, query: Any) -> list[int]:
        """The pk of every document ``query`` matches, in index order."""
        searcher = self.searcher()
        limit = max(1, int(searcher.num_docs))
        found: Any = searcher.search(query, limit, count=False)
        addrs = [a for _, a in found.hits]
        return [int(pk) for pk in searcher.fast_field_values("pk", addrs) if pk is not None]

    def count(self) -> int:
        """Documents in the index, without its bookkeeping."""
        n = int(self.searcher().num_docs)
        return n - 1 if self.position().built else n

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
            f"This cursor does not belong to a {sort!r} search; start again without it.",
            [Problem("cursor", "not a cursor of this search")],
        )
    return value


def _clear(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            child.unlink()
