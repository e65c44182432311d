"""The full-text index: a tantivy index in the data directory, derived from the database.

The database is the system of record; this index can always be rebuilt from it. One
process per index directory writes (tantivy's lock file decides which; the lock dies
with its process); the others only read and see each commit as it lands.

What has been applied is kept *inside* the index, in a bookkeeping document committed with
the changes it covers: a crash leaves index and position consistent, and the follower
starts again from there (see :mod:`kizashi.search.sync`).

This module opens the index and writes it; the layout is :mod:`kizashi.search.schema`,
searching it :mod:`kizashi.search.reading`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tantivy

from kizashi.search.compile import META_PK, Compiler
from kizashi.search.documents import IndexDoc, TextFields
from kizashi.search.reading import IndexReading
from kizashi.search.schema import SCHEMA_VERSION, build_schema, schema_version
from kizashi.store.files import private_dir, tighten_tree

log = logging.getLogger(__name__)

WRITER_HEAP = 64_000_000


@dataclass(frozen=True)
class Position:
    """How far into the outbox this index has applied changes."""

    position: int = 0
    read_above: Mapping[int, int] = field(default_factory=dict)
    #: False for an index that has never been built (it needs a rebuild first).
    built: bool = False
    synced_at: str | None = None


class IndexBusyError(RuntimeError):
    """Another process holds this index's writer."""


class SearchIndex(IndexReading):
    """A tantivy index at ``path`` (in memory when None)."""

    def __init__(self, path: Path | None, *, write: bool = True) -> None:
        self.path = path
        self.schema = build_schema()
        meta = (path / "kizashi-index.json") if path else None
        if path is not None:
            private_dir(path)
            tighten_tree(path)  # segments written by an older version under a wide umask
            if meta and meta.exists():
                found = schema_version(meta)
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

    def state(self) -> tuple[Any, ...]:
        """What the index holds, as a key: it changes with every commit (each writes its
        position and time into the meta document), so an answer computed from the index
        may be kept under it and is never stale (:func:`kizashi.search.stats.kept`)."""
        p = self.position()
        return (p.position, tuple(sorted(p.read_above.items())), p.synced_at)

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


def _clear(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            child.unlink()
