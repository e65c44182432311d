"""Rules, the tags they added, tags analysts removed, rule runs and events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.objects import Reader, readable_by
from kizashi.store.schema import (
    events,
    models,
    object_tags,
    objects,
    rule_runs,
    rules,
    tag_suggestions,
    tag_suppressions,
    tags,
)


@dataclass(frozen=True)
class RuleRow:
    pk: int
    name: str
    position: int
    enabled: bool
    version: int
    definition: dict[str, Any]
    created_at: str
    updated_at: str
    #: Who last saved it: the rule reads and acts as this user (None: the system).
    updated_by: int | None


_COLS = (
    rules.c.pk,
    rules.c.name,
    rules.c.position,
    rules.c.enabled,
    rules.c.version,
    rules.c.definition,
    rules.c.created_at,
    rules.c.updated_at,
    rules.c.updated_by,
)


def _row(r: Any) -> RuleRow:
    return RuleRow(r[0], r[1], r[2], bool(r[3]), r[4], json.loads(r[5]), r[6], r[7], r[8])


def all_rules(conn: Connection, *, enabled_only: bool = False) -> list[RuleRow]:
    q = sa.select(*_COLS).order_by(rules.c.position, rules.c.name)
    if enabled_only:
        q = q.where(rules.c.enabled == sa.true())
    return [_row(r) for r in conn.execute(q)]


def get(conn: Connection, name: str) -> RuleRow | None:
    r = conn.execute(sa.select(*_COLS).where(rules.c.name == name)).first()
    return _row(r) if r else None


def get_pk(conn: Connection, pk: int) -> RuleRow | None:
    r = conn.execute(sa.select(*_COLS).where(rules.c.pk == pk)).first()
    return _row(r) if r else None


def insert(conn: Connection, values: dict[str, Any]) -> int:
    key: Any = conn.execute(rules.insert().values(**values)).inserted_primary_key
    return int(key[0])


def update(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(rules.update().where(rules.c.pk == pk).values(**values))


def delete(conn: Connection, pk: int) -> None:
    conn.execute(rules.delete().where(rules.c.pk == pk))


def stamp(conn: Connection, model: str) -> tuple[int, str, str | None]:
    """A cheap fingerprint of the rule set (count, newest change) and of the learned
    ``model`` (when it was trained): caches compare it. One round trip, answered from
    ``ix_rules_updated_at`` and the models' key (no definition is read)."""
    count = sa.select(sa.func.count()).select_from(rules).scalar_subquery()
    newest = sa.select(sa.func.max(rules.c.updated_at)).scalar_subquery()
    trained = sa.select(models.c.trained_at).where(models.c.name == model).scalar_subquery()
    row = conn.execute(sa.select(count, newest, trained)).one()
    return int(row[0]), str(row[1] or ""), row[2]


# -- provenance --------------------------------------------------------------------


_LINK_SQL = {
    "sqlite": "INSERT OR IGNORE INTO object_tags "
    "(tag_pk, object_pk, added_by, added_at, rule_pk, rule_version) VALUES (?, ?, NULL, ?, ?, ?)",
    "postgresql": "INSERT INTO object_tags "
    "(tag_pk, object_pk, added_by, added_at, rule_pk, rule_version) "
    "VALUES (%s, %s, NULL, %s, %s, %s) ON CONFLICT DO NOTHING",
}


def link_many_from_rules(
    conn: Connection, rows: Sequence[tuple[int, int, int, int]], *, at: str
) -> None:
    """Attach (object_pk, tag_pk, rule_pk, rule_version) links, leaving pairs already
    linked as they are (a tag an analyst gave stays theirs); where a pair comes twice,
    the first row's rule is its source.

    The hot path of "apply to existing" (a rule run writes hundreds of thousands): one
    driver-level ``executemany`` of an insert that skips existing pairs itself, in
    (tag, object) order so that the primary key and the rule index grow at their ends
    (measured against a lookup of existing pairs then a Core insert: SQLAlchemy's
    per-row parameter building cost more than SQLite's inserts)."""
    first: dict[tuple[int, int], tuple[int, int]] = {}
    for o, t, rule_pk, version in rows:
        first.setdefault((t, o), (rule_pk, version))
    if not first:
        return
    values = [(t, o, at, rule_pk, version) for (t, o), (rule_pk, version) in sorted(first.items())]
    conn.exec_driver_sql(_LINK_SQL[conn.dialect.name], values)


