"""objects.loose_labels: an imported object's labels that are not held as tags

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:45:00.000000

An imported object keeps its labels in its JSON; those that became tags follow the tags
on export (an analyst who removes the tag removes the label), and those that could not be
tags (a taxonomy not enabled, misp-stix's ``misp:type="ip-dst"``) are listed here so that
they are exported as they came instead of being taken for removed tags. Objects imported
before this revision have none listed: their labels that are no tags keep the old rule
until they are imported again.

Patterns' values are also indexed again: a value reached through a reference
(``network-traffic:dst_ref.value``, as misp-stix writes every ``ip-dst`` attribute) now
counts (model/patterns.py).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from kizashi.model.patterns import pattern_values

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objects") as batch:
        batch.add_column(sa.Column("loose_labels", sa.Text))
    conn = op.get_bind()
    table = sa.table("pattern_values", sa.column("object_pk"), sa.column("value"))
    rows = conn.execute(
        sa.text("SELECT pk, data FROM objects WHERE type = 'indicator' AND data LIKE '%_ref%'")
    ).all()
    for pk, data in rows:
        try:
            pattern = json.loads(data).get("pattern")
        except ValueError:
            continue
        values = pattern_values(pattern)
        conn.execute(sa.delete(table).where(table.c.object_pk == pk))
        if values:
            op.bulk_insert(table, [{"object_pk": pk, "value": v} for v in values])


def downgrade() -> None:
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("loose_labels")
