"""Exporting: a selection of stored objects, as the asker may read them, for a format to
write.

A selection is a search query, a tag expression, a list of ids, or all of it, narrowed
by type; ``depth`` follows what the chosen objects refer to (their ``*_ref``/``*_refs``,
their author) and the relationships and sightings that touch them, that many steps out.
Kizashi's users' own identities come only as the creator of something exported (or when
named): the list of accounts is no intelligence. Every marking an object carries comes
with it (stored marking definitions, and the OASIS TLP 2.0 definitions), so a bundle is
complete. What the asker may not read is never part of it, at any depth.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from kizashi.model import searchquery as sq
from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, invalid
from kizashi.services.common import Context, may_see
from kizashi.services.objects import ObjectService
from kizashi.services.objects.views import refs_of, stix_out
from kizashi.store import objects as repo
from kizashi.store import users as user_repo
from kizashi.store.rows import ObjectRow

if TYPE_CHECKING:
    from kizashi.services.search import SearchService

MAX_DEPTH = 5
#: Rows read per query while a selection is gathered.
CHUNK = 500


@dataclass(frozen=True)
class Selection:
    """What to export; empty: every object the asker may read."""

    query: str | None = None
    tags: str | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    depth: int = 0
    #: Revoked objects too (they are part of a producer's history).
    include_revoked: bool = False


class Exporter:
    def __init__(
        self, ctx: Context, objects: ObjectService, search: Callable[[], SearchService]
    ) -> None:
        self.ctx = ctx
        self.objects = objects
        self._search = search

    def objects_of(self, actor: Actor, selection: Selection) -> Iterator[dict[str, Any]]:
        """The selected objects as STIX, markings first, then in the order they were
        stored; each once."""
        if not 0 <= selection.depth <= MAX_DEPTH:
            raise invalid(
                "depth is 0 to %(max)s.", [Problem("depth", str(selection.depth))], max=MAX_DEPTH
            )
        unknown = [t for t in selection.types if t not in stix_model.ALL_TYPES]
        if unknown and not all(t.startswith("x-") for t in unknown):
            raise invalid(
                "Unknown object type: %(types)s",
                [Problem("type", u) for u in unknown],
                types=", ".join(unknown),
            )
        pks = self._chosen(actor, selection)
        with self.ctx.store.read() as conn:
            # What to write, as (markings first, pk) with the levels and markings it
            # needs: the objects' JSON is read again chunk by chunk as it is written,
            # so an export of the whole store is never held in memory.
            keep: list[tuple[bool, int]] = []
            levels: set[str] = set()
            marks: set[str] = set()
            have: set[str] = set()  # the marking definitions among them
            # Kizashi's users' identities are no intelligence: they come with what
            # they made (its created_by_ref), or when named, not with "everything".
            accounts = set() if selection.ids else user_repo.identity_ids(conn)
            creators: set[str] = set()
            held_back: list[ObjectRow] = []
            for row in self._rows(conn, actor, pks, selection):
                data = json.loads(row.data)
                if isinstance(data.get("created_by_ref"), str):
                    creators.add(data["created_by_ref"])
                if row.id in accounts:
                    held_back.append(row)
                    continue
                self._note(row, data, keep, levels, marks, have)
            for row in held_back:
                if row.id in creators:
                    self._note(row, json.loads(row.data), keep, levels, marks, have)
            stored_marks = [
                r
                for r in repo.get_many(conn, sorted(marks - have)).values()
                if may_see(actor, r) and r.id not in have
            ]
            present = have | {r.id for r in stored_marks}
            wanted = marks | {tlp_model.MARKING_IDS[lv] for lv in levels}
            for mark in sorted(wanted - present):
                if mark in tlp_model.LEVEL_BY_ID:
                    yield tlp_model.tlp_definition(mark)
            chosen = {pk for _, pk in keep}
            extra = [r for r in stored_marks if r.pk not in chosen]
            tags = repo.tags_for(conn, [r.pk for r in extra])
            for r in extra:
                yield stix_out(r, tags[r.pk])
            ordered = [pk for _, pk in sorted(keep)]
            for i in range(0, len(ordered), CHUNK):
                chunk = ordered[i : i + CHUNK]
                by_pk = {r.pk: r for r in repo.get_many_by_pk(conn, chunk)}
                tags = repo.tags_for(conn, chunk)
                for pk in chunk:
                    if pk in by_pk:
                        yield stix_out(by_pk[pk], tags[pk])

    @staticmethod
    def _note(
        row: ObjectRow,
        data: dict[str, Any],
        keep: list[tuple[bool, int]],
        levels: set[str],
        marks: set[str],
        have: set[str],
    ) -> None:
        """Remember a row to write, with the levels and markings it needs."""
        keep.append((row.type != "marking-definition", row.pk))
        if row.tlp:
            levels.add(row.tlp)
        refs = data.get("object_marking_refs")
        if isinstance(refs, list):
            marks.update(r for r in refs if isinstance(r, str))
        if row.type == "marking-definition":
            have.add(row.id)

    def _rows(
        self, conn: Connection, actor: Actor, pks: Sequence[int], selection: Selection
    ) -> Iterator[ObjectRow]:
        """The selected rows one chunk at a time (``depth`` 0), or expanded."""
        if selection.depth:
            yield from self._expand(conn, actor, pks, selection)
            return
        for i in range(0, len(pks), CHUNK):
            for r in repo.get_many_by_pk(conn, list(pks[i : i + CHUNK])):
                if _readable(actor, r, selection):
                    yield r

    def _chosen(self, actor: Actor, selection: Selection) -> list[int]:
        """The pks the selection names directly (before ``depth``)."""
        found: set[int] | None = None
        if selection.query:
            found = set(self._searched(actor, selection.query))
        if selection.tags or selection.types or not (selection.query or selection.ids):
            listed: set[int] = set()
            cursor = None
            while True:
                page = self.objects.list(
                    actor,
                    types=list(selection.types),
                    tags=selection.tags,
                    include_revoked=selection.include_revoked and actor.is_admin,
                    limit=500,
                    cursor=cursor,
                )
                with self.ctx.store.read() as conn:
                    pks = repo.get_many(conn, [v.id for v in page.items])
                listed |= {r.pk for r in pks.values()}
                cursor = page.next_cursor
                if cursor is None:
                    break
            found = listed if found is None else found & listed
        if selection.ids:
            with self.ctx.store.read() as conn:
                named = repo.get_many(conn, selection.ids)
            missing = [i for i in selection.ids if i not in named or not may_see(actor, named[i])]
            if missing:
                raise invalid(
                    "Not found: %(ids)s",
                    [Problem("id", m) for m in missing],
                    ids=", ".join(missing[:5]),
                )
            ids = {r.pk for r in named.values()}
            found = ids if found is None else found | ids
        return sorted(found or set())

    def _searched(self, actor: Actor, query: str) -> list[int]:
        from kizashi.services.search import access_for

        search = self._search()
        if search.sync_on_query:
            search.follower.catch_up(wait=2.0)
        expr = sq.parse(query)
        compiled = search.index.compiler.variant(match_only=True).query(expr, access_for(actor))
        return search.index.all_pks(compiled)

    def _expand(
        self, conn: Connection, actor: Actor, pks: Sequence[int], selection: Selection
    ) -> list[ObjectRow]:
        """The rows of ``pks``, and ``depth`` steps of what they refer to and what
        relates to them, of what ``actor`` may read."""
        rows = {
            r.id: r for r in repo.get_many_by_pk(conn, list(pks)) if _readable(actor, r, selection)
        }
        frontier = set(rows)
        for _ in range(selection.depth):
            wanted: set[str] = set()
            for stix_id in frontier:
                data = json.loads(rows[stix_id].data)
                wanted |= {target for _, target in refs_of(data)}
                if isinstance(data.get("created_by_ref"), str):
                    wanted.add(data["created_by_ref"])
            for rel_id, _, source, target in repo.relationship_edges(conn, sorted(frontier)):
                wanted |= {rel_id, source, target}
            wanted -= set(rows)
            found = repo.get_many(conn, sorted(wanted))
            frontier = {i for i, r in found.items() if _readable(actor, r, selection)}
            rows.update({i: found[i] for i in frontier})
            if not frontier:
                break
        return list(rows.values())


def _readable(actor: Actor, row: ObjectRow, selection: Selection) -> bool:
    if row.revoked and not (selection.include_revoked and actor.is_admin):
        return False
    return may_see(actor, row)
