"""Queries on tags and the links between tags and objects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.bulk import insert_rows
from kizashi.store.objects import Reader, readable_by, unreadable_by
from kizashi.store.rows import TagRow
from kizashi.store.schema import object_tags, objects, tags

_COLS = (
    tags.c.pk,
    tags.c.name,
    tags.c.namespace,
    tags.c.predicate,
    tags.c.value,
    tags.c.colour,
    tags.c.description,
    tags.c.defined,
)


def by_names(conn: Connection, names: Iterable[str]) -> dict[str, TagRow]:
    wanted = list(set(names))
    out: dict[str, TagRow] = {}
    for i in range(0, len(wanted), 500):
        for r in conn.execute(sa.select(*_COLS).where(tags.c.name.in_(wanted[i : i + 500]))):
            out[r.name] = TagRow(*r)
    return out


def pks_by_names(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Pks by name: the rules' hot path asks for hundreds per batch of items, so only the
    two columns, through the driver."""
    wanted = list(set(names))
    out: dict[str, int] = {}
    mark = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        sql = f"SELECT name, pk FROM tags WHERE name IN ({', '.join([mark] * len(chunk))})"
        out.update((str(n), int(pk)) for n, pk in conn.exec_driver_sql(sql, tuple(chunk)))
    return out


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(tags.insert(), list(rows))


