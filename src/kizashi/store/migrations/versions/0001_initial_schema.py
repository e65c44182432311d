"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 04:15:45.459298
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=100), nullable=True),
        sa.Column("predicate", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("colour", sa.String(length=7), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("ix_tags_namespace", ["namespace"], unique=False)

    op.create_table(
        "taxonomies",
        sa.Column("namespace", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("namespace", name=op.f("pk_taxonomies")),
    )
    op.create_table(
        "users",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("identity_id", sa.String(length=64), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("last_used_at", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_api_tokens_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_audit_log_user_pk_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "objects",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("created", sa.String(length=32), nullable=True),
        sa.Column("modified", sa.String(length=32), nullable=True),
        sa.Column("published", sa.String(length=32), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=True),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), server_default="create", nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.pk"],
            name=op.f("fk_objects_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.pk"],
            name=op.f("fk_objects_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_objects")),
        sa.UniqueConstraint("id", name=op.f("uq_objects_id")),
    )
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.create_index("ix_objects_modified", ["modified"], unique=False)
        batch_op.create_index("ix_objects_type_pk", ["type", "pk"], unique=False)
        batch_op.create_index("ix_objects_value", ["value"], unique=False)

    op.create_table(
        "object_refs",
        sa.Column("source_pk", sa.Integer(), nullable=False),
        sa.Column("property", sa.String(length=64), nullable=False),
        sa.Column("target_ref", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_pk"],
            ["objects.pk"],
            name=op.f("fk_object_refs_source_pk_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_pk", "property", "target_ref", name=op.f("pk_object_refs")),
    )
    with op.batch_alter_table("object_refs", schema=None) as batch_op:
        batch_op.create_index("ix_object_refs_target_ref", ["target_ref"], unique=False)

    op.create_table(
        "object_tags",
        sa.Column("tag_pk", sa.Integer(), nullable=False),
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.pk"],
            name=op.f("fk_object_tags_added_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["objects.pk"],
            name=op.f("fk_object_tags_object_pk_objects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_pk"], ["tags.pk"], name=op.f("fk_object_tags_tag_pk_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tag_pk", "object_pk", name=op.f("pk_object_tags")),
    )
    with op.batch_alter_table("object_tags", schema=None) as batch_op:
        batch_op.create_index("ix_object_tags_object_pk", ["object_pk"], unique=False)

    op.create_table(
        "object_versions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("modified", sa.String(length=32), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.pk"],
            name=op.f("fk_object_versions_changed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["objects.pk"],
            name=op.f("fk_object_versions_object_pk_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_object_versions")),
        sa.UniqueConstraint(
            "object_pk", "version", name=op.f("uq_object_versions_object_pk_version")
        ),
    )
    op.create_table(
        "relationships",
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("relationship_type", sa.String(length=100), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=False),
        sa.Column("target_ref", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["objects.pk"],
            name=op.f("fk_relationships_object_pk_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_pk", name=op.f("pk_relationships")),
    )
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.create_index("ix_relationships_source_ref", ["source_ref"], unique=False)
        batch_op.create_index("ix_relationships_target_ref", ["target_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.drop_index("ix_relationships_target_ref")
        batch_op.drop_index("ix_relationships_source_ref")

    op.drop_table("relationships")
    op.drop_table("object_versions")
    with op.batch_alter_table("object_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_object_tags_object_pk")

    op.drop_table("object_tags")
    with op.batch_alter_table("object_refs", schema=None) as batch_op:
        batch_op.drop_index("ix_object_refs_target_ref")

    op.drop_table("object_refs")
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.drop_index("ix_objects_value")
        batch_op.drop_index("ix_objects_type_pk")
        batch_op.drop_index("ix_objects_modified")

    op.drop_table("objects")
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("taxonomies")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_namespace")

    op.drop_table("tags")
