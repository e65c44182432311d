"""feeds.last_error_kind: what kind of failure the last error was, for the page to say

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:40:00.000000

``last_error`` keeps the failure's details as the fetcher or parser worded them (English,
from the libraries underneath); the kind (``timeout``, ``refused``, ``not_feed``, ...) is
what a page says in the reader's language. Empty for errors recorded before: the page
shows their text alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("last_error_kind", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("last_error_kind")