def mark_rule_links(
    conn: Connection, object_pks: Sequence[int], tag_pk: int, *, rule_pk: int, version: int
) -> None:
    """Record that a rule added these links (made by the tag service, which handles TLP)."""
    for i in range(0, len(object_pks), 500):
        conn.execute(
            object_tags.update()
            .where(
                object_tags.c.object_pk.in_(list(object_pks[i : i + 500])),
                object_tags.c.tag_pk == tag_pk,
            )
            .values(rule_pk=rule_pk, rule_version=version)
        )


def tags_added_by(conn: Connection, rule_pk: int) -> list[tuple[int, int]]:
    q = sa.select(object_tags.c.object_pk, object_tags.c.tag_pk).where(
        object_tags.c.rule_pk == rule_pk
    )
    return [(r[0], r[1]) for r in conn.execute(q)]


def remove_tags_added_by(conn: Connection, rule_pk: int) -> tuple[list[int], list[int]]:
    """Drop every tag the rule added.

    Returns the objects that lost a tag, and those among them that lost a ``tlp:``
    tag (only those need their TLP column looked at again).
    """
    q = (
        sa.select(object_tags.c.object_pk, tags.c.name)
        .select_from(object_tags.join(tags, tags.c.pk == object_tags.c.tag_pk))
        .where(object_tags.c.rule_pk == rule_pk)
    )
    rows = conn.execute(q).all()
    touched = sorted({r[0] for r in rows})
    lost_tlp = sorted({r[0] for r in rows if r[1].startswith("tlp:")})
    conn.execute(object_tags.delete().where(object_tags.c.rule_pk == rule_pk))
    return touched, lost_tlp


def provenance(conn: Connection, object_pk: int) -> dict[str, tuple[int | None, int | None]]:
    """Tag name → (rule pk, rule version) for one object's tags (None, None when manual)."""
    q = (
        sa.select(tags.c.name, object_tags.c.rule_pk, object_tags.c.rule_version)
        .select_from(object_tags.join(tags, tags.c.pk == object_tags.c.tag_pk))
        .where(object_tags.c.object_pk == object_pk)
    )
    return {r[0]: (r[1], r[2]) for r in conn.execute(q)}


# -- suppressions ------------------------------------------------------------------


def suppress(
    conn: Connection, object_pk: int, tag_pks: Sequence[int], *, by: int | None, at: str
) -> None:
    t = tag_suppressions
    for tag_pk in tag_pks:
        exists = conn.execute(
            sa.select(t.c.tag_pk).where(t.c.object_pk == object_pk, t.c.tag_pk == tag_pk)
        ).first()
        if not exists:
            conn.execute(
                t.insert().values(object_pk=object_pk, tag_pk=tag_pk, removed_by=by, removed_at=at)
            )


def unsuppress(conn: Connection, object_pk: int, tag_pks: Sequence[int]) -> None:
    t = tag_suppressions
    if tag_pks:
        conn.execute(t.delete().where(t.c.object_pk == object_pk, t.c.tag_pk.in_(list(tag_pks))))


def suppressed(conn: Connection, object_pks: Sequence[int]) -> set[tuple[int, int]]:
    t = tag_suppressions
    out: set[tuple[int, int]] = set()
    for i in range(0, len(object_pks), 500):
        q = sa.select(t.c.object_pk, t.c.tag_pk).where(
            t.c.object_pk.in_(list(object_pks[i : i + 500]))
        )
        out.update((r[0], r[1]) for r in conn.execute(q))
    return out


# -- runs and events ---------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    pk: int
    rule_pk: int | None
    status: str
    total: int
    done: int
    matched: int
    error: str | None
    created_at: str
    finished_at: str | None
    requested_by: int | None


def create_run(conn: Connection, rule_pk: int | None, by: int | None, at: str) -> int:
    q = rule_runs.insert().values(rule_pk=rule_pk, status="queued", requested_by=by, created_at=at)
    key: Any = conn.execute(q).inserted_primary_key
    return int(key[0])


def update_run(conn: Connection, pk: int, **values: Any) -> None:
    conn.execute(rule_runs.update().where(rule_runs.c.pk == pk).values(**values))


