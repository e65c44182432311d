"""The search outbox, the indexes that follow it, and saved searches.

Triggers (migration 0004) add a row to ``search_outbox`` in the transaction that changes an
object or its tags. A follower reads rows *after its position* and re-reads those objects:

- SQLite has one writer at a time, so keys (``pk``) commit in order: the position is the
  last key read.
- PostgreSQL hands out keys before commit, so key 11 can commit after key 12 is read. Each
  row carries its transaction id; a read also takes the oldest transaction still running
  (the snapshot's ``xmin``). Every transaction below it has ended, so ``xmin`` is a safe
  position; rows at or above it that were already read are remembered, not lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.schema import (
    object_tags,
    objects,
    saved_searches,
    search_consumers,
    search_outbox,
    tags,
)


@dataclass(frozen=True)
class Changes:
    """Objects to look at again, and where to resume after them."""

    object_pks: list[int]
    position: int
    #: Outbox rows already read at or above ``position`` (PostgreSQL), key → txid:
    #: the next read skips them.
    read_above: dict[int, int]
    #: True when the read stopped at ``limit``: call again for the rest.
    more: bool


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


_XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
#: One statement, one snapshot: xmin and the rows are read together (and xmin comes back
#: when there are no rows).
_PG_CHANGES = sa.text(
    f"SELECT x.xmin, o.pk, o.object_pk, o.txid FROM (SELECT {_XMIN} AS xmin) x "
    "LEFT JOIN LATERAL (SELECT pk, object_pk, txid FROM search_outbox WHERE txid >= :position "
    "ORDER BY txid, pk LIMIT :limit) o ON true"
)


def head(conn: Connection) -> int:
    """The position of a follower that has read everything committed so far."""
    if _postgres(conn):
        return int(conn.execute(sa.text(f"SELECT {_XMIN}")).scalar_one())
    q = sa.select(sa.func.coalesce(sa.func.max(search_outbox.c.pk), 0))
    return int(conn.execute(q).scalar_one())


def changes(
    conn: Connection, position: int, read_above: dict[int, int], *, limit: int = 5000
) -> Changes:
    """Up to ``limit`` outbox rows after ``position``: the objects they name, deduplicated."""
    if _postgres(conn):
        return _pg_changes(conn, position, read_above, limit)
    o = search_outbox
    q = sa.select(o.c.pk, o.c.object_pk).where(o.c.pk > position).order_by(o.c.pk).limit(limit)
    rows = conn.execute(q).all()
    new_position = int(rows[-1][0]) if rows else position
    pks = list(dict.fromkeys(int(r[1]) for r in rows))
    return Changes(pks, new_position, {}, len(rows) == limit)


def _pg_changes(conn: Connection, position: int, read_above: dict[int, int], limit: int) -> Changes:
    window = limit + len(read_above)
    result = conn.execute(_PG_CHANGES, {"position": position, "limit": window}).all()
    xmin = int(result[0][0])
    rows = [(int(r[1]), int(r[2]), int(r[3])) for r in result if r[1] is not None]
    fresh = [r for r in rows if r[0] not in read_above][:limit]
    more = len(rows) == window
    # Every transaction below xmin has ended: nothing new can appear below it. When the
    # read stopped early, rows up to the last one read are done (they come in txid order).
    new_position = min(xmin, fresh[-1][2]) if more and fresh else xmin
    new_position = max(new_position, position)
    seen = read_above | {pk: txid for pk, _, txid in fresh}
    above = {pk: txid for pk, txid in seen.items() if txid >= new_position}
    pks = list(dict.fromkeys(obj for _, obj, _ in fresh))
    return Changes(pks, new_position, above, more)


def backlog(
    conn: Connection, position: int, read_above: dict[int, int], *, max_objects: int
) -> Changes:
    """The objects named by outbox rows after ``position`` that are settled (on
    PostgreSQL: written by transactions below the snapshot's ``xmin``, every one of
    which has ended), each once however many rows name it, up to ``max_objects``.

    A rule run writes a row per tag it adds, so an object's rows are spread over
    hundreds of thousands of others: read :data:`changes`-style, in windows, the same
    object is rebuilt once per window. Here it is rebuilt once. When there are more
    objects than ``max_objects``, the position stops below the first object left out,
    so nothing is skipped (objects taken may be read again next time, which is harmless).
    Rows above the boundary (PostgreSQL) are :func:`changes`' to read."""
    o = search_outbox
    pg = _postgres(conn)
    key = o.c.txid if pg else o.c.pk
    if pg:
        bound = int(conn.execute(sa.text(f"SELECT {_XMIN}")).scalar_one())
        window = sa.and_(key >= position, key < bound)
    else:
        bound = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(o.c.pk), 0))).scalar_one())
        window = sa.and_(key > position, key <= bound)
    first = sa.func.min(key)
    q = (
        sa.select(o.c.object_pk, first)
        .where(window)
        .group_by(o.c.object_pk)
        .order_by(first, o.c.object_pk)
        .limit(max_objects + 1)
    )
    rows = [(int(obj), int(at)) for obj, at in conn.execute(q)]
    if len(rows) <= max_objects:
        new_position = max(bound, position)
        more = False
    else:
        cut = rows.pop()[1]
        # Everything before the cut belongs to objects taken; the cut's own rows do not.
        new_position = cut if pg else cut - 1
        more = True
    above = {pk: txid for pk, txid in read_above.items() if txid >= new_position} if pg else {}
    return Changes([obj for obj, _ in rows], new_position, above, more)


