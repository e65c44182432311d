"""Stored summaries: read by what was asked, replaced when made again."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.schema import summaries, summary_jobs


@dataclass(frozen=True)
class SummaryRow:
    key: str
    kind: str
    subject: str
    provider: str
    model: str | None
    template_version: str
    inputs_digest: str
    body: str
    created_at: str


def get(conn: Connection, key: str) -> SummaryRow | None:
    s = summaries.c
    row = conn.execute(
        sa.select(
            s.key,
            s.kind,
            s.subject,
            s.provider,
            s.model,
            s.template_version,
            s.inputs_digest,
            s.body,
            s.created_at,
        ).where(s.key == key)
    ).first()
    return SummaryRow(*row) if row else None


def put(conn: Connection, row: SummaryRow, created_by: int | None) -> None:
    """Store ``row`` in place of any earlier summary of the same request."""
    conn.execute(summaries.delete().where(summaries.c.key == row.key))
    conn.execute(summaries.insert().values(**row.__dict__, created_by=created_by))


# -- background jobs ---------------------------------------------------------------------


@dataclass(frozen=True)
class JobRow:
    pk: int
    status: str  # queued | running | done | failed
    request: str
    done: int
    total: int
    result: str | None
    error: str | None
    requested_by: int | None
    created_at: str
    finished_at: str | None


def new_job(conn: Connection, request: str, requested_by: int | None, at: str) -> int:
    pk = conn.execute(
        summary_jobs.insert().values(
            status="queued", request=request, requested_by=requested_by, created_at=at
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def get_job(conn: Connection, pk: int) -> JobRow | None:
    j = summary_jobs.c
    row = conn.execute(
        sa.select(
            j.pk,
            j.status,
            j.request,
            j.done,
            j.total,
            j.result,
            j.error,
            j.requested_by,
            j.created_at,
            j.finished_at,
        ).where(j.pk == pk)
    ).first()
    return JobRow(**row._mapping) if row else None


def update_job(conn: Connection, pk: int, **values: object) -> None:
    conn.execute(summary_jobs.update().where(summary_jobs.c.pk == pk).values(**values))
