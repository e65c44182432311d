"""objects: tlp_derived, a marking taken from the reports that mention an object

An indicator found in a TLP:RED report was stored unmarked: its existence (a lookup's
"known") was told to everyone. Extraction now gives a new object the marking of the
reports it was found in, and lowers it as less restricted reports mention it; a marking
anyone set by hand is never lowered. This column says which markings are derived.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 23:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, never a batch: on SQLite a batch copies the table into a new one,
# and the copy has none of the search outbox's triggers (migration 0004) on it.
def upgrade() -> None:
    op.add_column(
        "objects",
        sa.Column("tlp_derived", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("objects", "tlp_derived")  # SQLite 3.35 and later drop it in place
