"""Summaries in the background: a job per request, its progress and result kept in the
store for whoever asked (and admins)."""

from __future__ import annotations

import json
import logging
import threading
import time

from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Text, not_found
from kizashi.services.common import Context, wait_for_job
from kizashi.services.summaries.inputs import (
    ARTICLE_BUDGET,
    PROGRESS_EVERY,
    budget_of,
    check_language,
)
from kizashi.services.summaries.making import SummaryMaker
from kizashi.services.summaries.providers import Progress
from kizashi.services.summaries.views import JobView, Summary, SummaryRequest
from kizashi.store import summaries as repo

log = logging.getLogger(__name__)


class SummaryJobs:
    def __init__(self, ctx: Context, maker: SummaryMaker) -> None:
        self.ctx = ctx
        self.maker = maker

    def make(
        self, actor: Actor, request: SummaryRequest, progress: Progress | None = None
    ) -> Summary:
        """:meth:`SummaryMaker.article` or :meth:`SummaryMaker.collection`, as ``request`` says."""
        if request.id:
            return self.maker.article(
                actor,
                request.id,
                provider=request.provider,
                budget=request.budget,
                language=request.language,
                progress=progress,
            )
        return self.maker.collection(
            actor,
            request.query,
            since=request.since,
            until=request.until,
            provider=request.provider,
            budget=request.budget,
            limit=request.limit,
            language=request.language,
            progress=progress,
        )

    def start(self, actor: Actor, request: SummaryRequest) -> JobView:
        """Make the summary in a thread; follow it with :meth:`job`. What is wrong with the
        request itself (a provider, a budget, a language) is said here, before anything
        starts."""
        pk = self.new_job(actor, request)
        thread = threading.Thread(
            target=self.run_job,
            args=(actor, pk, request),
            name=f"kizashi-summary-{pk}",
            daemon=True,
        )
        thread.start()
        return self.job(actor, pk)

    def new_job(self, actor: Actor, request: SummaryRequest) -> int:
        """A queued job for ``request`` (checked first); :meth:`run_job` makes it."""
        self.check(request)
        asked = json.dumps(request.as_dict())
        with self.ctx.store.begin() as conn:
            return repo.new_job(conn, asked, actor.user_pk, self.ctx.stamp())

    def check(self, request: SummaryRequest) -> None:
        """What is wrong with ``request`` itself: its provider, budget or language."""
        self.maker.provider(request.provider)
        budget_of(request.budget, ARTICLE_BUDGET)
        check_language(request.language)

    def run_job(self, actor: Actor, pk: int, request: SummaryRequest) -> None:
        """Make job ``pk``'s summary here and now, its progress and result in the job."""
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done < total and now - last[0] < PROGRESS_EVERY:
                return
            last[0] = now
            with self.ctx.store.begin() as conn:
                repo.update_job(conn, pk, done=done, total=total)

        with self.ctx.store.begin() as conn:
            repo.update_job(conn, pk, status="running")
        result: str | None = None
        error: str | None = None
        try:
            made = self.make(actor, request, progress)
        except KizashiError as exc:
            status, error = "failed", exc.message
        except Exception:
            log.exception("summary job %s failed", pk)
            # Kept in English; a Text so the catalogue has it for the page to say.
            status, error = (
                "failed",
                str(Text("The summary could not be made (see the server's log).")),
            )
        else:
            status, result = "done", json.dumps(made.as_dict(), ensure_ascii=False)
        with self.ctx.store.begin() as conn:
            repo.update_job(
                conn, pk, status=status, result=result, error=error, finished_at=self.ctx.stamp()
            )

    def job(self, actor: Actor, pk: int) -> JobView:
        """A background summary's state, for whoever asked for it (and admins): the
        summary read what they may read, which is not for everyone."""
        with self.ctx.store.read() as conn:
            row = repo.get_job(conn, pk)
        if row is None or (row.requested_by != actor.user_pk and not actor.is_admin):
            raise not_found("Summary job %(pk)s was not found.", pk=pk)
        return JobView(
            row.pk,
            row.status,
            row.done,
            row.total,
            json.loads(row.result) if row.result else None,
            row.error,
            json.loads(row.request),
            row.created_at,
            row.finished_at,
        )

    def wait(self, actor: Actor, pk: int, timeout: float = 60.0) -> JobView:
        """:meth:`job` once it is done or failed (or ``timeout`` seconds have passed)."""
        return wait_for_job(lambda: self.job(actor, pk), timeout)
