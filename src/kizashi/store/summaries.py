"""Stored summaries: read by what was asked, replaced when made again."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.schema import summaries


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
