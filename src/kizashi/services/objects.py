"""STIX objects: create (one or in bulk), read, list, edit with history, revoke, restore."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, conflict, forbidden, invalid, not_found
from kizashi.model.tagquery import AllOf, Expr, Has, map_tags, parse_tag_query, tags_in
from kizashi.model.tags import TagName, parse_tag
from kizashi.services.common import Context, may_see, readable_row, reader_of
from kizashi.services.object_views import (
    BulkResult,
    ObjectView,
    Page,
    VersionView,
    decode_cursor,
    encode_cursor,
    refs_of,
    row_values,
    split_tlp,
    view_of,
)
from kizashi.services.tags import TagService, tag_level
from kizashi.services.tags import canonical as canonical_tag
from kizashi.store import objects as repo
from kizashi.store import tags as tag_repo
from kizashi.store.objects import ObjectFilter
from kizashi.store.rows import ObjectRow

__all__ = ["BulkResult", "ObjectService", "ObjectView", "Page", "VersionView"]

MAX_PAGE = 500
#: Properties an edit may not change: they are the object's identity.
_FIXED = ("id", "type", "created", "spec_version")


class Linker(Protocol):
    """Extraction seen from here: plans refs for reports, stores what a plan found."""

    def plan(self, conn: Connection, raws: Sequence[Mapping[str, Any]]) -> list[Any]: ...

    def store_in(
        self,
        conn: Connection,
        actor: Actor,
        reports: Sequence[tuple[int, Mapping[str, Any], Any]],
        *,
        fresh: bool = False,
    ) -> None: ...

    def upgrade_stubs(
        self, conn: Connection, actor: Actor, created: Iterable[Mapping[str, Any]]
    ) -> int: ...

    def forget_in(self, conn: Connection, report_pk: int) -> None: ...

    def relink_in(self, conn: Connection, actor: Actor, report_ids: Sequence[str]) -> None: ...


class Tagger(Protocol):
    """Auto-tagging rules seen from here: run over objects just stored or edited."""

    def apply_in(self, conn: Connection, actor: Actor, object_pks: Sequence[int]) -> int: ...


class ObjectService:
    def __init__(self, ctx: Context, tags: TagService) -> None:
        self.ctx = ctx
        self.tags = tags
        #: Set by the application: indicator extraction for reports (None: no extraction).
        self.linker: Linker | None = None
        #: Set by the application: auto-tagging rules (None: no rules run).
        self.tagger: Tagger | None = None

    # -- reading ----------------------------------------------------------------
    def get(self, actor: Actor, stix_id: str) -> ObjectView:
        """The object, if ``actor`` may read it (TLP, revoked): else not found."""
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            return view_of(row, repo.tags_for(conn, [row.pk])[row.pk])

    def get_many(self, actor: Actor, stix_ids: Iterable[str]) -> dict[str, ObjectView]:
        """The ones of these objects ``actor`` may read (revoked ones for admins only)."""
        with self.ctx.store.read() as conn:
            rows = {i: r for i, r in repo.get_many(conn, stix_ids).items() if may_see(actor, r)}
            tags = repo.tags_for(conn, [r.pk for r in rows.values()])
            return {i: view_of(r, tags[r.pk]) for i, r in rows.items()}

    def list(
        self,
        actor: Actor,
        *,
        types: Sequence[str] = (),
        tags: str | None = None,
        all_tags: Sequence[str] = (),
        text: str | None = None,
        tlp: Sequence[str] = (),
        created_from: str | None = None,
        created_to: str | None = None,
        include_revoked: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Newest first. ``tags`` is a filter (``a AND (b OR c) NOT d``); ``all_tags`` ANDs."""
        if include_revoked and not actor.is_admin:
            raise forbidden("Only an admin can list revoked objects.")
        unknown = [t for t in types if t not in stix_model.ALL_TYPES]
        if unknown:
            raise KizashiError(
                "Unknown object type: " + ", ".join(unknown),
                "unknown_type",
                [Problem("type", u) for u in unknown],
            )
        parts: list[Expr] = [parse_tag_query(tags)] if tags else []
        parts += [Has(t) for t in all_tags]
        expr = None if not parts else parts[0] if len(parts) == 1 else AllOf(tuple(parts))
        limit = max(1, min(limit, MAX_PAGE))
        flt = ObjectFilter(
            reader=reader_of(actor),
            types=types,
            tag_expr=expr,
            text=text or None,
            tlp=[tlp_model.normalise(t) or t for t in tlp],
            created_from=_bound(created_from, "created_from", end=False),
            created_to=_bound(created_to, "created_to", end=True),
            include_revoked=include_revoked,
        )
        with self.ctx.store.read() as conn:
            tag_pks: dict[str, int] = {}
            if expr is not None:
                names = {_canonical(t) for t in tags_in(expr)}
                tag_pks = tag_repo.pks_by_names(conn, names)
                expr = map_tags(expr, _canonical)
                flt.tag_expr = expr
            before = decode_cursor(cursor) if cursor else None
            rows = repo.list_rows(conn, flt, tag_pks=tag_pks, limit=limit + 1, before_pk=before)
            more = len(rows) > limit
            rows = rows[:limit]
            tag_map = repo.tags_for(conn, [r.pk for r in rows])
            items = [view_of(r, tag_map[r.pk]) for r in rows]
        return Page(items, encode_cursor(rows[-1].pk) if more and rows else None)

    def history(self, actor: Actor, stix_id: str) -> builtins.list[VersionView]:
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            current = VersionView(
                row.version, "current", row.modified, None, row.updated_at, json.loads(row.data)
            )
            older = [
                VersionView(
                    v.version, v.action, v.modified, v.changed_by, v.changed_at, json.loads(v.data)
                )
                for v in repo.history(conn, row.pk)
            ]
            return [current, *older]

    # -- writing ----------------------------------------------------------------
    def _prepare(
        self, actor: Actor, raw: Mapping[str, Any], tlp: str | None
    ) -> tuple[dict[str, Any], str | None]:
        raw = dict(raw)
        if raw.get("type") == "report" and not raw.get("object_refs"):
            # STIX requires a report to refer to something; until it is linked, it
            # refers to its author, which keeps an exported bundle valid.
            raw["object_refs"] = [raw.get("created_by_ref") or actor.identity_ref]
        now = self.ctx.clock()
        data = stix_model.simple_report(
            raw, now=now, author_ref=actor.identity_ref
        ) or stix_model.validate(raw, now=now, author_ref=actor.identity_ref)
        level = split_tlp(data, tlp)
        return data, level

    def create(
        self,
        actor: Actor,
        raw: Mapping[str, Any],
        *,
        tags: Sequence[str] = (),
        tlp: str | None = None,
    ) -> tuple[ObjectView, bool]:
        """Store a new object; an observable that exists already is returned, not doubled.

        Returns the object and whether it was created.
        """
        actor.require_write()
        with self.ctx.store.begin() as conn:
            return self.create_in(conn, actor, raw, tags=tags, tlp=tlp)

    def create_in(
        self,
        conn: Connection,
        actor: Actor,
        raw: Mapping[str, Any],
        *,
        tags: Sequence[str] = (),
        tlp: str | None = None,
        extract: bool = True,
    ) -> tuple[ObjectView, bool]:
        """:meth:`create` inside the caller's transaction (ingestion writes more beside it).

        A report's text is read for indicators (``extract``), which it then refers to.
        """
        actor.require_write()
        labels = raw.get("labels") if isinstance(raw, Mapping) else None
        plans = None
        if (
            extract
            and self.linker is not None
            and isinstance(raw, Mapping)
            and (raw.get("type") == "report")
        ):
            plans = self.linker.plan(conn, [raw])
        data, level = self._prepare(actor, raw, tlp)
        if plans is not None:
            # Found refs join after validation: they are ids of validated objects, and
            # checking hundreds of them again is most of a report's validation time.
            data = _with_refs(data, plans[0].refs)
        names = [*tags, *(labels if isinstance(labels, list) else [])]
        parsed = self.tags.parse(conn, names)
        if level:
            parsed = [t for t in parsed if tag_level(t) is None] + [parse_tag(f"tlp:{level}")]
        existing = repo.get(conn, data["id"])
        if existing is not None:
            if not stix_model.is_observable(data["type"]):
                raise conflict(f"{data['id']} exists already; edit it instead.")
            if existing.revoked:
                raise conflict(f"{data['id']} exists and is revoked; an admin can restore it.")
            self.tags.attach(conn, actor, [existing.pk], parsed)
            return _reload(conn, data["id"]), False
        pks = self._insert(conn, actor, [(data, level)], parsed)
        if self.linker is not None:
            if plans is not None:
                self.linker.store_in(conn, actor, [(pks[data["id"]], data, plans[0])], fresh=True)
            self.linker.upgrade_stubs(conn, actor, [data])
        if self.tagger is not None:
            self.tagger.apply_in(conn, actor, [pks[data["id"]]])
        self.ctx.audit(conn, actor, "create", data["id"])
        return _reload(conn, data["id"]), True

    def _insert(
        self,
        conn: Connection,
        actor: Actor,
        items: Sequence[tuple[dict[str, Any], str | None]],
        tags: Sequence[TagName],
    ) -> dict[str, int]:
        """Write new objects with their refs, relationship rows and tags.

        An object's own TLP (from its markings) wins over a TLP tag given for the batch.
        """
        stamp = self.ctx.stamp()
        batch_level = next((lv for t in tags if (lv := tag_level(t)) is not None), None)
        plain = [t for t in tags if tag_level(t) is None]
        resolved = [(d, lvl or batch_level) for d, lvl in items]
        pks = repo.insert(conn, [row_values(d, lvl, actor, stamp) for d, lvl in resolved])
        repo.add_refs(conn, ((pks[d["id"]], p, t) for d, _ in items for p, t in refs_of(d)))
        repo.add_relationships(
            conn,
            [
                {
                    "object_pk": pks[d["id"]],
                    "relationship_type": d["relationship_type"],
                    "source_ref": d["source_ref"],
                    "target_ref": d["target_ref"],
                }
                for d, _ in items
                if d["type"] == "relationship"
            ],
        )
        by_level: dict[str | None, list[int]] = {}
        for d, lvl in resolved:
            by_level.setdefault(lvl, []).append(pks[d["id"]])
        for lvl, opks in by_level.items():
            names = [*plain, parse_tag(f"tlp:{lvl}")] if lvl else plain
            self.tags.attach(conn, actor, opks, names, fresh=True)
        return pks

    def create_many(
        self,
        actor: Actor,
        raws: Iterable[Mapping[str, Any]],
        *,
        tags: Sequence[str] = (),
    ) -> BulkResult:
        """Validate and store many objects in one transaction; all or nothing.

        Every object is validated before anything is written, and the error lists
        the problems of each bad object by its position.
        """
        actor.require_write()
        prepared: list[tuple[dict[str, Any], str | None]] = []
        problems: list[Problem] = []
        for i, raw in enumerate(raws):
            try:
                prepared.append(self._prepare_fast(actor, raw))
            except KizashiError as exc:
                problems += [
                    Problem(f"[{i}].{p.loc}", p.msg)
                    for p in exc.problems or [Problem("", exc.message)]
                ]
        if problems:
            raise invalid(
                f"{len(problems)} problem(s) in the batch; nothing was stored.", problems[:1000]
            )
        with self.ctx.store.begin() as conn:
            return self._store_many(conn, actor, prepared, tags)

    def create_many_in(
        self,
        conn: Connection,
        actor: Actor,
        raws: Sequence[Mapping[str, Any]],
        *,
        tags: Sequence[str] = (),
        extract: bool = False,
    ) -> BulkResult:
        """:meth:`create_many` inside the caller's transaction; the first bad object raises.

        With ``extract``, reports are read for indicators as :meth:`create_in` does.
        """
        actor.require_write()
        linker = self.linker if extract else None
        reports = [i for i, raw in enumerate(raws) if raw.get("type") == "report"]
        plans: dict[int, Any] = {}
        if linker is not None and reports:
            found = linker.plan(conn, [raws[i] for i in reports])
            plans = dict(zip(reports, found, strict=True))
        prepared = [self._prepare_fast(actor, raw) for raw in raws]
        for i, plan in plans.items():  # after validation, as in create_in
            prepared[i] = (_with_refs(prepared[i][0], plan.refs), prepared[i][1])
        result = self._store_many(conn, actor, prepared, tags)
        if linker is not None and plans:
            linker.store_in(
                conn,
                actor,
                [
                    (result.pks[prepared[i][0]["id"]], prepared[i][0], plan)
                    for i, plan in plans.items()
                    if prepared[i][0]["id"] in result.pks
                ],
                fresh=True,
            )
        if extract and self.tagger is not None and result.pks:
            self.tagger.apply_in(conn, actor, list(result.pks.values()))
        return result

    def store_validated_in(
        self,
        conn: Connection,
        actor: Actor,
        objects: Sequence[dict[str, Any]],
        derived: Mapping[str, str] | None = None,
    ) -> BulkResult:
        """Store objects that :func:`kizashi.model.stix.validate` (or the observable fast
        path) has already checked, without their own markings, and that the caller found
        absent in this transaction: extraction's objects. ``derived`` marks some (by id)
        with the level of the reports they were found in (see ``tlp_derived``)."""
        actor.require_write()
        levels = derived or {}
        result = self._store_many(
            conn, actor, [(d, levels.get(d["id"])) for d in objects], (), new=True
        )
        repo.mark_tlp_derived(conn, [pk for i, pk in result.pks.items() if i in levels])
        return result

    def _store_many(
        self,
        conn: Connection,
        actor: Actor,
        prepared: Sequence[tuple[dict[str, Any], str | None]],
        tags: Sequence[str],
        *,
        new: bool = False,
    ) -> BulkResult:
        result = BulkResult()
        unique: dict[str, tuple[dict[str, Any], str | None]] = {}
        for d, lvl in prepared:
            unique.setdefault(d["id"], (d, lvl))
        parsed = self.tags.parse(conn, tags)
        ids = list(unique)
        have = set() if new else repo.existing_ids(conn, ids)
        clash = [i for i in have if not stix_model.is_observable(unique[i][0]["type"])]
        if clash:
            raise conflict(
                f"{len(clash)} object(s) exist already, e.g. {clash[0]}; nothing was stored."
            )
        fresh = [unique[i] for i in ids if i not in have]
        result.pks = self._insert(conn, actor, fresh, parsed)
        if self.linker is not None:
            self.linker.upgrade_stubs(conn, actor, [d for d, _ in fresh])
        if have and parsed:
            old = repo.get_many(conn, have)
            self.tags.attach(conn, actor, [r.pk for r in old.values()], parsed)
        self.ctx.audit(
            conn, actor, "create.bulk", None, f"{len(fresh)} created, {len(have)} existing"
        )
        result.created = len(fresh)
        result.existing = len(prepared) - len(fresh)
        result.ids = ids
        return result

    def _prepare_fast(
        self, actor: Actor, raw: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        fast = stix_model.simple_observable(raw)
        if fast is not None:
            return fast, None
        return self._prepare(actor, raw, None)

    def update(self, actor: Actor, stix_id: str, changes: Mapping[str, Any]) -> ObjectView:
        """Apply ``changes`` (property: new value, None removes) as a new version."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            return self.update_in(conn, actor, stix_id, changes)

    def update_in(
        self,
        conn: Connection,
        actor: Actor,
        stix_id: str,
        changes: Mapping[str, Any],
        *,
        relink: bool = True,
    ) -> ObjectView:
        """:meth:`update` inside the caller's transaction.

        When a report's name or description changes, its text is read again: mentions
        are replaced and newly found indicators join its refs.
        """
        actor.require_write()
        fixed = [k for k in changes if k in _FIXED]
        if fixed:
            raise invalid(
                "These properties identify the object and cannot be edited: " + ", ".join(fixed),
                [Problem(k, "cannot be changed") for k in fixed],
            )
        row = self._live_row(conn, actor, stix_id)
        current: dict[str, Any] = json.loads(row.data)
        merged = {k: v for k, v in {**current, **changes}.items() if v is not None}
        plans = None
        if (
            relink
            and self.linker is not None
            and row.type == "report"
            and ("name" in changes or "description" in changes)
        ):
            plans = self.linker.plan(conn, [merged])
            merged = _with_refs(merged, plans[0].refs)
        tag_names = [r.name for r in tag_repo.object_tag_rows(conn, row.pk)]
        merged.pop("modified", None)
        if not stix_model.is_observable(row.type):
            merged["modified"] = stix_model.next_modified(
                row.modified or row.created or self.ctx.stamp(), self.ctx.clock()
            )
        if row.tlp and "object_marking_refs" not in changes:
            merged.setdefault("object_marking_refs", [])
            merged["object_marking_refs"] = [
                *merged["object_marking_refs"],
                tlp_model.MARKING_IDS[row.tlp],
            ]
        labels = changes.get("labels")
        data = stix_model.validate(merged, now=self.ctx.clock())
        if data["id"] != stix_id:
            raise invalid(
                "An observable is identified by its value; create a new one instead.",
                [Problem("value", "changes the object's id")],
            )
        level = split_tlp(data, None)
        self._new_version(conn, actor, row, data, "update", level)
        if isinstance(labels, list):
            parsed = self.tags.parse(conn, labels)
            # Labels replace the tags, except TLP, which only a new level replaces.
            new_level = any(
                tlp_model.normalise(t.predicate or "") for t in parsed if t.namespace == "tlp"
            )
            keep = [
                t
                for t in tag_names
                if t.startswith("tlp:") and not (new_level and tlp_model.normalise(t[4:]))
            ]
            tag_repo.unlink(conn, row.pk, list(tag_repo.pks_by_names(conn, tag_names).values()))
            self.tags.attach(conn, actor, [row.pk], [*parsed, *(parse_tag(k) for k in keep)])
        if level != row.tlp:
            if level:
                self.tags.attach(conn, actor, [row.pk], [parse_tag(f"tlp:{level}")])
            else:
                tlp_tags = [t for t in tag_names if t.startswith("tlp:")]
                tag_repo.unlink(conn, row.pk, list(tag_repo.pks_by_names(conn, tlp_tags).values()))
        if plans is not None and self.linker is not None:
            self.linker.store_in(conn, actor, [(row.pk, data, plans[0])])
        if self.tagger is not None:
            self.tagger.apply_in(conn, actor, [row.pk])
        self.ctx.audit(conn, actor, "update", stix_id, ", ".join(sorted(changes)))
        return _reload(conn, stix_id)

    def revoke(self, actor: Actor, stix_id: str) -> ObjectView:
        """Delete as STIX does: the object stays, marked revoked, recoverable by an admin."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            return self.revoke_in(conn, actor, stix_id)

    def revoke_in(self, conn: Connection, actor: Actor, stix_id: str) -> ObjectView:
        """:meth:`revoke` inside the caller's transaction."""
        actor.require_write()
        row = self._live_row(conn, actor, stix_id)
        data: dict[str, Any] = json.loads(row.data)
        if not stix_model.is_observable(row.type):
            data["revoked"] = True
            data["modified"] = stix_model.next_modified(
                row.modified or self.ctx.stamp(), self.ctx.clock()
            )
        self._new_version(conn, actor, row, data, "revoke", row.tlp, revoked=True)
        if self.linker is not None and row.type == "report":
            self.linker.forget_in(conn, row.pk)  # a revoked report no longer counts
        self.ctx.audit(conn, actor, "revoke", stix_id)
        return _reload(conn, stix_id)

    def restore(self, actor: Actor, stix_id: str) -> ObjectView:
        actor.require_admin()
        with self.ctx.store.begin() as conn:
            row = repo.get(conn, stix_id)
            if row is None:
                raise not_found(f"Object {stix_id}")
            if not row.revoked:
                raise conflict(f"{stix_id} is not revoked.")
            data: dict[str, Any] = json.loads(row.data)
            if not stix_model.is_observable(row.type):
                data.pop("revoked", None)
                data["modified"] = stix_model.next_modified(
                    row.modified or self.ctx.stamp(), self.ctx.clock()
                )
            self._new_version(conn, actor, row, data, "restore", row.tlp, revoked=False)
            if self.linker is not None and row.type == "report":
                self.linker.relink_in(conn, actor, [stix_id])
            self.ctx.audit(conn, actor, "restore", stix_id)
            return _reload(conn, stix_id)

    def _live_row(self, conn: Connection, actor: Actor, stix_id: str) -> ObjectRow:
        row = repo.get(conn, stix_id)
        if row is None or not actor.may_read(row.tlp, row.created_by):
            raise not_found(f"Object {stix_id}")
        if row.revoked:
            raise conflict(f"{stix_id} is revoked; an admin can restore it first.")
        return row

    def _new_version(
        self,
        conn: Connection,
        actor: Actor,
        row: ObjectRow,
        data: dict[str, Any],
        action: str,
        tlp: str | None,
        *,
        revoked: bool | None = None,
    ) -> None:
        stamp = self.ctx.stamp()
        repo.add_versions(
            conn,
            [
                {
                    "object_pk": row.pk,
                    "version": row.version,
                    "action": row.action,
                    "modified": row.modified,
                    "data": row.data,
                    "changed_by": row.updated_by,
                    "changed_at": row.updated_at,
                }
            ],
        )
        values = row_values(data, tlp, actor, stamp)
        for key in ("id", "type", "created_by"):
            values.pop(key)
        values.update(version=row.version + 1, action=action)
        if revoked is not None:
            values["revoked"] = revoked
        repo.update(conn, row.pk, values)
        repo.replace_refs(conn, row.pk, refs_of(data))


def _bound(value: str | None, field: str, *, end: bool) -> str | None:
    """A date range bound as a STIX timestamp; a bare date covers its whole day."""
    if not value:
        return None
    try:
        when = stix_model.parse_timestamp(value if "T" in value else value + "T00:00:00Z")
    except ValueError:
        raise invalid(
            f"{field} is a date (2024-05-01) or a timestamp.", [Problem(field, value)]
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if "T" not in value and end:
        when += timedelta(days=1, milliseconds=-1)
    return stix_model.format_timestamp(when)


def _with_refs(raw: Mapping[str, Any], found: Sequence[str]) -> dict[str, Any]:
    """The report's refs plus the indicators found in it (once each, in order).

    A report with no refs of its own referred to its author to stay valid STIX; once
    something is found, the indicators take that place.
    """
    out = dict(raw)
    if not found:
        return out
    refs = [r for r in (raw.get("object_refs") or []) if isinstance(r, str)]
    author = raw.get("created_by_ref")
    if refs == [author]:
        refs = []
    out["object_refs"] = list(dict.fromkeys([*refs, *found]))
    return out


def _reload(conn: Connection, stix_id: str) -> ObjectView:
    """The object as it stands now in this transaction (it exists: we just wrote it)."""
    row = repo.get(conn, stix_id)
    assert row is not None
    return view_of(row, repo.tags_for(conn, [row.pk])[row.pk])


def _canonical(name: str) -> str:
    try:
        return canonical_tag(name)
    except KizashiError:
        return name
