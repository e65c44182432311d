"""What every service shares: the store, the clock, audit entries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection

from kizashi.model.actor import SYSTEM, Actor, Role
from kizashi.model.errors import not_found
from kizashi.model.preferences import Preferences
from kizashi.model.stix import format_timestamp
from kizashi.model.tlp import LEVELS
from kizashi.store import objects as object_repo
from kizashi.store import users as user_repo
from kizashi.store.engine import Store
from kizashi.store.objects import Reader
from kizashi.store.rows import ObjectRow

Clock = Callable[[], datetime]


class _JobState(Protocol):
    @property
    def status(self) -> str: ...


J = TypeVar("J", bound=_JobState)


def wait_for_job(view: Callable[[], J], timeout: float) -> J:
    """``view()`` once its job is done or failed (or ``timeout`` seconds have passed):
    the one polling loop behind the background jobs' ``wait``."""
    deadline = time.monotonic() + timeout
    while True:
        state = view()
        if state.status in ("done", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    store: Store
    clock: Clock = utcnow

    def stamp(self) -> str:
        return format_timestamp(self.clock())

    def audit(
        self,
        conn: Connection,
        actor: Actor,
        action: str,
        target: str | None,
        detail: str | None = None,
    ) -> None:
        user_repo.audit(
            conn,
            at=self.stamp(),
            user_pk=actor.user_pk,
            action=action,
            target=target,
            detail=detail,
        )


def actor_of_row(row: Any) -> Actor:
    """A stored user as the actor service calls carry."""
    return Actor(
        row.pk,
        row.username,
        Role(row.role),
        row.identity_id,
        Preferences(row.language, row.time_zone),
    )


def actors_by_pk(conn: Connection, user_pks: Iterable[int | None]) -> dict[int | None, Actor]:
    """These users as actors, as they are now (a role changed since counts); None is the
    system, the machine's owner at the command line. A user no longer stored reads as
    a reader: nothing restricted."""
    out: dict[int | None, Actor] = {}
    for pk in set(user_pks):
        row = None if pk is None else user_repo.get_by_pk(conn, pk)
        if pk is None:
            out[pk] = SYSTEM
        elif row is None:
            out[pk] = Actor(pk, "(removed)", Role.READER, "")
        else:
            out[pk] = actor_of_row(row)
    return out


def reader_of(actor: Actor) -> Reader | None:
    """``actor`` as the store's read filters take it; None for one who reads every level
    (an admin): no condition to apply."""
    if actor.tlp_levels >= frozenset(LEVELS):
        return None
    return Reader(actor.tlp_levels, actor.user_pk)


def may_see(actor: Actor, row: ObjectRow) -> bool:
    """Whether ``actor`` may read this stored object: its TLP (``Actor.may_read``), and
    revoked objects for admins only."""
    return actor.may_read(row.tlp, row.created_by) and (not row.revoked or actor.is_admin)


def readable_row(conn: Connection, actor: Actor, stix_id: str) -> ObjectRow:
    """The stored object ``stix_id`` if ``actor`` may read it. Missing, revoked (for a
    non-admin) and not readable under TLP all answer the same "not found": whether a
    TLP:RED object exists is itself not for everyone."""
    row = object_repo.get(conn, stix_id)
    if row is None or not may_see(actor, row):
        raise not_found("Object %(stix_id)s was not found.", stix_id=stix_id)
    return row
