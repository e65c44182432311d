"""feeds.kind and feed_items.version: MISP feeds beside RSS, Atom and RDF

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 07:40:00.000000

A MISP feed (``manifest.json`` and one file per event) is polled like an RSS feed; each
of its events is an item whose ``version`` is the event's timestamp in the manifest, so
that a poll fetches only the events that changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="rss"))
    with op.batch_alter_table("feed_items") as batch:
        batch.add_column(sa.Column("version", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("feed_items") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("kind")
