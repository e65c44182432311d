"""pattern_values: the values indicators' patterns name, for lookups and correlation

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:05:00.000000

Indicators stored before this revision are read once here, so that lookups find them
too.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from kizashi.model.patterns import pattern_values

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "pattern_values",
        sa.Column(
            "object_pk",
            sa.Integer(),
            sa.ForeignKey("objects.pk", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("object_pk", "value"),
    )
    op.create_index("ix_pattern_values_value", "pattern_values", ["value"])
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT pk, data FROM objects WHERE type = 'indicator'"))
    batch: list[dict[str, object]] = []
    for pk, data in rows:
        try:
            pattern = json.loads(data).get("pattern")
        except ValueError:
            continue
        batch += [{"object_pk": pk, "value": v} for v in pattern_values(pattern)]
        if len(batch) >= 1000:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)


def downgrade() -> None:
    op.drop_index("ix_pattern_values_value", table_name="pattern_values")
    op.drop_table("pattern_values")
