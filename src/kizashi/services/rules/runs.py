"""Runs: one rule, or every enabled rule, applied to the stored items, in the caller's
thread or in the background, with progress that a bar can poll."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kizashi.model import rules as rm
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import not_found
from kizashi.search.rules import needs_text
from kizashi.services.common import actors_by_pk
from kizashi.services.rules.actions import Compiled
from kizashi.services.rules.matching import Matcher
from kizashi.services.rules.views import RunView
from kizashi.store import rules as repo
from kizashi.text import rulematch

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

#: Matches written per transaction by a run (over as many rules as it takes).
ACT_BATCH = 20_000
#: How often a run writes its progress (seconds).
RUN_REPORT_SECONDS = 0.5
Progress = Callable[[int, int], None]


class Runs:
    def __init__(self, matcher: Matcher) -> None:
        #: A run finds matches as the matcher does and acts as incoming items' rules do.
        self.matcher = matcher
        self.ctx, self.rulesets, self.actions = matcher.ctx, matcher.rulesets, matcher.actions
        self._threads: dict[int, threading.Thread] = {}

    def _new(self, actor: Actor, name: str | None) -> tuple[int, int | None]:
        """A queued run for one rule (by name) or every enabled rule (None)."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            rule_pk = None
            if name is not None:
                row = repo.get(conn, name)
                if row is None:
                    raise not_found("No rule named %(name)r.", name=name)
                rule_pk = row.pk
            return repo.create_run(conn, rule_pk, actor.user_pk, self.ctx.stamp()), rule_pk

    def apply(
        self, actor: Actor, name: str | None = None, progress: Progress | None = None
    ) -> RunView:
        """Apply one rule (or every enabled rule) to stored items; returns the finished run."""
        run_pk, rule_pk = self._new(actor, name)
        self._run(actor, run_pk, rule_pk, progress)
        return self.view(run_pk, actor)

    def apply_in_background(self, actor: Actor, name: str | None = None) -> RunView:
        """The same in a thread; follow it with :meth:`view` (or :meth:`wait`)."""
        run_pk, rule_pk = self._new(actor, name)
        thread = threading.Thread(
            target=self._run,
            args=(actor, run_pk, rule_pk, None),
            name=f"kizashi-rules-{run_pk}",
            daemon=True,
        )
        self._threads[run_pk] = thread
        thread.start()
        return self.view(run_pk, actor)

    def wait(self, run_id: int, timeout: float | None = None) -> RunView:
        thread = self._threads.get(run_id)
        if thread is not None:
            thread.join(timeout)
        return self.view(run_id, SYSTEM)

    def view(self, run_id: int, actor: Actor) -> RunView:
        """A run's progress, for the one who started it and admins (its counts are of
        what its starter may read)."""
        with self.ctx.store.read() as conn:
            run = repo.get_run(conn, run_id)
            if run is None or not (actor.is_admin or run.requested_by == actor.user_pk):
                raise not_found("Rule run %(run_id)s was not found.", run_id=run_id)
            rule = repo.get_pk(conn, run.rule_pk) if run.rule_pk else None
        return RunView(
            run.pk,
            rule.name if rule else None,
            run.status,
            run.total,
            run.done,
            run.matched,
            run.error,
        )

    def _run(
        self, actor: Actor, run_pk: int, rule_pk: int | None, progress: Progress | None
    ) -> None:
        try:
            with self.ctx.store.read() as conn:
                compiled = self.rulesets.current(conn)
                if rule_pk is not None:
                    row = repo.get_pk(conn, rule_pk)
                    assert row is not None
                    compiled = Compiled.one(
                        row.pk, row.version, rm.parse_rule(row.definition), row.updated_by
                    )
                owners = actors_by_pk(conn, set(compiled.owners.values()))
            specs, versions = compiled.specs, compiled.versions
            # A run sees what both the rule's owner and the one who started it may read:
            # its counts are shown to the latter, its changes are made as the former.
            readers = {pk: [actor, owners[compiled.owners[pk]]] for pk in specs}
            total = len(specs)
            with self.ctx.store.begin() as conn:
                repo.update_run(conn, run_pk, status="running", total=total)
            matched = 0
            reported = time.monotonic()
            self.matcher.catch_up()
            ordered = sorted(specs.items(), key=lambda kv: (kv[1].order, kv[1].name))
            # Rules that read the text share one pass over the items (see text_matches).
            read = self.matcher.text_matches(
                [(pk, sp, readers[pk]) for pk, sp in ordered if needs_text(sp.when)]
            )
            pending: list[tuple[int, rulematch.Hit]] = []
            for done, (pk, spec) in enumerate(ordered, 1):
                found = (
                    read[pk]
                    if pk in read
                    else self.matcher.matches(spec, readers[pk], catch_up=False)
                )
                pending += [
                    (opk, rulematch.Hit((pk, versions[pk]), spec.name, why)) for opk, why in found
                ]
                matched += len(found)
                # Many rules' matches written together: a transaction, a tag lookup and
                # a look for existing links per batch, not per rule.
                if len(pending) >= ACT_BATCH or done == total:
                    for i in range(0, len(pending), ACT_BATCH):
                        with self.ctx.store.begin() as conn:
                            self.actions.act(conn, actor, pending[i : i + ACT_BATCH], compiled)
                    pending = []
                if done == total or time.monotonic() - reported >= RUN_REPORT_SECONDS:
                    # The run's row, which a progress bar polls: a write per rule would
                    # cost a transaction each, so at most a few a second.
                    with self.ctx.store.begin() as conn:
                        repo.update_run(conn, run_pk, done=done, matched=matched)
                    reported = time.monotonic()
                if progress:
                    progress(done, total)
            with self.ctx.store.begin() as conn:
                repo.update_run(conn, run_pk, status="done", finished_at=self.ctx.stamp())
        except Exception as exc:
            log.exception("rule run %s failed", run_pk)
            with self.ctx.store.begin() as conn:
                repo.update_run(
                    conn,
                    run_pk,
                    status="failed",
                    error=str(exc)[:500],
                    finished_at=self.ctx.stamp(),
                )
            if progress is not None:
                raise
