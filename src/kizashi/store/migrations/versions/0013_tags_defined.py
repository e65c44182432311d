"""tags: defined, a tag made on purpose rather than only by tagging an object

A reader was told of a tag that was on nothing they could read while someone else's
TLP:RED report carried it ("exists already" to a creation, a row with a count of 0 once
its last visible object lost it), but not of one on nothing at all. A tag is now shown
to a reader while they may read an object that carries it, or when it was defined on
purpose (the tags page, the API): that is vocabulary, for everyone.

Existing tags with a description, or on no object at all, were made on purpose or are
told of already: they count as defined.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 20:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, never a batch (see 0011).
def upgrade() -> None:
    op.add_column(
        "tags",
        sa.Column("defined", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE tags SET defined = TRUE WHERE description IS NOT NULL"
        " OR NOT EXISTS (SELECT 1 FROM object_tags WHERE object_tags.tag_pk = tags.pk)"
    )


def downgrade() -> None:
    op.drop_column("tags", "defined")
