"""Changing stored objects: an edit is a new version (the old one kept), a revoke marks
the object revoked (STIX's delete), an admin's restore undoes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, conflict, invalid, not_found
from kizashi.model.tags import parse_tag
from kizashi.services.common import Context
from kizashi.services.objects.hooks import Hooks, with_refs
from kizashi.services.objects.reading import current_view
from kizashi.services.objects.views import (
    ObjectView,
    refs_of,
    row_values,
    split_tlp,
)
from kizashi.services.tags import TagService
from kizashi.store import objects as repo
from kizashi.store import tags as tag_repo
from kizashi.store.rows import ObjectRow

#: Properties an edit may not change: they are the object's identity.
_FIXED = ("id", "type", "created", "spec_version")


class ObjectEditor:
    def __init__(self, ctx: Context, tags: TagService, hooks: Hooks) -> None:
        self.ctx = ctx
        self.tags = tags
        self.hooks = hooks

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
                "These properties identify the object and cannot be edited: %(names)s",
                [Problem(k, "cannot be changed") for k in fixed],
                names=", ".join(fixed),
            )
        row = self._live_row(conn, actor, stix_id)
        current: dict[str, Any] = json.loads(row.data)
        merged = {k: v for k, v in {**current, **changes}.items() if v is not None}
        plans = None
        if (
            relink
            and self.hooks.linker is not None
            and row.type == "report"
            and ("name" in changes or "description" in changes)
        ):
            plans = self.hooks.linker.plan(conn, [merged])
            merged = with_refs(merged, plans[0].refs)
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
        self.new_version_in(conn, actor, row, data, "update", level)
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
        if plans is not None and self.hooks.linker is not None:
            self.hooks.linker.store_in(conn, actor, [(row.pk, data, plans[0])])
        if self.hooks.tagger is not None:
            self.hooks.tagger.apply_in(conn, actor, [row.pk])
        self.ctx.audit(conn, actor, "update", stix_id, ", ".join(sorted(changes)))
        return current_view(conn, stix_id)

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
        self.new_version_in(conn, actor, row, data, "revoke", row.tlp, revoked=True)
        if self.hooks.linker is not None and row.type == "report":
            self.hooks.linker.forget_in(conn, row.pk)  # a revoked report no longer counts
        self.ctx.audit(conn, actor, "revoke", stix_id)
        return current_view(conn, stix_id)

    def restore(self, actor: Actor, stix_id: str) -> ObjectView:
        actor.require_admin()
        with self.ctx.store.begin() as conn:
            row = repo.get(conn, stix_id)
            if row is None:
                raise not_found("Object %(stix_id)s was not found.", stix_id=stix_id)
            if not row.revoked:
                raise conflict("%(stix_id)s is not revoked.", stix_id=stix_id)
            data: dict[str, Any] = json.loads(row.data)
            if not stix_model.is_observable(row.type):
                data.pop("revoked", None)
                data["modified"] = stix_model.next_modified(
                    row.modified or self.ctx.stamp(), self.ctx.clock()
                )
            self.new_version_in(conn, actor, row, data, "restore", row.tlp, revoked=False)
            if self.hooks.linker is not None and row.type == "report":
                self.hooks.linker.relink_in(conn, actor, [stix_id])
            self.ctx.audit(conn, actor, "restore", stix_id)
            return current_view(conn, stix_id)

    def _live_row(self, conn: Connection, actor: Actor, stix_id: str) -> ObjectRow:
        row = repo.get(conn, stix_id)
        if row is None or not actor.may_read(row.tlp, row.created_by):
            raise not_found("Object %(stix_id)s was not found.", stix_id=stix_id)
        if row.revoked:
            raise conflict(
                "%(stix_id)s is revoked; an admin can restore it first.", stix_id=stix_id
            )
        return row

    def new_version_in(
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
        """Keep the current row as a version; ``data`` becomes the current one."""
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
