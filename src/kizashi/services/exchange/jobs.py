"""Imports in the background: a job per upload, its progress (objects read) and its
report kept in the store, for whoever started it (and admins)."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kizashi.formats import Format
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, not_found
from kizashi.services.common import Context, wait_for_job
from kizashi.services.exchange.importing import Importer
from kizashi.store import imports as repo

log = logging.getLogger(__name__)

#: A running import writes its progress at most this often (seconds).
PROGRESS_EVERY = 0.5


@dataclass(frozen=True)
class ImportJobView:
    id: int
    status: str  # queued, running, done, failed
    format: str
    size: int
    done: int  # objects read so far
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    finished_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "format": self.format,
            "size": self.size,
            "done": self.done,
            "result": self.result,
            "error": self.error,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
        }


class ImportJobs:
    def __init__(self, ctx: Context, importer: Importer) -> None:
        self.ctx = ctx
        self.importer = importer

    def start(self, actor: Actor, fmt: Format, path: Path, *, remove: bool = True) -> ImportJobView:
        """Import the file at ``path`` in a thread (``remove``: delete it after); follow
        it with :meth:`job`."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            pk = repo.new_job(conn, fmt.name, path.stat().st_size, actor.user_pk, self.ctx.stamp())
        thread = threading.Thread(
            target=self._run, args=(actor, fmt, path, pk, remove), name=f"kizashi-import-{pk}"
        )
        thread.daemon = True
        thread.start()
        return self.job(actor, pk)

    def _run(self, actor: Actor, fmt: Format, path: Path, pk: int, remove: bool) -> None:
        last = [0.0]

        def progress(done: int) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY:
                return
            last[0] = now
            with self.ctx.store.begin() as conn:
                repo.update_job(conn, pk, done=done)

        def opener() -> IO[bytes]:
            return path.open("rb")

        with self.ctx.store.begin() as conn:
            repo.update_job(conn, pk, status="running")
        result: str | None = None
        error: str | None = None
        done = 0
        try:
            report = self.importer.run(actor, fmt, opener, progress=progress)
        except KizashiError as exc:
            status, error = "failed", exc.message
        except Exception:
            log.exception("import job %s failed", pk)
            status, error = "failed", "The import failed (see the server's log)."
        else:
            status, result, done = (
                "done",
                json.dumps(report.as_dict(), ensure_ascii=False),
                report.read,
            )
        finally:
            if remove:
                path.unlink(missing_ok=True)
        with self.ctx.store.begin() as conn:
            repo.update_job(
                conn,
                pk,
                status=status,
                done=done,
                result=result,
                error=error,
                finished_at=self.ctx.stamp(),
            )

    def job(self, actor: Actor, pk: int) -> ImportJobView:
        """An import's state, for whoever started it and admins (its report names what
        they may read)."""
        with self.ctx.store.read() as conn:
            row = repo.get_job(conn, pk)
        if row is None or (row.requested_by != actor.user_pk and not actor.is_admin):
            raise not_found("Import job %(pk)s was not found.", pk=pk)
        return ImportJobView(
            row.pk,
            row.status,
            row.format,
            row.size,
            row.done,
            json.loads(row.result) if row.result else None,
            row.error,
            row.created_at,
            row.finished_at,
        )

    def wait(self, actor: Actor, pk: int, timeout: float = 60.0) -> ImportJobView:
        """:meth:`job` once it is done or failed (or ``timeout`` seconds have passed)."""
        return wait_for_job(lambda: self.job(actor, pk), timeout)
