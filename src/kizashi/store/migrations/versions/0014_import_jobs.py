"""import_jobs: imports run in the background, with their progress and report

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("result", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("requested_by", sa.Integer(), sa.ForeignKey("users.pk", ondelete="SET NULL")),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32)),
    )


def downgrade() -> None:
    op.drop_table("import_jobs")
