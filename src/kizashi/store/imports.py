"""Import jobs: one row per import run in the background."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.schema import import_jobs


@dataclass(frozen=True)
class ImportJobRow:
    pk: int
    status: str
    format: str
    size: int
    done: int
    result: str | None
    error: str | None
    requested_by: int | None
    created_at: str
    finished_at: str | None


def new_job(conn: Connection, fmt: str, size: int, requested_by: int | None, at: str) -> int:
    pk = conn.execute(
        import_jobs.insert().values(
            status="queued", format=fmt, size=size, requested_by=requested_by, created_at=at
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def get_job(conn: Connection, pk: int) -> ImportJobRow | None:
    row = conn.execute(sa.select(import_jobs).where(import_jobs.c.pk == pk)).first()
    return ImportJobRow(**row._mapping) if row else None


def update_job(conn: Connection, pk: int, **values: object) -> None:
    conn.execute(import_jobs.update().where(import_jobs.c.pk == pk).values(**values))
