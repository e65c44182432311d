"""Queries on users, API tokens and the audit log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.schema import api_tokens, audit_log, users


def get_by_username(conn: Connection, username: str) -> Any:
    return conn.execute(sa.select(users).where(users.c.username == username)).first()


def get_by_pk(conn: Connection, pk: int) -> Any:
    return conn.execute(sa.select(users).where(users.c.pk == pk)).first()


def insert(conn: Connection, values: dict[str, Any]) -> int:
    res = conn.execute(users.insert().values(**values).returning(users.c.pk))
    return int(res.scalar_one())


def update(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(users.update().where(users.c.pk == pk).values(**values))


def bump_session_epoch(conn: Connection, pk: int) -> None:
    conn.execute(
        users.update().where(users.c.pk == pk).values(session_epoch=users.c.session_epoch + 1)
    )


def list_all(conn: Connection) -> list[Any]:
    return list(conn.execute(sa.select(users).order_by(users.c.username)))


def identity_ids(conn: Connection) -> set[str]:
    """The STIX identities that stand for Kizashi's users."""
    return set(conn.execute(sa.select(users.c.identity_id)).scalars())


def count_admins(conn: Connection) -> int:
    q = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.disabled == sa.false())
    )
    return int(conn.execute(q).scalar_one())


def insert_token(conn: Connection, values: dict[str, Any]) -> int:
    res = conn.execute(api_tokens.insert().values(**values).returning(api_tokens.c.pk))
    return int(res.scalar_one())


def token_by_hash(conn: Connection, token_hash: str) -> Any:
    q = (
        sa.select(api_tokens, users.c.username, users.c.role, users.c.identity_id, users.c.disabled)
        .select_from(api_tokens.join(users, users.c.pk == api_tokens.c.user_pk))
        .where(api_tokens.c.token_hash == token_hash)
    )
    return conn.execute(q).first()


def tokens_of(conn: Connection, user_pk: int) -> list[Any]:
    q = sa.select(api_tokens).where(api_tokens.c.user_pk == user_pk).order_by(api_tokens.c.pk)
    return list(conn.execute(q))


def update_token(conn: Connection, pk: int, values: dict[str, Any]) -> int:
    return int(
        conn.execute(api_tokens.update().where(api_tokens.c.pk == pk).values(**values)).rowcount
        or 0
    )


def audit(
    conn: Connection,
    *,
    at: str,
    user_pk: int | None,
    action: str,
    target: str | None,
    detail: str | None,
) -> None:
    conn.execute(
        audit_log.insert().values(
            at=at, user_pk=user_pk, action=action, target=target, detail=detail
        )
    )


def audit_entries(conn: Connection, limit: int = 100) -> list[Any]:
    q = (
        sa.select(
            audit_log.c.at,
            users.c.username,
            audit_log.c.action,
            audit_log.c.target,
            audit_log.c.detail,
        )
        .select_from(audit_log.outerjoin(users, users.c.pk == audit_log.c.user_pk))
        .order_by(audit_log.c.pk.desc())
        .limit(limit)
    )
    return list(conn.execute(q))
