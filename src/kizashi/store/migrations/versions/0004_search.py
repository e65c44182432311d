"""search: the outbox the full-text index follows, its consumers, saved searches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:20:00.000000

Triggers write the outbox, so no code path that changes an object or its tags can
forget it: a row commits with the change or not at all. On PostgreSQL each row also
carries the id of the transaction that wrote it; a follower reads up to the oldest
transaction still running, so a late commit with a smaller key is never skipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: table → the column naming the object whose search document it changes.
SOURCES = {"objects": "pk", "object_tags": "object_pk", "article_content": "object_pk"}
EVENTS = {
    "objects": ("INSERT", "UPDATE", "DELETE"),
    "object_tags": ("INSERT", "DELETE"),
    "article_content": ("INSERT", "UPDATE"),
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "search_outbox",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_search_outbox_txid", "search_outbox", ["txid"])
    op.create_table(
        "search_consumers",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "saved_searches",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("sort", sa.String(16), nullable=False, server_default="relevance"),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["user_pk"], ["users.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("user_pk", "name"),
    )
    if postgres:
        op.execute(
            "ALTER TABLE search_outbox ALTER COLUMN txid "
            "SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )
        for table, column in SOURCES.items():
            for event in EVENTS[table]:
                rows = "old_rows" if event == "DELETE" else "new_rows"
                fn = f"kizashi_outbox_{table}_{event.lower()}"
                op.execute(
                    f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"INSERT INTO search_outbox (object_pk) SELECT {column} FROM {rows}; "
                    "RETURN NULL; END $$"
                )
                op.execute(
                    f"CREATE TRIGGER search_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"REFERENCING {'OLD' if event == 'DELETE' else 'NEW'} TABLE AS {rows} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
                )
    else:
        for table, column in SOURCES.items():
            for event in EVENTS[table]:
                row = "OLD" if event == "DELETE" else "NEW"
                op.execute(
                    f"CREATE TRIGGER search_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"BEGIN INSERT INTO search_outbox (object_pk) VALUES ({row}.{column}); END"
                )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in SOURCES:
        for event in EVENTS[table]:
            op.execute(
                f"DROP TRIGGER IF EXISTS search_{table}_{event.lower()}"
                + (f" ON {table}" if postgres else "")
            )
            if postgres:
                op.execute(f"DROP FUNCTION IF EXISTS kizashi_outbox_{table}_{event.lower()}()")
    op.drop_table("saved_searches")
    op.drop_table("search_consumers")
    op.drop_index("ix_search_outbox_txid", table_name="search_outbox")
    op.drop_table("search_outbox")
