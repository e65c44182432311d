"""users.language and users.time_zone: the language and zone a user's pages are in

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:45:00.000000

Both empty for existing users: their pages follow the browser (``Accept-Language``, the
browser's zone), and a Japanese page without a zone shows Asia/Tokyo.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(8)))
        batch.add_column(sa.Column("time_zone", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("language")
