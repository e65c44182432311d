"""digests: selections summarised every day or week; a summary's template version
holds two templates' names

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 20:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False, server_default=""),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("every", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("next_run_at", sa.String(32), nullable=False),
        sa.Column("last_job_pk", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["last_job_pk"],
            ["summary_jobs.pk"],
            name=op.f("fk_digests_last_job_pk_summary_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.pk"],
            name=op.f("fk_digests_created_by_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_digests")),
        sa.UniqueConstraint("name", name=op.f("uq_digests_name")),
    )
    op.create_index("ix_digests_next_run_at", "digests", ["next_run_at"])
    # A collection's version names two templates (its own and the merge's).
    with op.batch_alter_table("summaries") as batch:
        batch.alter_column(
            "template_version",
            existing_type=sa.String(64),
            type_=sa.String(200),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("summaries") as batch:
        batch.alter_column(
            "template_version",
            existing_type=sa.String(200),
            type_=sa.String(64),
            existing_nullable=False,
        )
    op.drop_index("ix_digests_next_run_at", table_name="digests")
    op.drop_table("digests")
