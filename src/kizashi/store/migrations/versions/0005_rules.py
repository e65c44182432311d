"""rules: auto-tagging rules, which rule added a tag, tags an analyst removed, rule runs,
events for notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="100"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["users.pk"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("object_tags") as batch:
        batch.add_column(sa.Column("rule_pk", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rule_version", sa.Integer(), nullable=True))
    op.create_index("ix_object_tags_rule_pk", "object_tags", ["rule_pk"])
    op.create_table(
        "tag_suppressions",
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("tag_pk", sa.Integer(), nullable=False),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.Column("removed_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["object_pk"], ["objects.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_pk"], ["tags.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["removed_by"], ["users.pk"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("object_pk", "tag_pk"),
    )
    op.create_table(
        "rule_runs",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("rule_pk", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("matched", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["rule_pk"], ["rules.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by"], ["users.pk"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_table(
        "events",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("object_pk", sa.Integer(), nullable=True),
        sa.Column("rule_pk", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("consumed_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["object_pk"], ["objects.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_pk"], ["rules.pk"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_index("ix_events_consumed_at", "events", ["consumed_at"])
    op.create_table(
        "tag_suggestions",
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("tag_pk", sa.Integer(), nullable=False),
        sa.Column("rule_pk", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["object_pk"], ["objects.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_pk"], ["tags.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_pk"], ["rules.pk"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.pk"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("object_pk", "tag_pk"),
    )
    op.create_table(
        "models",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("trained_at", sa.String(32), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("models")
    op.drop_table("tag_suggestions")
    op.drop_index("ix_events_consumed_at", table_name="events")
    op.drop_table("events")
    op.drop_table("rule_runs")
    op.drop_table("tag_suppressions")
    op.drop_index("ix_object_tags_rule_pk", table_name="object_tags")
    with op.batch_alter_table("object_tags") as batch:
        batch.drop_column("rule_version")
        batch.drop_column("rule_pk")
    op.drop_table("rules")
