"""What every service shares: the store, the clock, audit entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from kizashi.model.actor import Actor
from kizashi.model.stix import format_timestamp
from kizashi.store import users as user_repo
from kizashi.store.engine import Store

Clock = Callable[[], datetime]


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
