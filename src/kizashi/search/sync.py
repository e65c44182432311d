"""Keeping the index behind the database: follow the outbox, rebuild when needed.

- A change commits with its outbox row (triggers), so nothing that reached the database
  can be missed; the index stores how far it has read in the same commit as the documents,
  so a crash anywhere (SIGKILL between the database commit and the index commit included)
  leaves the follower to start again from its last position: applying a change twice
  only rewrites the same document. A read that finds no object to rebuild moves the
  position in memory only (on PostgreSQL it moves with every transaction anywhere).
- The process that holds the index's writer follows the outbox: in a background thread
  (every ``interval`` seconds) and before each search (read-your-writes in one process).
- Other processes on the same index only read it. Each machine with its own index follows
  the same outbox; the lag between machines is bounded by ``interval`` plus the time to
  apply one batch, and, on PostgreSQL, by the oldest write transaction still open.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kizashi.search.documents import IndexDoc, build
from kizashi.search.index import Position, SearchIndex
from kizashi.store import search as repo
from kizashi.store.engine import Store

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: Objects of the settled backlog read at once, in index commits of ``batch``: each is
#: rebuilt once however many outbox rows name it (see store.search.backlog).
BACKLOG_CHUNKS = 50


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Follower:
    def __init__(
        self,
        store: Store,
        index: SearchIndex,
        *,
        name: str | None = None,
        interval: float = 1.0,
        batch: int = 2000,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.store = store
        self.index = index
        self.name = name or f"{socket.gethostname()}:{index.path or 'memory'}"
        self.interval = interval
        self.batch = batch
        self.retention = retention
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.applied = 0
        self._rebuilding: threading.Thread | None = None
        #: (done, total) of the rebuild running in the background, if any.
        self.rebuild_progress: tuple[int, int] | None = None
        #: A position past outbox rows that named no object, kept here rather than
        #: committed to the index: on PostgreSQL the position (the snapshot's xmin) moves
        #: with every transaction anywhere, and an index commit per search cost 17 ms.
        #: Lost in a restart, it costs one empty read from the committed position.
        self._ahead: Position | None = None

    # -- the loop --------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kizashi-search", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and wait for a rebuild in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._rebuilding is not None:
            self._rebuilding.join()
            self._rebuilding = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.catch_up():
                    # The reader reloads here, off any request's way (see
                    # SearchIndex.searcher): the next search finds it fresh.
                    self.index.searcher()
            except Exception:  # the next round tries again; the outbox keeps everything
                log.exception("search index: catching up failed; retrying")
            self._stop.wait(self.interval)

    # -- work ------------------------------------------------------------------

    def needs_rebuild(self) -> bool:
        pos = self.index.position()
        if not pos.built:
            return True
        with self.store.read() as conn:
            seen = repo.consumer(conn, self.name)
        if seen is None:
            return False  # built here before this database knew the follower: fine
        last = datetime.fromisoformat(seen[1].replace("Z", "+00:00"))
        # Rows it had not read may have been pruned while it was away.
        return datetime.now(UTC) - last > self.retention

    def catch_up(self, wait: float | None = None) -> int:
        """Apply every committed change not yet in the index; return how many objects.

        With ``wait``, give up after that many seconds if another thread is already at it
        (a rebuild can take minutes; a search does not wait for it)."""
        if not self.index.writable and not self.index.try_write():
            self.index.refresh()
            return 0
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            return 0
        try:
            return self._catch_up()
        finally:
            self._lock.release()

    def _catch_up(self) -> int:
        if self.needs_rebuild():
            return self._rebuild(None)
        done = 0
        settled = True  # first the settled backlog, each object once; then the rest
        while True:
            pos = self._position()
            with self.store.read() as conn:
                if settled:
                    ch = repo.backlog(
                        conn,
                        pos.position,
                        dict(pos.read_above),
                        max_objects=self.batch * BACKLOG_CHUNKS,
                    )
                else:
                    ch = repo.changes(
                        conn, pos.position, dict(pos.read_above), limit=self.batch * 25
                    )
            moved = ch.position != pos.position or ch.read_above != dict(pos.read_above)
            if not ch.object_pks:
                if moved:
                    self._ahead = Position(ch.position, ch.read_above, pos.built, pos.synced_at)
                if settled:
                    settled = False
                    continue
                break
            done += self._apply(ch, pos)
            if not ch.more and not settled:
                break
            if not ch.more:
                settled = False
        if done:
            self.applied += done
            self._save_position()
        return done

    def _position(self) -> Position:
        """Where to read from: the index's committed position, or one moved past empty
        rows since (``_ahead``)."""
        committed = self.index.position()
        ahead = self._ahead
        if ahead is not None and ahead.position >= committed.position and committed.built:
            return ahead
        self._ahead = None
        return committed

    def _apply(self, ch: repo.Changes, pos: Position) -> int:
        """Rebuild the objects of ``ch`` in index commits of ``batch``; the position
        moves with the last (a crash before it reads them all again)."""
        chunks = [
            ch.object_pks[i : i + self.batch] for i in range(0, len(ch.object_pks), self.batch)
        ] or [[]]
        done = 0
        for n, chunk in enumerate(chunks, 1):
            with self.store.read() as conn:
                rows = repo.documents(conn, chunk) if chunk else {}
            # A document whose text did not change is rebuilt from its stored
            # analysis (a rule run changes tags only).
            stored = self.index.stored_text(chunk)
            docs: dict[int, IndexDoc | None] = {}
            for pk in chunk:
                if pk not in rows:
                    docs[pk] = None
                    continue
                try:
                    docs[pk] = build(rows[pk], stored.get(pk))
                except Exception:
                    # Logged with the pk; the rest of the chunk goes on.
                    log.exception("search index: object %s could not be analysed", pk)
            if n < len(chunks):
                self.index.apply(docs, pos.position, dict(pos.read_above))
            else:
                self.index.apply(docs, ch.position, ch.read_above)
                self._ahead = None
            done += len(docs)
        return done

    def rebuild(self, progress: Progress | None = None) -> int:
        """Index every object again from the database; return how many were indexed."""
        with self._lock:
            return self._rebuild(progress)

    def rebuild_in_background(self) -> bool:
        """Start a rebuild in a thread (for a server); False when one is running."""
        if self._rebuilding is not None and self._rebuilding.is_alive():
            return False

        def tick(done: int, total: int) -> None:
            self.rebuild_progress = (done, total)

        def work() -> None:
            try:
                self.rebuild(tick)
            except Exception:
                log.exception("search index: rebuild failed")
            finally:
                self.rebuild_progress = None

        self.rebuild_progress = (0, 0)
        self._rebuilding = threading.Thread(target=work, name="kizashi-reindex", daemon=True)
        self._rebuilding.start()
        return True

    def _rebuild(self, progress: Progress | None) -> int:
        with self.store.read() as conn:
            start = repo.head(conn)
            total = repo.count_objects(conn)
        self.index.start_rebuild()
        done = indexed = 0
        with self.store.read() as conn:
            for pks in repo.all_pks(conn, batch=500):
                rows = repo.documents(conn, pks)
                docs = [d for d in (build(rows[pk]) for pk in pks if pk in rows) if d]
                self.index.add(docs)
                done += len(pks)
                indexed += len(docs)
                if progress:
                    progress(done, total)
        # Changes that committed while this ran are after ``start``: the next catch-up
        # applies them again.
        self.index.apply({}, start, {})
        self._ahead = None
        self._save_position()
        log.info("search index rebuilt: %d documents from %d objects", indexed, done)
        return indexed

    def _save_position(self) -> None:
        pos = self.index.position()
        try:
            with self.store.begin() as conn:
                repo.save_consumer(conn, self.name, pos.position, _now())
                repo.prune(conn, retention=self.retention)
        except Exception:  # bookkeeping for pruning only; the index holds its position
            log.warning("search index: could not record its position", exc_info=True)

    def lag(self) -> int:
        """Outbox rows not yet applied here (an upper bound on PostgreSQL)."""
        pos = self._position()
        with self.store.read() as conn:
            return repo.pending(conn, pos.position) - (len(pos.read_above) if pos.read_above else 0)
