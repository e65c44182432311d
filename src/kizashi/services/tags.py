"""Tags: create on first use, validate against taxonomies, attach, rename, merge."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, conflict, failure, invalid, not_found
from kizashi.model.tags import TagName, check_colour, parse_tag
from kizashi.model.width import fold_width
from kizashi.services import taxonomies
from kizashi.services.common import Context, reader_of
from kizashi.store import objects as object_repo
from kizashi.store import rules as rule_repo
from kizashi.store import tags as tag_repo
from kizashi.store import taxonomies as taxonomy_repo
from kizashi.store.rows import RELATED_SAMPLE, RelatedTags, TagRow


@dataclass(frozen=True)
class TagView:
    name: str
    namespace: str | None
    colour: str | None
    description: str | None
    count: int

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "colour": self.colour,
            "description": self.description,
            "count": self.count,
        }


def _view(row: TagRow, count: int | None = None) -> TagView:
    return TagView(
        row.name, row.namespace, row.colour, row.description, row.count if count is None else count
    )


class TagService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- taxonomies -------------------------------------------------------------
    def enabled_taxonomies(self, conn: Connection) -> set[str]:
        return {ns for ns, on in taxonomy_repo.states(conn).items() if on}

    def set_taxonomy(self, actor: Actor, namespace: str, enabled: bool) -> str:
        """Enable or disable a taxonomy; returns its namespace as the taxonomy spells it."""
        actor.require_admin()
        namespace = taxonomies.get(namespace).namespace
        with self.ctx.store.begin() as conn:
            taxonomy_repo.set_enabled(conn, namespace, enabled, self.ctx.stamp())
            self.ctx.audit(conn, actor, "taxonomy", namespace, "enabled" if enabled else "disabled")
        return namespace

    def taxonomy_states(self) -> dict[str, bool]:
        with self.ctx.store.read() as conn:
            return taxonomy_repo.states(conn)

    # -- names ------------------------------------------------------------------
    def parse(self, conn: Connection, names: Iterable[str]) -> list[TagName]:
        enabled = self.enabled_taxonomies(conn)
        out: dict[str, TagName] = {}
        problems: list[Problem] = []
        failed: list[KizashiError] = []
        for raw in names:
            try:
                tag = taxonomies.check(parse_tag(raw), enabled)
            except KizashiError as exc:
                failed.append(exc)
                problems.extend(exc.problems or [Problem("tag", exc.message)])
                continue
            out[tag.name] = tag
        if len(failed) == 1:  # its message as it is, so the UI can say it in its language
            raise failure(failed[0].template, "validation_failed", problems, **failed[0].values)
        if failed:
            raise KizashiError(
                " ".join(exc.message for exc in failed), "validation_failed", problems
            )
        levels = [t.name for t in out.values() if tag_level(t) is not None]
        if len(levels) > 1:
            raise invalid(
                "An object has one TLP level; give only one tlp: tag.",
                [Problem("tags", "several tlp: tags")],
            )
        return list(out.values())

    def ensure(self, conn: Connection, names: Iterable[TagName]) -> dict[str, int]:
        """Tag pks by name, creating tags that do not exist yet."""
        wanted = {t.name: t for t in names}
        have = tag_repo.pks_by_names(conn, wanted)
        missing = [t for name, t in wanted.items() if name not in have]
        if missing:
            stamp = self.ctx.stamp()
            tag_repo.insert(
                conn,
                [
                    {
                        "name": t.name,
                        "namespace": t.namespace,
                        "predicate": t.predicate,
                        "value": t.value,
                        "colour": _default_colour(t),
                        "created_at": stamp,
                    }
                    for t in missing
                ],
            )
            have = tag_repo.pks_by_names(conn, wanted)
        return have

    # -- attach -----------------------------------------------------------------
    def attach(
        self,
        conn: Connection,
        actor: Actor,
        object_pks: Sequence[int],
        names: Sequence[TagName],
        *,
        fresh: bool = False,
    ) -> None:
        """Attach tags in an open transaction; exclusive namespaces (TLP) replace.

        ``fresh`` objects were inserted in this transaction with their TLP column set:
        they have no tags to displace and no links to look up.
        """
        if not names or not object_pks:
            return
        pks = self.ensure(conn, names)
        if not fresh:
            self._make_room(conn, object_pks, names)
        stamp = self.ctx.stamp()
        tag_repo.link(
            conn,
            [
                {
                    "tag_pk": pks[t.name],
                    "object_pk": opk,
                    "added_by": actor.user_pk,
                    "added_at": stamp,
                }
                for opk in object_pks
                for t in names
            ],
            fresh=fresh,
        )

    def _make_room(
        self, conn: Connection, object_pks: Sequence[int], names: Sequence[TagName]
    ) -> None:
        """Drop the tags that ``names`` displace (exclusive namespaces); the TLP column follows."""
        for tag in names:
            if tag.namespace is None or not _exclusive(tag.namespace):
                continue
            rivals = _rivals(tag, tag_repo.in_namespace(conn, tag.namespace))
            tag_repo.unlink_many(conn, object_pks, rivals)
        level = next((lv for t in names if (lv := tag_level(t)) is not None), None)
        if level is not None:
            object_repo.set_tlp(conn, object_pks, level)

    def tag(self, actor: Actor, object_id: str, names: Sequence[str]) -> list[str]:
        actor.require_write()
        with self.ctx.store.begin() as conn:
            row = object_repo.get(conn, object_id)
            if row is None or not actor.may_read(row.tlp, row.created_by):
                raise not_found("Object %(object_id)s was not found.", object_id=object_id)
            parsed = self.parse(conn, names)
            self.attach(conn, actor, [row.pk], parsed)
            # Added by hand again: rules may add it again too.
            rule_repo.unsuppress(conn, row.pk, list(self.ensure(conn, parsed).values()))
            self.ctx.audit(conn, actor, "tag", object_id, ", ".join(t.name for t in parsed))
            return sorted(r.name for r in tag_repo.object_tag_rows(conn, row.pk))

    def refresh_tlp(self, conn: Connection, object_pks: Sequence[int]) -> None:
        """After tags were removed: each object's TLP column follows the tags left."""
        for pk in object_pks:
            held = tag_repo.object_tag_rows(conn, pk)
            levels = [lv for r in held if (lv := tag_level(r)) is not None]
            object_repo.update(conn, pk, {"tlp": levels[0] if levels else None})

    def untag(self, actor: Actor, object_id: str, names: Sequence[str]) -> list[str]:
        actor.require_write()
        with self.ctx.store.begin() as conn:
            row = object_repo.get(conn, object_id)
            if row is None or not actor.may_read(row.tlp, row.created_by):
                raise not_found("Object %(object_id)s was not found.", object_id=object_id)
            wanted = [canonical(n) for n in names]
            pks = list(tag_repo.pks_by_names(conn, wanted).values())
            if pks:
                tag_repo.unlink(conn, row.pk, pks)
                # An analyst took it off: no rule puts it back.
                rule_repo.suppress(conn, row.pk, pks, by=actor.user_pk, at=self.ctx.stamp())
            if any(n.startswith("tlp:") for n in wanted):
                self.refresh_tlp(conn, [row.pk])
            self.ctx.audit(conn, actor, "untag", object_id, ", ".join(wanted))
            return sorted(r.name for r in tag_repo.object_tag_rows(conn, row.pk))

    # -- the tags themselves ----------------------------------------------------
    def list(
        self,
        actor: Actor,
        *,
        prefix: str | None = None,
        namespace: str | None = None,
        limit: int = 100,
    ) -> list[TagView]:
        """Tags by use; counts and names from what ``actor`` may read (see
        :func:`kizashi.store.tags.search`)."""
        with self.ctx.store.read() as conn:
            found = tag_repo.search(
                conn, prefix=prefix, namespace=namespace, limit=limit, reader=reader_of(actor)
            )
            return [_view(r) for r in found]

    def suggest(self, actor: Actor, prefix: str, limit: int = 20) -> builtins.list[str]:
        """Autocomplete: existing tags first, then values of enabled taxonomies. What is
        typed in full or half width (ｔｌｐ, ﾗﾝｻﾑ) completes like its usual form."""
        prefix = fold_width(prefix)
        with self.ctx.store.read() as conn:
            found = tag_repo.search(
                conn, prefix=prefix, namespace=None, limit=limit, reader=reader_of(actor)
            )
            names = [r.name for r in found]
            enabled = self.enabled_taxonomies(conn)
        low = prefix.lower()
        for ns in sorted(enabled):
            tax = taxonomies.find(ns)
            if tax is None:
                continue
            for name in tax.tags:
                if len(names) >= limit:
                    break
                if name.lower().startswith(low) and name not in names:
                    names.append(name)
        return names[:limit]

    def get(self, actor: Actor, name: str) -> TagView:
        with self.ctx.store.read() as conn:
            row, count = self._visible(conn, actor, name)
            return _view(row, count)

    def neighbours(
        self, actor: Actor, name: str, limit: int = 20
    ) -> builtins.list[tuple[str, int]]:
        with self.ctx.store.read() as conn:
            row = self._visible_row(conn, actor, name)
            return tag_repo.neighbours(conn, row.pk, limit, reader=reader_of(actor))

    def related(
        self,
        actor: Actor,
        names: Iterable[str],
        limit: int = 20,
        sample: int = RELATED_SAMPLE,
        besides: Iterable[str] = (),
    ) -> RelatedTags:
        """Tags that occur with any of ``names`` on the newest ``sample`` objects of each
        that ``actor`` may read: a page's hint, bounded whatever the tag's size, where
        :meth:`neighbours` counts every object (the API's exact answer). Unknown names
        are left out; a tag is counted once per object; ``besides`` are not answered
        either (the object's own tags that were not asked about)."""
        wanted = [canonical(n) for n in names]
        other = [canonical(n) for n in besides]
        with self.ctx.store.read() as conn:
            rows = tag_repo.by_names(conn, [*wanted, *other])
            pks = [rows[n].pk for n in dict.fromkeys(wanted) if n in rows]
            found, counted, cut = tag_repo.related(
                conn,
                pks,
                sample=sample,
                limit=limit,
                reader=reader_of(actor),
                besides=[rows[n].pk for n in other if n in rows],
            )
        return RelatedTags(found, counted, cut, sample)

    def _visible(self, conn: Connection, actor: Actor, name: str) -> tuple[TagRow, int]:
        """The tag and how many objects ``actor`` may read carry it; "not found" for a
        tag only on objects they may not read, as for one that does not exist."""
        row = self._visible_row(conn, actor, name)
        return row, tag_repo.count_objects_with_tag(conn, row.pk, reader_of(actor))

    def _visible_row(self, conn: Connection, actor: Actor, name: str) -> TagRow:
        """The tag, if ``actor`` is told it exists (see :meth:`_visible`), not counted:
        its neighbours need only that, and a common tag is on 100,000 objects."""
        stored = canonical(name)
        row = tag_repo.by_names(conn, [stored]).get(stored)
        if row is None:
            raise not_found("Tag %(name)r was not found.", name=stored)
        reader = reader_of(actor)
        # On no object they may read, and not defined on purpose: whether hidden objects
        # carry it or nothing does, the answer is the same (see store.tags.search).
        if (
            reader is not None
            and not row.defined
            and not tag_repo.on_any_object(conn, row.pk, reader)
        ):
            raise not_found("Tag %(name)r was not found.", name=stored)
        return row

    def _shown(self, conn: Connection, actor: Actor, row: TagRow) -> bool:
        """Whether ``actor`` is told the tag exists (see :meth:`_visible`)."""
        try:
            self._visible_row(conn, actor, row.name)
        except KizashiError:
            return False
        return True

    def create(
        self, actor: Actor, name: str, *, colour: str | None = None, description: str | None = None
    ) -> TagView:
        actor.require_write()
        with self.ctx.store.begin() as conn:
            [tag] = self.parse(conn, [name])
            held = tag_repo.by_names(conn, [tag.name]).get(tag.name)
            # One only on objects the asker may not read is made theirs as a new one
            # would be: "exists already" would tell them of it.
            if held is not None and self._shown(conn, actor, held):
                raise conflict("The tag %(name)r exists already.", name=tag.name)
            self.ensure(conn, [tag])
            values = {
                "colour": check_colour(colour) or _default_colour(tag),
                "description": description,
                "defined": True,
            }
            row = tag_repo.by_names(conn, [tag.name])[tag.name]
            tag_repo.update(conn, row.pk, values)
            self.ctx.audit(conn, actor, "tag.create", tag.name)
            return _view(tag_repo.by_names(conn, [tag.name])[tag.name], 0)

    def update(
        self,
        actor: Actor,
        name: str,
        *,
        new_name: str | None = None,
        colour: str | None = None,
        description: str | None = None,
    ) -> TagView:
        """Change colour or description, or rename (merging into an existing tag of that name)."""
        actor.require_write()
        stored = canonical(name)
        with self.ctx.store.begin() as conn:
            row, _ = self._visible(conn, actor, stored)
            values: dict[str, object] = {}
            if colour is not None:
                values["colour"] = check_colour(colour)
            if description is not None:
                values["description"] = description
            if values:
                tag_repo.update(conn, row.pk, values)
            result = stored
            if new_name is not None:
                [target] = self.parse(conn, [new_name])
                if target.name != stored:
                    self._merge(conn, actor, [row], target)
                    result = target.name
            return self._final(conn, actor, result)

    def _final(self, conn: Connection, actor: Actor, name: str) -> TagView:
        """A tag after an edit, counted over what ``actor`` may read."""
        final = tag_repo.by_names(conn, [name])[name]
        return _view(final, tag_repo.count_objects_with_tag(conn, final.pk, reader_of(actor)))

    def merge(self, actor: Actor, sources: Sequence[str], target: str) -> TagView:
        """Fold ``sources`` into ``target``: every tagged object follows."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            names = [canonical(s) for s in sources]
            rows = tag_repo.by_names(conn, names)
            missing = [n for n in names if n not in rows or not self._shown(conn, actor, rows[n])]
            if missing:
                raise not_found(
                    "Tag %(names)s was not found.", names=", ".join(repr(m) for m in missing)
                )
            [tgt] = self.parse(conn, [target])
            self._merge(conn, actor, [rows[n] for n in names if n != tgt.name], tgt)
            return self._final(conn, actor, tgt.name)

    def _merge(
        self, conn: Connection, actor: Actor, rows: Sequence[TagRow], target: TagName
    ) -> None:
        existing = tag_repo.by_names(conn, [target.name]).get(target.name)
        # Only the links on objects the asker may read move: an object they may not read
        # keeps its tag (and its marking, were the tag a TLP level) as it was.
        reader = reader_of(actor)
        mine = {r.pk: tag_repo.objects_with_tag(conn, r.pk, reader) for r in rows}
        kept = {
            r.pk
            for r in rows
            if reader is not None and len(tag_repo.objects_with_tag(conn, r.pk)) > len(mine[r.pk])
        }
        # A target the asker is not told of is, to them, a new tag: it takes what a new
        # one would (a rename's colour and description), not the hidden one's.
        unseen = existing is None or (reader is not None and not self._shown(conn, actor, existing))
        if existing is None and len(rows) == 1 and not kept:
            # A plain rename: the row keeps its links, colour and description.
            tag_repo.update(
                conn,
                rows[0].pk,
                {
                    "name": target.name,
                    "namespace": target.namespace,
                    "predicate": target.predicate,
                    "value": target.value,
                },
            )
            if rows[0].colour is None and _default_colour(target):
                tag_repo.update(conn, rows[0].pk, {"colour": _default_colour(target)})
            affected = tag_repo.objects_with_tag(conn, rows[0].pk)
        else:
            target_pk = self.ensure(conn, [target])[target.name]
            if unseen and len(rows) == 1:  # a rename, as far as the asker can tell
                values: dict[str, object] = {
                    "colour": rows[0].colour or _default_colour(target),
                    "description": rows[0].description,
                    "defined": rows[0].defined,
                }
                tag_repo.update(conn, target_pk, values)
            elif unseen and existing is not None:
                tag_repo.update(
                    conn,
                    target_pk,
                    {"colour": _default_colour(target), "description": None, "defined": False},
                )
            affected = []
            for row in rows:
                affected += mine[row.pk]
                if row.pk in kept:
                    tag_repo.move_links(conn, row.pk, target_pk, only=mine[row.pk])
                else:
                    tag_repo.move_links(conn, row.pk, target_pk)
                    tag_repo.delete(conn, row.pk)
        objects = sorted(set(affected))
        # The merged tag may displace others (a TLP level), or a level may have gone.
        self._make_room(conn, objects, [target])
        if tag_level(target) is None and any(tag_level(r) is not None for r in rows):
            for opk in objects:
                levels = [lv for r in tag_repo.object_tag_rows(conn, opk) if (lv := tag_level(r))]
                object_repo.update(conn, opk, {"tlp": levels[0] if levels else None})
        self.ctx.audit(conn, actor, "tag.merge", target.name, ", ".join(r.name for r in rows))


def canonical(name: str) -> str:
    """A tag name as stored: parsed, and in its taxonomy's spelling."""
    return taxonomies.spell(parse_tag(name)).name