def pending(conn: Connection, position: int) -> int:
    """Outbox rows after ``position`` (an upper bound on PostgreSQL)."""
    o = search_outbox
    key = o.c.txid if _postgres(conn) else o.c.pk
    cond = key >= position if _postgres(conn) else key > position
    return int(conn.execute(sa.select(sa.func.count()).select_from(o).where(cond)).scalar_one())


def save_consumer(conn: Connection, name: str, position: int, now: str) -> None:
    c = search_consumers
    done = conn.execute(
        c.update().where(c.c.name == name).values(position=position, seen_at=now)
    ).rowcount
    if not done:
        conn.execute(c.insert().values(name=name, position=position, seen_at=now))


def consumer(conn: Connection, name: str) -> tuple[int, str] | None:
    c = search_consumers
    row = conn.execute(sa.select(c.c.position, c.c.seen_at).where(c.c.name == name)).first()
    return (int(row[0]), str(row[1])) if row else None


def prune(conn: Connection, *, retention: timedelta, now: datetime | None = None) -> int:
    """Drop outbox rows every live follower has read, and any older than ``retention``.

    A follower not seen for ``retention`` rebuilds its index from the database when it
    comes back (see :meth:`kizashi.search.index.SearchIndex.open`)."""
    now = now or datetime.now(UTC)
    cutoff = now - retention
    c, o = search_consumers, search_outbox
    live = sa.select(sa.func.min(c.c.position)).where(
        c.c.seen_at >= cutoff.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    )
    lowest = conn.execute(live).scalar()
    key = o.c.txid if _postgres(conn) else o.c.pk
    conds = [o.c.at < cutoff.replace(tzinfo=None)]
    if lowest is not None:
        conds.append(key < lowest)
    return int(conn.execute(o.delete().where(sa.or_(*conds))).rowcount or 0)


# -- documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class DocRow:
    pk: int
    id: str
    type: str
    name: str
    value: str | None
    created: str | None
    modified: str | None
    published: str | None
    tlp: str | None
    revoked: bool
    data: dict[str, Any]
    created_by: int | None
    tags: list[str]
    author_name: str | None


