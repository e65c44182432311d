"""Queries on objects, their versions and the references between them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.model import tagquery
from kizashi.model.patterns import pattern_values
from kizashi.model.tlp import LEVELS
from kizashi.store.bulk import insert_rows
from kizashi.store.listing import Keyset, ordered
from kizashi.store.rows import ObjectRow, VersionRow
from kizashi.store.schema import (
    object_refs,
    object_tags,
    object_versions,
    objects,
    relationships,
    tags,
    users,
)
from kizashi.store.schema import (
    pattern_values as pattern_values_table,
)

_OBJECT_COLUMNS = (
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
    objects.c.version,
    objects.c.data,
    objects.c.action,
    objects.c.updated_by,
    objects.c.updated_at,
    objects.c.created_by,
    objects.c.tlp_derived,
    objects.c.loose_labels,
    objects.c.stored_at,
)


def _row(r: Any) -> ObjectRow:
    return ObjectRow(*r)


@dataclass
class ObjectFilter:
    """What a list asks for; every field narrows the result."""

    types: Sequence[str] = ()
    tag_expr: tagquery.Expr | None = None
    text: str | None = None
    tlp: Sequence[str] = ()
    created_from: str | None = None
    created_to: str | None = None
    include_revoked: bool = False
    ids: Sequence[str] = field(default_factory=tuple)
    #: Only what this reader may read (see :func:`readable_by`); None: everything.
    reader: Reader | None = None
    #: Leave out what is not intelligence of its own: relationships (their ends' pages
    #: show them) and the identities that stand for user accounts.
    hide_internal: bool = False


@dataclass(frozen=True)
class Reader:
    """Who reads, as SQL needs it: the TLP levels they read in full, and their user pk
    (TLP:RED they stored themselves is theirs to read)."""

    levels: frozenset[str]
    user_pk: int | None


def readable_by(reader: Reader, table: Any = objects) -> sa.ColumnElement[bool]:
    """The objects of ``table`` (``objects`` or an alias of it) ``reader`` may read:
    :meth:`kizashi.model.actor.Actor.may_read` as a condition."""
    c = table.c
    # Tested on rows found another way (a tag's postings, a value's mentions), never an
    # index probe: given ``tlp IS NULL OR tlp IN (…)``, SQLite chose to walk
    # ``ix_objects_tlp`` over every unmarked object (a bulk lookup 10x slower).
    tlp = sa.func.coalesce(c.tlp, "")
    allowed = [tlp == "", tlp.in_(sorted(reader.levels))]
    if "red" not in reader.levels and reader.user_pk is not None:
        allowed.append(sa.and_(tlp == "red", c.created_by == reader.user_pk))
    return sa.or_(*allowed)


def unreadable_by(reader: Reader, table: Any = objects) -> sa.ColumnElement[bool]:
    """The complement of :func:`readable_by`, written so that an index on ``tlp`` finds
    it (the levels one may not read are few, and so are their objects)."""
    c = table.c
    forbidden = sorted(frozenset(LEVELS) - reader.levels)
    if not forbidden:
        return sa.false()
    hidden: sa.ColumnElement[bool] = c.tlp.in_(forbidden)
    if "red" in forbidden and reader.user_pk is not None:
        own = sa.and_(c.tlp == "red", sa.func.coalesce(c.created_by, 0) == reader.user_pk)
        hidden = sa.and_(hidden, sa.not_(own))
    return hidden


def get(conn: Connection, stix_id: str) -> ObjectRow | None:
    r = conn.execute(sa.select(*_OBJECT_COLUMNS).where(objects.c.id == stix_id)).first()
    return _row(r) if r else None


def get_many(conn: Connection, ids: Iterable[str]) -> dict[str, ObjectRow]:
    wanted = list(set(ids))
    out: dict[str, ObjectRow] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        for r in conn.execute(sa.select(*_OBJECT_COLUMNS).where(objects.c.id.in_(chunk))):
            out[r.id] = _row(r)
    return out


def existing_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        found.update(conn.scalars(sa.select(objects.c.id).where(objects.c.id.in_(chunk))))
    return found


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert object rows; return their pks by STIX id."""
    if not rows:
        return {}
    rows = [r if r.get("stored_at") else {**r, "stored_at": r["updated_at"]} for r in rows]
    insert_rows(conn, objects, rows)
    ids = [r["id"] for r in rows]
    pks: dict[str, int] = {}
    for i in range(0, len(ids), 500):
        q = sa.select(objects.c.id, objects.c.pk).where(objects.c.id.in_(ids[i : i + 500]))
        pks.update((r.id, r.pk) for r in conn.execute(q))
    _index_patterns(conn, [(pks[r["id"]], r["data"]) for r in rows if r.get("type") == "indicator"])
    return pks


