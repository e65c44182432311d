"""Digests: a selection (a search, a tag, a source) summarised every day or every week
over the days before, as the user who set it up, by the provider they chose.

The scheduler (``kizashi run``'s, or any worker's) asks for the due digests and claims
each with a compare-and-set on its next run, so a digest runs once however many
schedulers there are; each run is a summary job (its progress and result are there) and
raises a ``digest.ready`` event for notifications.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import Problem, conflict, invalid, not_found, problem
from kizashi.model.stix import format_timestamp
from kizashi.services.common import Context
from kizashi.services.summaries import JobView, SummaryRequest, SummaryService
from kizashi.services.users import UserService
from kizashi.store import digests as repo
from kizashi.store.rules import add_events

EVERY = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_DAYS = 90
_NAME = re.compile(r"^[^\x00-\x1f]{1,200}$")


@dataclass(frozen=True)
class DigestView:
    name: str
    query: str
    days: int
    every: str
    provider: str
    language: str | None
    enabled: bool
    next_run_at: str
    last_job: int | None
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _view(row: repo.DigestRow) -> DigestView:
    return DigestView(
        row.name,
        row.query,
        row.days,
        row.every,
        row.provider,
        row.language,
        row.enabled,
        row.next_run_at,
        row.last_job_pk,
        row.created_at,
    )


class DigestService:
    def __init__(
        self, ctx: Context, summaries: Callable[[], SummaryService], users: UserService
    ) -> None:
        self.ctx = ctx
        # Made when needed: claiming due digests (the scheduler) needs no search index.
        self._summaries = summaries
        self.users = users

    @property
    def summaries(self) -> SummaryService:
        return self._summaries()

    def create(
        self,
        actor: Actor,
        name: str,
        *,
        query: str = "",
        days: int = 7,
        every: str = "weekly",
        provider: str = "extractive",
        language: str | None = None,
    ) -> DigestView:
        """A digest of ``query`` over the last ``days``, made ``every`` day or week, first
        at the scheduler's next round."""
        actor.require_write()
        problems = []
        if not _NAME.fullmatch(name.strip()):
            problems.append(Problem("name", "1 to 200 printable characters"))
        if every not in EVERY:
            problems.append(problem("every", "one of %(choices)s", choices=", ".join(EVERY)))
        if not 1 <= days <= MAX_DAYS:
            problems.append(problem("days", "1 to %(n)s", n=MAX_DAYS))
        if problems:
            raise invalid("The digest cannot be made.", problems)
        sq.parse(query)  # a query error says where
        # The provider and language as a summary checks them.
        self.summaries.check(SummaryRequest(query=query, provider=provider, language=language))
        with self.ctx.store.begin() as conn:
            if repo.get(conn, name.strip()) is not None:
                raise conflict("A digest named %(name)r exists.", name=name.strip())
            repo.insert(
                conn,
                {
                    "name": name.strip(),
                    "query": query,
                    "days": days,
                    "every": every,
                    "provider": provider,
                    "language": language,
                    "next_run_at": self.ctx.stamp(),
                    "created_by": actor.user_pk,
                    "created_at": self.ctx.stamp(),
                },
            )
        return self.get(actor, name.strip())

    def _row(self, actor: Actor, name: str) -> repo.DigestRow:
        with self.ctx.store.read() as conn:
            row = repo.get(conn, name)
        if row is None or (row.created_by != actor.user_pk and not actor.is_admin):
            raise not_found("Digest %(name)s was not found.", name=name)
        return row

    def get(self, actor: Actor, name: str) -> DigestView:
        """A digest of one's own (admins: anyone's)."""
        return _view(self._row(actor, name))

    def list(self, actor: Actor) -> list[DigestView]:
        with self.ctx.store.read() as conn:
            rows = repo.all_(conn, None if actor.is_admin else actor.user_pk)
        return [_view(r) for r in rows]

    def delete(self, actor: Actor, name: str) -> None:
        actor.require_write()
        row = self._row(actor, name)
        with self.ctx.store.begin() as conn:
            repo.delete(conn, row.pk)

    def latest(self, actor: Actor, name: str) -> JobView | None:
        """The digest's last run: its progress, then its summary."""
        row = self._row(actor, name)
        return None if row.last_job_pk is None else self.summaries.job(actor, row.last_job_pk)

    # -- running ------------------------------------------------------------------------

    def run(self, actor: Actor, name: str) -> JobView:
        """Run a digest now (as its owner), whatever its schedule; returns its job, done."""
        row = self._row(actor, name)
        return self._run(row)

    def start(self, actor: Actor, name: str) -> JobView:
        """:meth:`run` in a thread (the UI's "Run now"); follow the job it returns."""
        row = self._row(actor, name)
        owner, request = self._owner_and_request(row)
        job = self.summaries.start(owner, request)
        with self.ctx.store.begin() as conn:
            repo.update(conn, row.pk, last_job_pk=job.id)
        return job

    def claim_due(self) -> builtins.list[int]:
        """The due digests this caller now owns (their next run moved on): run each
        with :meth:`run_claimed`."""
        now = self.ctx.clock()
        stamp = self.ctx.stamp()
        with self.ctx.store.read() as conn:
            due = repo.due(conn, stamp)
        claimed = []
        for row in due:
            later = format_timestamp(now + EVERY.get(row.every, EVERY["weekly"]))
            with self.ctx.store.begin() as conn:
                if repo.claim(conn, row.pk, row.next_run_at, later):
                    claimed.append(row.pk)
        return claimed

    def run_claimed(self, pk: int) -> JobView | None:
        with self.ctx.store.read() as conn:
            row = repo.get_pk(conn, pk)
        return None if row is None else self._run(row)

    def _owner_and_request(self, row: repo.DigestRow) -> tuple[Actor, SummaryRequest]:
        # Made from the command line without a user: the system's; else its maker, who
        # must still be an active user.
        owner = SYSTEM if row.created_by is None else self.users.actor_for(row.created_by)
        if owner is None:
            raise not_found("The active owner of digest %(name)s was not found.", name=row.name)
        since = (self.ctx.clock() - timedelta(days=row.days)).strftime("%Y-%m-%d")
        request = SummaryRequest(
            query=row.query, since=since, provider=row.provider, language=row.language
        )
        return owner, request

    def _run(self, row: repo.DigestRow) -> JobView:
        owner, request = self._owner_and_request(row)
        pk = self.summaries.new_job(owner, request)
        with self.ctx.store.begin() as conn:
            repo.update(conn, row.pk, last_job_pk=pk)
        self.summaries.run_job(owner, pk, request)
        job = self.summaries.job(owner, pk)
        with self.ctx.store.begin() as conn:
            add_events(
                conn,
                [
                    {
                        "at": self.ctx.stamp(),
                        "kind": "digest.ready",
                        "payload": json.dumps(
                            {"digest": row.name, "job": pk, "status": job.status},
                            ensure_ascii=False,
                        ),
                    }
                ],
            )
        return job