def tag_level(tag: TagName | TagRow) -> str | None:
    """The TLP level a tag sets, or None (``tlp:ex:chr`` is a TLP tag but not a level)."""
    if tag.namespace != "tlp":
        return None
    return tlp_model.normalise(tag.predicate or "")


def _rivals(tag: TagName, held: Sequence[TagRow]) -> list[int]:
    """Tags an object must drop when it gets ``tag``: the others of an exclusive namespace.

    In the ``tlp`` namespace only levels compete; ``tlp:ex:chr`` and the like sit beside them.
    """
    if tag.namespace is None or not _exclusive(tag.namespace):
        return []
    if tag.namespace == "tlp":
        if tag_level(tag) is None:
            return []
        return [r.pk for r in held if tag_level(r) is not None and r.name != tag.name]
    return [r.pk for r in held if r.namespace == tag.namespace and r.name != tag.name]


_TLP_COLOURS = {
    "clear": "#ffffff",
    "green": "#33ff00",
    "amber": "#ffc000",
    "amber+strict": "#ffc000",
    "red": "#ff2b2b",
}


def _default_colour(tag: TagName) -> str | None:
    if tag.namespace == "tlp":
        return _TLP_COLOURS.get(tlp_model.normalise(tag.predicate or "") or "")
    return None


def _exclusive(namespace: str) -> bool:
    tax = taxonomies.find(namespace)
    return bool(tax and tax.exclusive) or namespace == "tlp"