def get_run(conn: Connection, pk: int) -> RunRow | None:
    r = rule_runs
    row = conn.execute(
        sa.select(
            r.c.pk,
            r.c.rule_pk,
            r.c.status,
            r.c.total,
            r.c.done,
            r.c.matched,
            r.c.error,
            r.c.created_at,
            r.c.finished_at,
            r.c.requested_by,
        ).where(r.c.pk == pk)
    ).first()
    return RunRow(**row._mapping) if row else None


def add_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(events.insert(), list(rows))


def notified(conn: Connection, rule_pk: int, object_pks: Sequence[int]) -> set[int]:
    """The objects a rule has already raised an event for (a re-run raises none again)."""
    out: set[int] = set()
    for i in range(0, len(object_pks), 500):
        q = sa.select(events.c.object_pk).where(
            events.c.rule_pk == rule_pk, events.c.object_pk.in_(list(object_pks[i : i + 500]))
        )
        out.update(r[0] for r in conn.execute(q))
    return out


def list_events(
    conn: Connection, *, kind: str | None = None, limit: int = 100, reader: Reader | None = None
) -> list[dict[str, Any]]:
    """The newest events; with ``reader``, only those about objects they may read (an
    event's title and reasons are its object's)."""
    q = sa.select(events).order_by(events.c.pk.desc()).limit(limit)
    if kind:
        q = q.where(events.c.kind == kind)
    if reader is not None:
        readable = sa.select(objects.c.pk).where(
            objects.c.pk == events.c.object_pk, readable_by(reader)
        )
        q = q.where(sa.exists(readable))
    return [dict(r._mapping) | {"payload": json.loads(r.payload)} for r in conn.execute(q)]


# -- learned suggestions -------------------------------------------------------------


def save_model(
    conn: Connection, name: str, data: bytes, *, examples: int, labels: int, at: str
) -> None:
    conn.execute(models.delete().where(models.c.name == name))
    conn.execute(
        models.insert().values(
            name=name, data=data, examples=examples, labels=labels, trained_at=at
        )
    )


def model(conn: Connection, name: str) -> tuple[bytes, str] | None:
    row = conn.execute(
        sa.select(models.c.data, models.c.trained_at).where(models.c.name == name)
    ).first()
    return (bytes(row[0]), str(row[1])) if row else None


def training_rows(conn: Connection) -> list[tuple[int, str]]:
    """(object pk, tag name) of every tag an analyst gave (not rules, not TLP)."""
    q = (
        sa.select(object_tags.c.object_pk, tags.c.name)
        .select_from(object_tags.join(tags, tags.c.pk == object_tags.c.tag_pk))
        .where(object_tags.c.rule_pk.is_(None), tags.c.namespace.is_distinct_from("tlp"))
    )
    return [(r[0], r[1]) for r in conn.execute(q)]


def suggest(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Add pending suggestions, skipping pairs already suggested (whatever the decision)
    or already tagged."""
    if not rows:
        return 0
    s = tag_suggestions
    obj_pks = sorted({r["object_pk"] for r in rows})
    have = {
        (r[0], r[1])
        for r in conn.execute(
            sa.select(s.c.object_pk, s.c.tag_pk).where(s.c.object_pk.in_(obj_pks))
        )
    }
    have |= {
        (r[0], r[1])
        for r in conn.execute(
            sa.select(object_tags.c.object_pk, object_tags.c.tag_pk).where(
                object_tags.c.object_pk.in_(obj_pks)
            )
        )
    }
    fresh = [r for r in rows if (r["object_pk"], r["tag_pk"]) not in have]
    if fresh:
        conn.execute(s.insert(), fresh)
    return len(fresh)


def suggestions(
    conn: Connection, object_pk: int, *, status: str = "pending"
) -> list[tuple[str, float, int | None]]:
    s = tag_suggestions
    q = (
        sa.select(tags.c.name, s.c.score, s.c.rule_pk)
        .select_from(s.join(tags, tags.c.pk == s.c.tag_pk))
        .where(s.c.object_pk == object_pk, s.c.status == status)
        .order_by(s.c.score.desc())
    )
    return [(r[0], float(r[1]), r[2]) for r in conn.execute(q)]


def decide(
    conn: Connection, object_pk: int, tag_pk: int, status: str, by: int | None, at: str
) -> bool:
    s = tag_suggestions
    done = conn.execute(
        s.update()
        .where(s.c.object_pk == object_pk, s.c.tag_pk == tag_pk, s.c.status == "pending")
        .values(status=status, decided_by=by, decided_at=at)
    ).rowcount
    return bool(done)
