"""Storing new objects, one or in bulk: validated first, observables never doubled, each
report read for indicators and every new item run through the rules in the same
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from kizashi.model import stix as stix_model
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, conflict, invalid
from kizashi.model.tags import TagName, parse_tag
from kizashi.services.common import Context
from kizashi.services.objects.hooks import Hooks, with_refs
from kizashi.services.objects.reading import current_view
from kizashi.services.objects.views import (
    BulkResult,
    ObjectView,
    refs_of,
    row_values,
    split_tlp,
)
from kizashi.services.tags import TagService, tag_level
from kizashi.store import objects as repo


class ObjectCreator:
    def __init__(self, ctx: Context, tags: TagService, hooks: Hooks) -> None:
        self.ctx = ctx
        self.tags = tags
        self.hooks = hooks

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
            and self.hooks.linker is not None
            and isinstance(raw, Mapping)
            and (raw.get("type") == "report")
        ):
            plans = self.hooks.linker.plan(conn, [raw])
        data, level = self._prepare(actor, raw, tlp)
        if plans is not None:
            # Found refs join after validation: they are ids of validated objects, and
            # checking hundreds of them again is most of a report's validation time.
            data = with_refs(data, plans[0].refs)
        names = [*tags, *(labels if isinstance(labels, list) else [])]
        parsed = self.tags.parse(conn, names)
        if level:
            parsed = [t for t in parsed if tag_level(t) is None] + [parse_tag(f"tlp:{level}")]
        existing = repo.get(conn, data["id"])
        if existing is not None:
            if not stix_model.is_observable(data["type"]):
                raise conflict("%(stix_id)s exists already; edit it instead.", stix_id=data["id"])
            if existing.revoked:
                raise conflict(
                    "%(stix_id)s exists and is revoked; an admin can restore it.",
                    stix_id=data["id"],
                )
            self.tags.attach(conn, actor, [existing.pk], parsed)
            return current_view(conn, data["id"]), False
        pks = self.insert_in(conn, actor, [(data, level)], parsed)
        if self.hooks.linker is not None:
            if plans is not None:
                self.hooks.linker.store_in(
                    conn, actor, [(pks[data["id"]], data, plans[0])], fresh=True
                )
            self.hooks.linker.upgrade_stubs(conn, actor, [data])
        if self.hooks.tagger is not None:
            self.hooks.tagger.apply_in(conn, actor, [pks[data["id"]]])
        self.ctx.audit(conn, actor, "create", data["id"])
        return current_view(conn, data["id"]), True

    def insert_in(
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
                "%(n)s problem(s) in the batch; nothing was stored.",
                problems[:1000],
                n=len(problems),
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
        linker = self.hooks.linker if extract else None
        reports = [i for i, raw in enumerate(raws) if raw.get("type") == "report"]
        plans: dict[int, Any] = {}
        if linker is not None and reports:
            found = linker.plan(conn, [raws[i] for i in reports])
            plans = dict(zip(reports, found, strict=True))
        prepared = [self._prepare_fast(actor, raw) for raw in raws]
        for i, plan in plans.items():  # after validation, as in create_in
            prepared[i] = (with_refs(prepared[i][0], plan.refs), prepared[i][1])
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
        if extract and self.hooks.tagger is not None and result.pks:
            self.hooks.tagger.apply_in(conn, actor, list(result.pks.values()))
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
                "%(n)s object(s) exist already, e.g. %(stix_id)s; nothing was stored.",
                n=len(clash),
                stix_id=clash[0],
            )
        fresh = [unique[i] for i in ids if i not in have]
        result.pks = self.insert_in(conn, actor, fresh, parsed)
        if self.hooks.linker is not None:
            self.hooks.linker.upgrade_stubs(conn, actor, [d for d, _ in fresh])
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
