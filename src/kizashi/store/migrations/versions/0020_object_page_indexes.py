"""mentions by object and time seen; object_refs by target and source

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 04:50:00.000000

An object's page lists its newest mentions and counts what is "seen with" it in its
newest reports. ``ix_mentions_object_pk`` found every mention of the object and sorted
them all (a group named in 11,000 reports: 0.1 s a view at 100,000 reports);
``(object_pk, seen_at)`` reads the newest first and stops, and serves every lookup by
``object_pk`` alone as the old index did, which it replaces. In the same way, the
objects that refer to one are listed newest first from ``(target_ref, source_pk)``,
which replaces ``ix_object_refs_target_ref``.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_object_pk_seen_at", "mentions", ["object_pk", "seen_at"])
    op.drop_index("ix_mentions_object_pk", table_name="mentions")
    op.create_index(
        "ix_object_refs_target_ref_source_pk", "object_refs", ["target_ref", "source_pk"]
    )
    op.drop_index("ix_object_refs_target_ref", table_name="object_refs")


def downgrade() -> None:
    op.create_index("ix_object_refs_target_ref", "object_refs", ["target_ref"])
    op.drop_index("ix_object_refs_target_ref_source_pk", table_name="object_refs")
    op.create_index("ix_mentions_object_pk", "mentions", ["object_pk"])
    op.drop_index("ix_mentions_object_pk_seen_at", table_name="mentions")
