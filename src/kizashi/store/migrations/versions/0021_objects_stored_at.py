"""objects.stored_at: when Kizashi first stored each object

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 05:00:00.000000

Lists are in stored order by default (the primary key's, the only order an index serves
at every size) but showed each object's STIX ``modified``: imported and demo data looked
unsorted (UX finding 3). ``updated_at`` moves with every edit; ``stored_at`` is the time
of the first version, the list's own order. Filled from each object's first kept version
where it has older versions, else from ``updated_at`` (an object never changed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objects") as batch:
        batch.add_column(sa.Column("stored_at", sa.String(32)))
    op.execute(
        "UPDATE objects SET stored_at = coalesce("
        "(SELECT min(v.changed_at) FROM object_versions v WHERE v.object_pk = objects.pk),"
        " updated_at)"
    )


def downgrade() -> None:
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("stored_at")