def documents(conn: Connection, pks: Sequence[int]) -> dict[int, DocRow]:
    """What the index needs of each object; absent pks were deleted."""
    out: dict[int, DocRow] = {}
    wanted = sorted(set(pks))
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        q = sa.select(
            objects.c.pk,
            objects.c.id,
            objects.c.type,
            objects.c.name,
            objects.c.value,
            objects.c.created,
            objects.c.modified,
            objects.c.published,
            objects.c.tlp,
            objects.c.revoked,
            objects.c.data,
            objects.c.created_by,
        ).where(objects.c.pk.in_(chunk))
        rows = conn.execute(q).all()
        tag_map: dict[int, list[str]] = {pk: [] for pk in chunk}
        tq = (
            sa.select(object_tags.c.object_pk, tags.c.name)
            .select_from(object_tags.join(tags, tags.c.pk == object_tags.c.tag_pk))
            .where(object_tags.c.object_pk.in_(chunk))
        )
        for pk, name in conn.execute(tq):
            tag_map[pk].append(name)
        loaded = [(r, json.loads(r.data)) for r in rows]
        authors = {d.get("created_by_ref") for _, d in loaded} - {None}
        names = _names(conn, sorted(authors))
        for r, data in loaded:
            out[r.pk] = DocRow(
                r.pk,
                r.id,
                r.type,
                r.name,
                r.value,
                r.created,
                r.modified,
                r.published,
                r.tlp,
                bool(r.revoked),
                data,
                r.created_by,
                sorted(tag_map[r.pk]),
                names.get(data.get("created_by_ref", "")),
            )
    return out


def _names(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        q = sa.select(objects.c.id, objects.c.name).where(objects.c.id.in_(ids[i : i + 500]))
        out.update((r[0], r[1]) for r in conn.execute(q))
    return out


def all_pks(conn: Connection, *, batch: int = 1000) -> Iterator[list[int]]:
    """Every object's pk, in batches, for a rebuild."""
    after = 0
    while True:
        q = sa.select(objects.c.pk).where(objects.c.pk > after).order_by(objects.c.pk).limit(batch)
        pks = [r[0] for r in conn.execute(q)]
        if not pks:
            return
        yield pks
        after = pks[-1]


def count_objects(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(objects)).scalar_one())


# -- saved searches ----------------------------------------------------------------


@dataclass(frozen=True)
class SavedSearch:
    pk: int
    user_pk: int | None
    name: str
    query: str
    sort: str
    created_at: str
    updated_at: str


def _saved(r: Any) -> SavedSearch:
    return SavedSearch(*r)


_SAVED = (
    saved_searches.c.pk,
    saved_searches.c.user_pk,
    saved_searches.c.name,
    saved_searches.c.query,
    saved_searches.c.sort,
    saved_searches.c.created_at,
    saved_searches.c.updated_at,
)


def saved_list(conn: Connection, user_pk: int | None) -> list[SavedSearch]:
    s = saved_searches
    q = sa.select(*_SAVED).where(
        s.c.user_pk.is_(None) if user_pk is None else s.c.user_pk == user_pk
    )
    return [_saved(r) for r in conn.execute(q.order_by(s.c.name))]


def saved_get(conn: Connection, user_pk: int | None, name: str) -> SavedSearch | None:
    s = saved_searches
    owner = s.c.user_pk.is_(None) if user_pk is None else s.c.user_pk == user_pk
    row = conn.execute(sa.select(*_SAVED).where(owner, s.c.name == name)).first()
    return _saved(row) if row else None


def saved_put(
    conn: Connection, user_pk: int | None, name: str, query: str, sort: str, now: str
) -> SavedSearch:
    s = saved_searches
    found = saved_get(conn, user_pk, name)
    if found:
        conn.execute(
            s.update().where(s.c.pk == found.pk).values(query=query, sort=sort, updated_at=now)
        )
    else:
        conn.execute(
            s.insert().values(
                user_pk=user_pk, name=name, query=query, sort=sort, created_at=now, updated_at=now
            )
        )
    saved = saved_get(conn, user_pk, name)
    assert saved is not None
    return saved


def saved_delete(conn: Connection, user_pk: int | None, name: str) -> bool:
    s = saved_searches
    owner = s.c.user_pk.is_(None) if user_pk is None else s.c.user_pk == user_pk
    return bool(conn.execute(s.delete().where(owner, s.c.name == name)).rowcount)
