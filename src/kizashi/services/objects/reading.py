"""Reading objects: one, many, a filtered page (newest first), and an object's versions."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, timedelta

from sqlalchemy.engine import Connection

from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, failure, forbidden, invalid
from kizashi.model.tagquery import AllOf, Expr, Has, map_tags, parse_tag_query, tags_in
from kizashi.services.common import Context, may_see, readable_row, reader_of
from kizashi.services.objects.cursors import decode_cursor, encode_cursor
from kizashi.services.objects.views import ObjectView, Page, VersionView, view_of
from kizashi.services.tags import canonical as canonical_tag
from kizashi.store import objects as repo
from kizashi.store import tags as tag_repo
from kizashi.store import users as user_repo
from kizashi.store.listing import SORTS, Keyset, key_of
from kizashi.store.objects import ObjectFilter
from kizashi.store.rows import ObjectRow

MAX_PAGE = 500


class ObjectReader:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

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
        sort: str = "stored",
        hide_internal: bool = False,
    ) -> Page:
        """A page in the order ``sort`` names (default newest stored first; see
        :data:`kizashi.store.listing.SORTS`). ``tags`` is a filter (``a AND (b OR c) NOT
        d``); ``all_tags`` ANDs. ``hide_internal`` leaves out relationships and the
        user accounts' identities (a list of intelligence, where no type is chosen)."""
        if sort not in SORTS:
            raise invalid(
                "Sort by one of: %(sorts)s.", [Problem("sort", sort)], sorts=", ".join(SORTS)
            )
        if include_revoked and not actor.is_admin:
            raise forbidden("Only an admin can list revoked objects.")
        unknown = [t for t in types if t not in stix_model.ALL_TYPES]
        if unknown:
            raise failure(
                "Unknown object type: %(types)s",
                "unknown_type",
                [Problem("type", u) for u in unknown],
                types=", ".join(unknown),
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
            hide_internal=hide_internal,
        )
        with self.ctx.store.read() as conn:
            tag_pks: dict[str, int] = {}
            if expr is not None:
                names = {_canonical(t) for t in tags_in(expr)}
                tag_pks = tag_repo.pks_by_names(conn, names)
                expr = map_tags(expr, _canonical)
                flt.tag_expr = expr
            at = decode_cursor(cursor, sort) if cursor else None
            rows = repo.list_rows(conn, flt, tag_pks=tag_pks, limit=limit + 1, sort=sort, at=at)
            more = len(rows) > limit
            rows = rows[:limit]
            if at is not None and at.backward:
                rows.reverse()
            tag_map = repo.tags_for(conn, [r.pk for r in rows])
            items = [view_of(r, tag_map[r.pk]) for r in rows]
        return _page(items, rows, sort, at, more)

    def history(self, actor: Actor, stix_id: str) -> builtins.list[VersionView]:
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            editor = user_repo.get_by_pk(conn, row.updated_by) if row.updated_by else None
            current = VersionView(
                row.version,
                row.action,
                row.modified,
                editor.username if editor else None,
                row.updated_at,
                json.loads(row.data),
                current=True,
            )
            older = [
                VersionView(
                    v.version, v.action, v.modified, v.changed_by, v.changed_at, json.loads(v.data)
                )
                for v in repo.history(conn, row.pk)
            ]
            return [current, *older]


def _page(
    items: builtins.list[ObjectView],
    rows: builtins.list[ObjectRow],
    sort: str,
    at: Keyset | None,
    more: bool,
) -> Page:
    """The page with its links: a page reached going forward has one before it, one
    reached going back has one after it; ``more`` says whether the walk goes on."""
    if not rows:
        return Page(items, None)
    backward = at is not None and at.backward
    first, last = rows[0], rows[-1]
    after = encode_cursor(Keyset(key_of(sort, last), last.pk), sort)
    before = encode_cursor(Keyset(key_of(sort, first), first.pk, backward=True), sort)
    has_next = more if not backward else True
    has_prev = at is not None if not backward else more
    return Page(items, after if has_next else None, before if has_prev else None)


def _bound(value: str | None, field: str, *, end: bool) -> str | None:
    """A date range bound as a STIX timestamp; a bare date covers its whole day."""
    if not value:
        return None
    try:
        when = stix_model.parse_timestamp(value if "T" in value else value + "T00:00:00Z")
    except ValueError:
        raise invalid(
            "%(field)s is a date (2024-05-01) or a timestamp.", [Problem(field, value)], field=field
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if "T" not in value and end:
        when += timedelta(days=1, milliseconds=-1)
    return stix_model.format_timestamp(when)


def current_view(conn: Connection, stix_id: str) -> ObjectView:
    """The object as it stands now in this transaction (it exists: we just wrote it)."""
    row = repo.get(conn, stix_id)
    assert row is not None
    return view_of(row, repo.tags_for(conn, [row.pk])[row.pk])


def _canonical(name: str) -> str:
    try:
        return canonical_tag(name)
    except KizashiError:
        return name