def update(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(tags.update().where(tags.c.pk == pk).values(**values))


def delete(conn: Connection, pk: int) -> None:
    conn.execute(tags.delete().where(tags.c.pk == pk))


def search(
    conn: Connection,
    *,
    prefix: str | None,
    namespace: str | None,
    limit: int,
    reader: Reader | None = None,
) -> list[TagRow]:
    """Tags by use, most used first. With a ``reader``, uses count only on objects they
    may read, and a tag on no object they may read is not listed (its name may say
    what the object does not: ``op:…`` on a TLP:RED report), unless it was defined on
    purpose: such a tag is vocabulary, listed for all, if on nothing yet.

    The uses a reader may not read are counted apart and taken off the totals: they are
    few (found through ``ix_objects_tlp``), where a reader's condition on every use
    joined every link to its object (5x slower at 400,000 links)."""
    hidden = _hidden_uses(conn, reader) if reader is not None else {}
    chosen: list[sa.ColumnElement[bool]] = []
    if prefix:
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        chosen.append(
            sa.or_(
                tags.c.name.ilike(like + "%", escape="\\"),
                tags.c.name.ilike("%:" + like + "%", escape="\\"),
            )
        )
    if namespace:
        chosen.append(tags.c.namespace == namespace)
    # Links counted per tag key alone, read from the primary key (tag_pk, object_pk) in
    # its order, and the tags joined to the counts afterwards: joining every link to its
    # tag and grouping by the tag's columns sorted all of them (928,801 links at 100,000
    # reports, 0.25 s a list).
    per_tag = sa.select(object_tags.c.tag_pk, sa.func.count().label("n")).group_by(
        object_tags.c.tag_pk
    )
    if chosen:
        per_tag = per_tag.where(object_tags.c.tag_pk.in_(sa.select(tags.c.pk).where(*chosen)))
    counted = per_tag.subquery("counted")
    count = sa.func.coalesce(counted.c.n, 0).label("n")
    q = (
        sa.select(*_COLS, count)
        .select_from(tags.outerjoin(counted, counted.c.tag_pk == tags.c.pk))
        .where(*chosen)
    )
    # Enough rows that the reader's own top ``limit`` is among them.
    q = q.order_by(count.desc(), tags.c.name).limit(limit + len(hidden))
    rows = [TagRow(*r) for r in conn.execute(q)]
    if reader is None:
        return rows
    out = []
    for r in rows:
        left = r.count - hidden.get(r.pk, 0)
        if left > 0 or r.defined:
            out.append(replace(r, count=left))
    out.sort(key=lambda r: (-r.count, r.name))
    return out[:limit]


def _hidden_uses(conn: Connection, reader: Reader) -> dict[int, int]:
    """Per tag, its uses on objects ``reader`` may not read."""
    q = (
        sa.select(object_tags.c.tag_pk, sa.func.count())
        .select_from(objects.join(object_tags, object_tags.c.object_pk == objects.c.pk))
        .where(unreadable_by(reader))
        .group_by(object_tags.c.tag_pk)
    )
    return {int(pk): int(n) for pk, n in conn.execute(q)}


def link(conn: Connection, rows: Sequence[dict[str, Any]], *, fresh: bool = False) -> None:
    """Insert (tag_pk, object_pk, added_by, added_at) rows that are not there yet.

    ``fresh`` says the objects were created in this transaction and have no links yet,
    which spares the look-up of existing pairs.
    """
    if not rows:
        return
    if fresh:
        insert_rows(
            conn, object_tags, list({(r["tag_pk"], r["object_pk"]): r for r in rows}.values())
        )
        return
    pairs = {(r["tag_pk"], r["object_pk"]) for r in rows}
    obj_pks = list({p[1] for p in pairs})
    existing: set[tuple[int, int]] = set()
    for i in range(0, len(obj_pks), 500):
        q = sa.select(object_tags.c.tag_pk, object_tags.c.object_pk).where(
            object_tags.c.object_pk.in_(obj_pks[i : i + 500])
        )
        existing.update((a, b) for a, b in conn.execute(q))
    seen: set[tuple[int, int]] = set()
    new_rows = []
    for r in rows:
        key = (r["tag_pk"], r["object_pk"])
        if key in existing or key in seen:
            continue
        seen.add(key)
        new_rows.append(r)
    insert_rows(conn, object_tags, new_rows)


def unlink(conn: Connection, object_pk: int, tag_pks: Sequence[int]) -> int:
    res = conn.execute(
        object_tags.delete().where(
            object_tags.c.object_pk == object_pk, object_tags.c.tag_pk.in_(list(tag_pks))
        )
    )
    return int(res.rowcount or 0)


def unlink_many(conn: Connection, object_pks: Sequence[int], tag_pks: Sequence[int]) -> None:
    """Remove every link between ``object_pks`` and ``tag_pks``."""
    if not tag_pks:
        return
    for i in range(0, len(object_pks), 500):
        conn.execute(
            object_tags.delete().where(
                object_tags.c.object_pk.in_(list(object_pks[i : i + 500])),
                object_tags.c.tag_pk.in_(list(tag_pks)),
            )
        )


def in_namespace(conn: Connection, namespace: str) -> list[TagRow]:
    return [
        TagRow(*r) for r in conn.execute(sa.select(*_COLS).where(tags.c.namespace == namespace))
    ]


def object_tag_rows(conn: Connection, object_pk: int) -> list[TagRow]:
    q = (
        sa.select(*_COLS)
        .select_from(object_tags.join(tags, tags.c.pk == object_tags.c.tag_pk))
        .where(object_tags.c.object_pk == object_pk)
    )
    return [TagRow(*r) for r in conn.execute(q)]


def move_links(
    conn: Connection, source_pk: int, target_pk: int, only: Sequence[int] | None = None
) -> int:
    """Re-point every link of ``source_pk`` (or those on the objects ``only``) to
    ``target_pk``, dropping doubles."""
    already = sa.select(object_tags.c.object_pk).where(object_tags.c.tag_pk == target_pk)
    mine = [object_tags.c.tag_pk == source_pk]
    if only is not None:
        mine.append(object_tags.c.object_pk.in_(list(only)))
    moved = conn.execute(
        object_tags.update()
        .where(*mine, object_tags.c.object_pk.not_in(already.scalar_subquery()))
        .values(tag_pk=target_pk)
    )
    conn.execute(object_tags.delete().where(*mine))
    return int(moved.rowcount or 0)


def objects_with_tag(conn: Connection, tag_pk: int, reader: Reader | None = None) -> list[int]:
    """The objects ``tag_pk`` is on (those ``reader`` may read)."""
    q = sa.select(object_tags.c.object_pk).where(object_tags.c.tag_pk == tag_pk)
    if reader is not None:
        q = q.join(objects, objects.c.pk == object_tags.c.object_pk).where(readable_by(reader))
    return list(conn.scalars(q))


def count_objects_with_tag(conn: Connection, tag_pk: int, reader: Reader | None = None) -> int:
    """How many objects ``tag_pk`` is on (those ``reader`` may read): the length of
    :func:`objects_with_tag`, counted in SQL (a common tag is on 100,000 objects or more,
    and their keys are not needed to count them)."""
    q = sa.select(sa.func.count()).select_from(object_tags).where(object_tags.c.tag_pk == tag_pk)
    if reader is not None:
        q = q.join(objects, objects.c.pk == object_tags.c.object_pk).where(readable_by(reader))
    return int(conn.execute(q).scalar_one())


def on_any_object(conn: Connection, tag_pk: int, reader: Reader | None = None) -> bool:
    """Whether ``tag_pk`` is on any object (one ``reader`` may read)."""
    q = sa.select(object_tags.c.object_pk).where(object_tags.c.tag_pk == tag_pk)
    if reader is not None:
        q = q.join(objects, objects.c.pk == object_tags.c.object_pk).where(readable_by(reader))
    return conn.execute(q.limit(1)).first() is not None


def related(
    conn: Connection,
    tag_pks: Sequence[int],
    *,
    sample: int,
    limit: int = 20,
    reader: Reader | None = None,
    besides: Sequence[int] = (),
) -> tuple[list[tuple[str, int]], int, bool]:
    """Tags that occur with any of ``tag_pks`` on the newest ``sample`` objects of each
    (those ``reader`` may read), counted once per object: ``(name, objects)`` pairs, most
    first, with how many objects were counted and whether some were left out; the tags
    ``besides`` are not counted either.

    A page's hint, bounded: :func:`neighbours` counts every object of a tag, which for a
    tag on 140,000 objects is half a million links (0.5-1 s in SQLite, for each of an
    object's tags). The newest objects of a tag come from the primary key
    ``(tag_pk, object_pk)`` read backwards, so each sample costs ``sample`` look-ups."""
    if not tag_pks:
        return [], 0, False
    allowed = [objects.c.revoked == sa.false()]
    if reader is not None:
        allowed.append(readable_by(reader))
    mine: set[int] = set()
    cut = False
    for pk in tag_pks:
        newest = conn.execute(
            sa.select(object_tags.c.object_pk)
            .join(objects, objects.c.pk == object_tags.c.object_pk)
            .where(object_tags.c.tag_pk == pk, *allowed)
            .order_by(object_tags.c.object_pk.desc())
            .limit(sample + 1)  # one more says whether some were left out
        ).scalars()
        found = [int(x) for x in newest]
        cut = cut or len(found) > sample
        mine.update(found[:sample])
    counts: dict[int, int] = {}
    ordered = sorted(mine)
    for i in range(0, len(ordered), 500):
        q = (
            sa.select(object_tags.c.tag_pk, sa.func.count())
            .where(
                object_tags.c.object_pk.in_(ordered[i : i + 500]),
                object_tags.c.tag_pk.not_in([*tag_pks, *besides]),
            )
            .group_by(object_tags.c.tag_pk)
        )
        for tag_pk, n in conn.execute(q):
            counts[int(tag_pk)] = counts.get(int(tag_pk), 0) + int(n)
    names: dict[int, str] = {}
    keys = list(counts)
    for i in range(0, len(keys), 500):
        q = sa.select(tags.c.pk, tags.c.name).where(tags.c.pk.in_(keys[i : i + 500]))
        names.update((int(pk), str(name)) for pk, name in conn.execute(q))
    ranked = sorted(((names[pk], n) for pk, n in counts.items()), key=lambda x: (-x[1], x[0]))
    return ranked[:limit], len(mine), cut


def neighbours(
    conn: Connection, tag_pk: int, limit: int = 20, reader: Reader | None = None
) -> list[tuple[str, int]]:
    """Tags that occur on the same objects as ``tag_pk``, with how often (on the objects
    ``reader`` may read).

    Counted by tag key, and only the counted tags joined to their names: joining every
    co-occurring link to ``tags`` and grouping by name did one more look-up per link
    (half a million for a tag on 140,000 objects), for the same answer."""
    mine = object_tags.alias("mine")
    other = object_tags.alias("other")
    counted = (
        sa.select(other.c.tag_pk, sa.func.count().label("n"))
        .select_from(
            mine.join(objects, objects.c.pk == mine.c.object_pk).join(
                other, other.c.object_pk == mine.c.object_pk
            )
        )
        .where(
            mine.c.tag_pk == tag_pk,
            other.c.tag_pk != tag_pk,
            objects.c.revoked == sa.false(),
            readable_by(reader) if reader is not None else sa.true(),
        )
        .group_by(other.c.tag_pk)
        .subquery("counted")
    )
    q = (
        sa.select(tags.c.name, counted.c.n)
        .join_from(counted, tags, tags.c.pk == counted.c.tag_pk)
        .order_by(counted.c.n.desc(), tags.c.name)
        .limit(limit)
    )
    return [(r[0], int(r[1])) for r in conn.execute(q)]
