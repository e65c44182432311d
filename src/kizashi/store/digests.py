"""Digests: scheduled summaries, and their claiming by schedulers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.schema import digests

_COLUMNS = (
    digests.c.pk,
    digests.c.name,
    digests.c.query,
    digests.c.days,
    digests.c.every,
    digests.c.provider,
    digests.c.language,
    digests.c.enabled,
    digests.c.next_run_at,
    digests.c.last_job_pk,
    digests.c.created_by,
    digests.c.created_at,
)


@dataclass(frozen=True)
class DigestRow:
    pk: int
    name: str
    query: str
    days: int
    every: str
    provider: str
    language: str | None
    enabled: bool
    next_run_at: str
    last_job_pk: int | None
    created_by: int | None
    created_at: str


def insert(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(digests.insert().values(**values))


def get(conn: Connection, name: str) -> DigestRow | None:
    row = conn.execute(sa.select(*_COLUMNS).where(digests.c.name == name)).first()
    return DigestRow(**row._mapping) if row else None


def get_pk(conn: Connection, pk: int) -> DigestRow | None:
    row = conn.execute(sa.select(*_COLUMNS).where(digests.c.pk == pk)).first()
    return DigestRow(**row._mapping) if row else None


def all_(conn: Connection, created_by: int | None = None) -> list[DigestRow]:
    q = sa.select(*_COLUMNS).order_by(digests.c.name)
    if created_by is not None:
        q = q.where(digests.c.created_by == created_by)
    return [DigestRow(**r._mapping) for r in conn.execute(q)]


def due(conn: Connection, now: str) -> list[DigestRow]:
    q = sa.select(*_COLUMNS).where(digests.c.enabled == sa.true(), digests.c.next_run_at <= now)
    return [DigestRow(**r._mapping) for r in conn.execute(q.order_by(digests.c.next_run_at))]


def claim(conn: Connection, pk: int, seen: str, next_run_at: str) -> bool:
    """Move a due digest's next run on, if nobody did since it was read (``seen``): one
    scheduler of many wins, and only it runs the digest."""
    done = conn.execute(
        digests.update()
        .where(digests.c.pk == pk, digests.c.next_run_at == seen)
        .values(next_run_at=next_run_at)
    )
    return done.rowcount == 1


def update(conn: Connection, pk: int, **values: Any) -> None:
    conn.execute(digests.update().where(digests.c.pk == pk).values(**values))


def delete(conn: Connection, pk: int) -> None:
    conn.execute(digests.delete().where(digests.c.pk == pk))
