"""users: session_epoch, so logging out or a new password ends every session

UI sessions live in a signed cookie. Clearing the cookie on logout ended only the browser
that logged out: a copied cookie, or the session on another machine, stayed valid until it
expired, and so did every session after a password change. A session now carries the
epoch it was issued under and is refused once the user's epoch has moved on.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 18:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, never a batch (see 0011).
def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("users", "session_epoch")