def _index_patterns(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    """Keep ``pattern_values`` in step with these indicators' stored JSON."""
    if not rows:
        return
    pks = [pk for pk, _ in rows]
    t = pattern_values_table
    for i in range(0, len(pks), 500):
        conn.execute(t.delete().where(t.c.object_pk.in_(pks[i : i + 500])))
    values = []
    for pk, data in rows:
        try:
            pattern = json.loads(data).get("pattern")
        except (ValueError, AttributeError):
            continue
        values += [{"object_pk": pk, "value": v} for v in pattern_values(pattern)]
    insert_rows(conn, t, values)


def set_tlp(conn: Connection, pks: Sequence[int], level: str | None) -> None:
    """Mark these objects ``level`` by someone's act (a tag, a rule): not derived."""
    for i in range(0, len(pks), 500):
        conn.execute(
            objects.update()
            .where(objects.c.pk.in_(list(pks[i : i + 500])))
            .values(tlp=level, tlp_derived=False)
        )


def markings(conn: Connection, pks: Sequence[int]) -> dict[int, tuple[str | None, bool]]:
    """pk → (marking, whether it is derived), without reading the objects' data."""
    out: dict[int, tuple[str | None, bool]] = {}
    c = objects.c
    for i in range(0, len(pks), 500):
        q = sa.select(c.pk, c.tlp, c.tlp_derived).where(c.pk.in_(list(pks[i : i + 500])))
        out.update((pk, (tlp, bool(derived))) for pk, tlp, derived in conn.execute(q))
    return out


def touch(conn: Connection, pks: Sequence[int], at: str) -> None:
    """Set these objects' ``updated_at``."""
    for i in range(0, len(pks), 500):
        conn.execute(
            objects.update().where(objects.c.pk.in_(list(pks[i : i + 500]))).values(updated_at=at)
        )


def latest_change(conn: Connection, types: Sequence[str]) -> tuple[Any, ...]:
    """The highest pk and the latest ``updated_at`` among objects of these types."""
    q = sa.select(sa.func.max(objects.c.pk), sa.func.max(objects.c.updated_at)).where(
        objects.c.type.in_(list(types))
    )
    return tuple(conn.execute(q).one())


def set_loose_labels(conn: Connection, pk: int, labels: Sequence[str]) -> None:
    """The labels of this object's imported version that are not held as tags."""
    value = json.dumps(list(labels), ensure_ascii=False) if labels else None
    conn.execute(objects.update().where(objects.c.pk == pk).values(loose_labels=value))


def mark_tlp_derived(conn: Connection, pks: Sequence[int]) -> None:
    """These objects' markings come from the reports that mention them."""
    for i in range(0, len(pks), 500):
        conn.execute(
            objects.update()
            .where(objects.c.pk.in_(list(pks[i : i + 500])))
            .values(tlp_derived=True)
        )


def update(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    """Write ``values``; a marking that changes is no longer derived."""
    if "tlp" in values and "tlp_derived" not in values:
        values = values | {
            "tlp_derived": sa.case(
                (objects.c.tlp.is_not_distinct_from(values["tlp"]), objects.c.tlp_derived),
                else_=sa.false(),
            )
        }
    conn.execute(objects.update().where(objects.c.pk == pk).values(**values))
    data = values.get("data")
    if isinstance(data, str) and '"pattern"' in data:
        _index_patterns(conn, [(pk, data)])


def add_versions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(object_versions.insert(), list(rows))


def history(conn: Connection, pk: int) -> list[VersionRow]:
    q = (
        sa.select(
            object_versions.c.version,
            object_versions.c.action,
            object_versions.c.modified,
            object_versions.c.data,
            users.c.username,
            object_versions.c.changed_at,
        )
        .select_from(object_versions.outerjoin(users, users.c.pk == object_versions.c.changed_by))
        .where(object_versions.c.object_pk == pk)
        .order_by(object_versions.c.version.desc())
    )
    return [VersionRow(*r) for r in conn.execute(q)]


def replace_refs(conn: Connection, pk: int, refs: Iterable[tuple[str, str]]) -> None:
    conn.execute(object_refs.delete().where(object_refs.c.source_pk == pk))
    add_refs(conn, [(pk, prop, target) for prop, target in refs])


def add_refs(conn: Connection, rows: Iterable[tuple[int, str, str]]) -> None:
    insert_rows(
        conn,
        object_refs,
        [{"source_pk": s, "property": p, "target_ref": t} for s, p, t in set(rows)],
    )


def add_relationships(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(conn, relationships, rows)


def _tag_condition(
    expr: tagquery.Expr, tag_pks: dict[str, int], key: sa.ColumnElement[int]
) -> sa.ColumnElement[bool]:
    """SQL for a tag expression about the object whose pk is in ``key``."""
    if isinstance(expr, tagquery.Has):
        pk = tag_pks.get(expr.tag)
        if pk is None:
            return sa.false()
        ot = object_tags.alias("ot")
        return (
            sa.select(sa.literal(1))
            .where(ot.c.object_pk == key, ot.c.tag_pk == pk)
            .correlate_except(ot)
            .exists()
        )
    if isinstance(expr, tagquery.Not):
        return sa.not_(_tag_condition(expr.expr, tag_pks, key))
    parts = [_tag_condition(e, tag_pks, key) for e in expr.exprs]
    return sa.and_(*parts) if isinstance(expr, tagquery.AllOf) else sa.or_(*parts)


def _required(expr: tagquery.Expr) -> list[str]:
    """Tags every match must carry: the expression itself, or the plain terms of a top AND."""
    if isinstance(expr, tagquery.Has):
        return [expr.tag]
    if isinstance(expr, tagquery.AllOf):
        return [e.tag for e in expr.exprs if isinstance(e, tagquery.Has)]
    return []


def _without(expr: tagquery.Expr, tag: str) -> tagquery.Expr | None:
    """The rest of a top-level AND once the driving tag is taken out."""
    if isinstance(expr, tagquery.Has):
        return None
    assert isinstance(expr, tagquery.AllOf)
    rest = list(expr.exprs)
    rest.remove(tagquery.Has(tag))
    return rest[0] if len(rest) == 1 else tagquery.AllOf(tuple(rest))


#: Counting a tag's postings stops here: enough to tell a rare tag from a common one.
POSTINGS_CAP = 20_000


def posting_counts(conn: Connection, tag_pks: Sequence[int]) -> dict[int, int]:
    """How many objects carry each tag, counted up to :data:`POSTINGS_CAP`."""
    out: dict[int, int] = {}
    for pk in set(tag_pks):
        capped = (
            sa.select(sa.literal(1))
            .where(object_tags.c.tag_pk == pk)
            .limit(POSTINGS_CAP)
            .subquery()
        )
        out[pk] = int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())
    return out


def list_rows(
    conn: Connection,
    flt: ObjectFilter,
    *,
    tag_pks: dict[str, int],
    limit: int,
    before_pk: int | None = None,
    sort: str = "stored",
    at: Keyset | None = None,
) -> list[ObjectRow]:
    """``limit`` rows in the order ``sort`` names (:mod:`kizashi.store.listing`; by
    default newest stored first), from ``at`` on (or from ``before_pk`` down).

    A tag filter with a tag every match must carry walks the postings of the rarest such
    tag, newest first, and tests the rest of the expression against the posting itself
    (index probes on ``object_tags``) before it reads an object row.
    """
    q = sa.select(*_OBJECT_COLUMNS)
    conds: list[sa.ColumnElement[bool]] = []
    key: sa.ColumnElement[int] = objects.c.pk
    expr = flt.tag_expr
    required = _required(expr) if expr is not None else []
    if required:
        if any(t not in tag_pks for t in required):
            return []
        counts = posting_counts(conn, [tag_pks[t] for t in required])
        driver = min(required, key=lambda t: counts[tag_pks[t]])
        posting = object_tags.alias("posting")
        q = q.select_from(posting.join(objects, objects.c.pk == posting.c.object_pk))
        key = posting.c.object_pk
        conds.append(posting.c.tag_pk == tag_pks[driver])
        assert expr is not None
        expr = _without(expr, driver)
    if expr is not None:
        conds.append(_tag_condition(expr, tag_pks, key))
    if before_pk is not None:
        conds.append(key < before_pk)
    if flt.types:
        conds.append(objects.c.type.in_(list(flt.types)))
    if flt.hide_internal:
        conds.append(objects.c.type != "relationship")
        conds.append(objects.c.id.not_in(sa.select(users.c.identity_id)))
    if not flt.include_revoked:
        conds.append(objects.c.revoked == sa.false())
    if flt.tlp:
        conds.append(objects.c.tlp.in_(list(flt.tlp)))
    if flt.reader is not None:
        conds.append(readable_by(flt.reader))
    if flt.text:
        like = "%" + flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(
            sa.or_(
                objects.c.name.ilike(like, escape="\\"), objects.c.value.ilike(like, escape="\\")
            )
        )
    if flt.created_from:
        conds.append(objects.c.created >= flt.created_from)
    if flt.created_to:
        conds.append(objects.c.created <= flt.created_to)
    if flt.ids:
        conds.append(objects.c.id.in_(list(flt.ids)))
    q = ordered(q, conds, sort, key, at).limit(limit)
    return [_row(r) for r in conn.execute(q)]


def tags_for(conn: Connection, pks: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {pk: [] for pk in pks}
    for i in range(0, len(pks), 500):
        chunk = list(pks[i : i + 500])
        q = (
            sa.select(object_tags.c.object_pk, tags.c.name)
            .select_from(object_tags.join(tags, tags.c.pk == object_tags.c.tag_pk))
            .where(object_tags.c.object_pk.in_(chunk))
            .order_by(tags.c.name)
        )
        for pk, name in conn.execute(q):
            out[pk].append(name)
    return out


def relationship_edges(conn: Connection, refs: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(relationship id, type, source_ref, target_ref) touching any of ``refs``, not revoked."""
    if not refs:
        return []
    out: list[tuple[str, str, str, str]] = []
    for i in range(0, len(refs), 250):
        chunk = list(refs[i : i + 250])
        q = (
            sa.select(
                objects.c.id,
                relationships.c.relationship_type,
                relationships.c.source_ref,
                relationships.c.target_ref,
            )
            .select_from(relationships.join(objects, objects.c.pk == relationships.c.object_pk))
            .where(
                sa.or_(
                    relationships.c.source_ref.in_(chunk), relationships.c.target_ref.in_(chunk)
                ),
                objects.c.revoked == sa.false(),
            )
        )
        out.extend((r[0], r[1], r[2], r[3]) for r in conn.execute(q))
    return list(dict.fromkeys(out))


def referrers(conn: Connection, target: str, limit: int = 200) -> list[tuple[str, str]]:
    """(source id, property) of objects whose *_refs point at ``target``."""
    q = (
        sa.select(objects.c.id, object_refs.c.property)
        .select_from(object_refs.join(objects, objects.c.pk == object_refs.c.source_pk))
        .where(object_refs.c.target_ref == target, objects.c.revoked == sa.false())
        # The source's key, which is the object's: read in the order of the index
        # (target_ref, source_pk), the newest first, where ordering by objects.pk sorted
        # every referrer (11,000 reports name a common group).
        .order_by(object_refs.c.source_pk.desc())
        .limit(limit)
    )
    return [(r[0], r[1]) for r in conn.execute(q)]


def referrer_count(conn: Connection, target: str, skip: Sequence[str] = ()) -> int:
    """How many live objects refer to ``target`` (through properties not in ``skip``)."""
    q = (
        sa.select(sa.func.count())
        .select_from(object_refs.join(objects, objects.c.pk == object_refs.c.source_pk))
        .where(object_refs.c.target_ref == target, objects.c.revoked == sa.false())
    )
    if skip:
        q = q.where(object_refs.c.property.not_in(list(skip)))
    return int(conn.execute(q).scalar_one())


def id_of(conn: Connection, pk: int) -> str:
    return str(conn.execute(sa.select(objects.c.id).where(objects.c.pk == pk)).scalar_one())


def ids_of(conn: Connection, pks: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    wanted = list(set(pks))
    for i in range(0, len(wanted), 500):
        q = sa.select(objects.c.pk, objects.c.id).where(objects.c.pk.in_(wanted[i : i + 500]))
        out.update((r[0], r[1]) for r in conn.execute(q))
    return out


def get_many_by_pk(conn: Connection, pks: Sequence[int]) -> list[ObjectRow]:
    out: list[ObjectRow] = []
    for i in range(0, len(pks), 500):
        q = sa.select(*_OBJECT_COLUMNS).where(objects.c.pk.in_(list(pks[i : i + 500])))
        out.extend(_row(r) for r in conn.execute(q))
    return out


def by_type_and_name(conn: Connection, type_: str, name: str) -> ObjectRow | None:
    """The newest live object of a type with this name (collections are found by name)."""
    q = (
        sa.select(*_OBJECT_COLUMNS)
        .where(objects.c.type == type_, objects.c.name == name, objects.c.revoked == sa.false())
        .order_by(objects.c.pk.desc())
        .limit(1)
    )
    r = conn.execute(q).first()
    return _row(r) if r else None
