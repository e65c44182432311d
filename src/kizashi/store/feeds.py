"""Queries on feeds, their poll state and the items they have shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.bulk import insert_rows
from kizashi.store.schema import article_content, feed_items, feeds


@dataclass(frozen=True)
class FeedRow:
    pk: int
    url: str
    title: str
    site_url: str | None
    enabled: bool
    interval_seconds: int
    full_text: bool
    default_tags: str
    tlp: str | None
    language: str | None
    headers: str
    identity_id: str
    created_at: str
    etag: str | None
    last_modified: str | None
    last_polled_at: str | None
    last_success_at: str | None
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: str | None
    polling_since: str | None
    items_seen: int
    items_stored: int
    kind: str = "rss"
    last_error_kind: str | None = None


@dataclass(frozen=True)
class ItemRow:
    pk: int
    feed_pk: int
    guid: str
    url: str | None
    canonical_url: str | None
    content_hash: str
    object_pk: int
    first_seen: str
    last_seen: str
    version: str | None = None


_FEED_COLS = [feeds.c[name] for name in FeedRow.__dataclass_fields__]
_ITEM_COLS = [feed_items.c[name] for name in ItemRow.__dataclass_fields__]


def insert(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(feeds.insert().values(**values).returning(feeds.c.pk)).scalar_one())


def get(conn: Connection, pk: int) -> FeedRow | None:
    r = conn.execute(sa.select(*_FEED_COLS).where(feeds.c.pk == pk)).first()
    return FeedRow(*r) if r else None


def by_url(conn: Connection, url: str) -> FeedRow | None:
    r = conn.execute(sa.select(*_FEED_COLS).where(feeds.c.url == url)).first()
    return FeedRow(*r) if r else None


def list_all(conn: Connection) -> list[FeedRow]:
    return [
        FeedRow(*r)
        for r in conn.execute(sa.select(*_FEED_COLS).order_by(feeds.c.title, feeds.c.pk))
    ]


def update(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(feeds.update().where(feeds.c.pk == pk).values(**values))


def increment(conn: Connection, pk: int, *, seen: int, stored: int) -> None:
    conn.execute(
        feeds.update()
        .where(feeds.c.pk == pk)
        .values(items_seen=feeds.c.items_seen + seen, items_stored=feeds.c.items_stored + stored)
    )


def delete(conn: Connection, pk: int) -> None:
    conn.execute(feeds.delete().where(feeds.c.pk == pk))


def due(conn: Connection, now: str, stale_before: str, limit: int) -> list[FeedRow]:
    """Enabled feeds whose time has come and that no live poll holds."""
    q = (
        sa.select(*_FEED_COLS)
        .where(
            feeds.c.enabled == sa.true(),
            sa.or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now),
            sa.or_(feeds.c.polling_since.is_(None), feeds.c.polling_since < stale_before),
        )
        .order_by(feeds.c.next_poll_at)
        .limit(limit)
    )
    return [FeedRow(*r) for r in conn.execute(q)]


def claim(conn: Connection, row: FeedRow, values: dict[str, Any]) -> bool:
    """Take a due feed if nobody changed it since it was read (compare and set)."""
    cond = [feeds.c.pk == row.pk]
    for name in ("next_poll_at", "polling_since"):
        old = getattr(row, name)
        cond.append(feeds.c[name].is_(None) if old is None else feeds.c[name] == old)
    done = conn.execute(feeds.update().where(*cond).values(**values))
    return bool(done.rowcount)


# -- items ------------------------------------------------------------------------


def item_by_guid(conn: Connection, feed_pk: int, guid: str) -> ItemRow | None:
    q = sa.select(*_ITEM_COLS).where(feed_items.c.feed_pk == feed_pk, feed_items.c.guid == guid)
    r = conn.execute(q).first()
    return ItemRow(*r) if r else None


def item_by_url_or_hash(
    conn: Connection, canonical_url: str | None, content_hash: str | None
) -> ItemRow | None:
    """An item from any feed with the same canonical URL, else the same content."""
    if canonical_url:
        q = sa.select(*_ITEM_COLS).where(feed_items.c.canonical_url == canonical_url).limit(1)
        r = conn.execute(q).first()
        if r:
            return ItemRow(*r)
    if content_hash is None:
        return None
    q = sa.select(*_ITEM_COLS).where(feed_items.c.content_hash == content_hash).limit(1)
    r = conn.execute(q).first()
    return ItemRow(*r) if r else None


def add_item(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(feed_items.insert().values(**values))


def update_item(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(feed_items.update().where(feed_items.c.pk == pk).values(**values))


def items_of(conn: Connection, feed_pk: int, limit: int = 50) -> list[ItemRow]:
    q = (
        sa.select(*_ITEM_COLS)
        .where(feed_items.c.feed_pk == feed_pk)
        .order_by(feed_items.c.pk.desc())
        .limit(limit)
    )
    return [ItemRow(*r) for r in conn.execute(q)]


def count_items(conn: Connection, feed_pk: int | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(feed_items)
    if feed_pk is not None:
        q = q.where(feed_items.c.feed_pk == feed_pk)
    return int(conn.execute(q).scalar_one())


def feeds_of_object(conn: Connection, object_pk: int) -> list[tuple[int, str]]:
    q = (
        sa.select(feeds.c.pk, feeds.c.title)
        .select_from(feed_items.join(feeds, feeds.c.pk == feed_items.c.feed_pk))
        .where(feed_items.c.object_pk == object_pk)
        .distinct()
    )
    return [(r[0], r[1]) for r in conn.execute(q)]


def save_content(conn: Connection, values: dict[str, Any]) -> None:
    done = conn.execute(
        article_content.update()
        .where(article_content.c.object_pk == values["object_pk"])
        .values(**values)
    )
    if not done.rowcount:
        conn.execute(article_content.insert().values(**values))


def content_of(conn: Connection, object_pk: int) -> Any:
    return conn.execute(
        sa.select(article_content).where(article_content.c.object_pk == object_pk)
    ).first()


# -- many items at once (a batch of a feed's entries) --------------------------------


def _items_where(
    conn: Connection, column: str, values: list[str], extra: Any = None
) -> dict[str, ItemRow]:
    """Items whose ``column`` is one of ``values``, by that value (the first one found)."""
    out: dict[str, ItemRow] = {}
    for i in range(0, len(values), 500):
        q = sa.select(*_ITEM_COLS).where(feed_items.c[column].in_(values[i : i + 500]))
        if extra is not None:
            q = q.where(extra)
        for r in conn.execute(q):
            row = ItemRow(*r)
            out.setdefault(str(getattr(row, column)), row)
    return out


def items_by_guids(conn: Connection, feed_pk: int, guids: list[str]) -> dict[str, ItemRow]:
    return _items_where(conn, "guid", guids, feed_items.c.feed_pk == feed_pk)


def items_by_urls(conn: Connection, urls: list[str]) -> dict[str, ItemRow]:
    return _items_where(conn, "canonical_url", urls)


def items_by_hashes(conn: Connection, hashes: list[str]) -> dict[str, ItemRow]:
    return _items_where(conn, "content_hash", hashes)


def add_items(conn: Connection, rows: list[dict[str, Any]]) -> None:
    insert_rows(conn, feed_items, rows)


def touch_items(conn: Connection, pks: list[int], stamp: str) -> None:
    for i in range(0, len(pks), 500):
        conn.execute(
            feed_items.update().where(feed_items.c.pk.in_(pks[i : i + 500])).values(last_seen=stamp)
        )


def add_contents(conn: Connection, rows: list[dict[str, Any]]) -> None:
    insert_rows(conn, article_content, rows)
