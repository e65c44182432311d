"""mentions: where reports mention indicators; lookup values for vulnerabilities and ATT&CK

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 06:50:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from kizashi.model.observables import ATTACK_TYPES, lookup_value

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mentions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("report_pk", sa.Integer(), nullable=False),
        sa.Column("object_pk", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("occurrences", sa.Integer(), server_default="1", nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("context_start", sa.Integer(), nullable=False),
        sa.Column("context_end", sa.Integer(), nullable=False),
        sa.Column("flags", sa.String(length=255), nullable=True),
        sa.Column("seen_at", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["object_pk"], ["objects.pk"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["report_pk"], ["objects.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("report_pk", "kind", "value"),
    )
    op.create_index("ix_mentions_object_pk", "mentions", ["object_pk"], unique=False)
    op.create_index("ix_mentions_value", "mentions", ["value"], unique=False)
    # Vulnerabilities and ATT&CK objects are now looked up by their id (CVE-…, T1059).
    objects = sa.table(
        "objects",
        sa.column("pk", sa.Integer),
        sa.column("type", sa.String),
        sa.column("data", sa.Text),
        sa.column("value", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(objects.c.pk, objects.c.data).where(
            objects.c.type.in_(sorted(ATTACK_TYPES | {"vulnerability"}))
        )
    ).all()
    for pk, data in rows:
        value = lookup_value(json.loads(data))
        if value is not None:
            conn.execute(objects.update().where(objects.c.pk == pk).values(value=value))


def downgrade() -> None:
    op.drop_index("ix_mentions_value", table_name="mentions")
    op.drop_index("ix_mentions_object_pk", table_name="mentions")
    op.drop_table("mentions")
