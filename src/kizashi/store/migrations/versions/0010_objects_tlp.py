"""objects: an index on tlp, so what a reader may not read is found without a scan

Lists of tags count only what the asker may read: the uses on objects they may not read
(TLP:RED, mostly: few) are found through this index and taken off the totals.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 23:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_objects_tlp", "objects", ["tlp"])


def downgrade() -> None:
    op.drop_index("ix_objects_tlp", table_name="objects")
