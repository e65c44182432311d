"""rules: an index on updated_at, so the rule set's change check reads no definitions

Every batch of incoming items asks whether a rule changed (count and newest change).
Without an index, SQLite reads each rule's row up to ``updated_at``, which sits after the
definition: a watch list's thousands of values in overflow pages. 0.6 ms per batch at
1,000 rules; with the index, a few microseconds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 22:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rules_updated_at", "rules", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_rules_updated_at", table_name="rules")
