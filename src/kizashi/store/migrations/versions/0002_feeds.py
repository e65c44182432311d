"""feeds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 05:01:43.568032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("site_url", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), server_default="1800", nullable=False),
        sa.Column("full_text", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("default_tags", sa.Text(), server_default="[]", nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("headers", sa.Text(), server_default="{}", nullable=False),
        sa.Column("identity_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_polled_at", sa.String(length=32), nullable=True),
        sa.Column("last_success_at", sa.String(length=32), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_poll_at", sa.String(length=32), nullable=True),
        sa.Column("polling_since", sa.String(length=32), nullable=True),
        sa.Column("items_seen", sa.Integer(), server_default="0", nullable=False),
        sa.Column("items_stored", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.pk"],
            name=op.f("fk_feeds_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_feeds")),
        sa.UniqueConstraint("url", name=op.f("uq_feeds_url")),
    )
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.create_index("ix_feeds_next_poll_at", ["next_poll_at"], unique=False)

    op.create_table(
        "article_content",
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("raw_html", sa.LargeBinary(), nullable=True),
        sa.Column("fetched_at", sa.String(length=32), nullable=True),
        sa.Column("extraction_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["objects.pk"],
            name=op.f("fk_article_content_object_pk_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_pk", name=op.f("pk_article_content")),
    )
    op.create_table(
        "feed_items",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("feed_pk", sa.Integer(), nullable=False),
        sa.Column("guid", sa.String(length=512), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("canonical_url", sa.String(length=1024), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.String(length=32), nullable=False),
        sa.Column("last_seen", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_pk"], ["feeds.pk"], name=op.f("fk_feed_items_feed_pk_feeds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["objects.pk"],
            name=op.f("fk_feed_items_object_pk_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_feed_items")),
        sa.UniqueConstraint("feed_pk", "guid", name=op.f("uq_feed_items_feed_pk_guid")),
    )
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.create_index("ix_feed_items_canonical_url", ["canonical_url"], unique=False)
        batch_op.create_index("ix_feed_items_content_hash", ["content_hash"], unique=False)
        batch_op.create_index("ix_feed_items_object_pk", ["object_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_items_object_pk")
        batch_op.drop_index("ix_feed_items_content_hash")
        batch_op.drop_index("ix_feed_items_canonical_url")

    op.drop_table("feed_items")
    op.drop_table("article_content")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_index("ix_feeds_next_poll_at")

    op.drop_table("feeds")
