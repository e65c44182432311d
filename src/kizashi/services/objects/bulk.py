"""Tagging many objects at once: add tags, remove tags, set the TLP level of a selection.

Each object goes through the tag service as one tagged by hand would (access, exclusive
TLP tags, rules' suppressions, the audit log), one object after another: an object one
may not read is refused and counted, the others still change. Everything that could
refuse the whole request (the role, the tag names, the level) is checked before the
first object changes, so a request is refused whole or carried out object by object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, invalid
from kizashi.services.common import Context
from kizashi.services.objects.reading import ObjectReader
from kizashi.services.objects.views import checked_level
from kizashi.services.tags import TagService, canonical

#: How many objects one request may name (a list page shows at most 500).
MAX_BULK = 500


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one object: ``changed``, ``unchanged`` (it already was as
    asked), ``not_found`` (missing, or not for this user: the two look alike) or
    ``failed`` (``message`` says why)."""

    id: str
    status: str
    tags: list[str] = field(default_factory=list)
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "tags": self.tags, "message": self.message}


@dataclass(frozen=True)
class BulkReport:
    results: list[BulkOutcome]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def changed(self) -> int:
        return self.count("changed")

    @property
    def refused(self) -> int:
        """Objects left as they were because they could not be changed."""
        return self.count("not_found") + self.count("failed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "unchanged": self.count("unchanged"),
            "refused": self.refused,
            "results": [r.as_dict() for r in self.results],
        }


class BulkTagger:
    def __init__(self, ctx: Context, reader: ObjectReader, tags: TagService) -> None:
        self.ctx = ctx
        self.reader = reader
        self.tags = tags

    def retag(
        self,
        actor: Actor,
        ids: Sequence[str],
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        tlp: str | None = None,
    ) -> BulkReport:
        """Add ``add``, take off ``remove`` and mark ``tlp`` (a level) on each of ``ids``."""
        actor.require_write()
        wanted = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        if not wanted:
            raise invalid("Select at least one object.", [Problem("ids", "none selected")])
        if len(wanted) > MAX_BULK:
            raise invalid(
                "At most %(n)s objects at a time.", [Problem("ids", "too many")], n=MAX_BULK
            )
        level = checked_level(tlp) if tlp else None
        adding, removing = self._names(add, remove)
        if not (adding or removing or level):
            raise invalid("Nothing to do: give tags to add or remove, or a TLP level.")
        views = self.reader.get_many(actor, wanted)
        results = []
        for stix_id in wanted:
            view = views.get(stix_id)
            if view is None:
                results.append(BulkOutcome(stix_id, "not_found"))
                continue
            before = sorted(view.tags)
            plus = [t for t in adding if t not in before]
            if level and view.tlp != level:
                plus.append(f"tlp:{level}")
            minus = [t for t in removing if t in before]
            try:
                after = self.tags.tag(actor, stix_id, plus) if plus else before
                after = self.tags.untag(actor, stix_id, minus) if minus else after
            except KizashiError as exc:
                status = "not_found" if exc.code == "not_found" else "failed"
                results.append(BulkOutcome(stix_id, status, before, exc.message))
                continue
            status = "changed" if after != before else "unchanged"
            results.append(BulkOutcome(stix_id, status, after))
        return BulkReport(results)

    def _names(self, add: Sequence[str], remove: Sequence[str]) -> tuple[list[str], list[str]]:
        """The tags to add and to remove, checked (and spelt as stored) before anything
        changes: a bad name refuses the request, not the objects one by one."""
        with self.ctx.store.read() as conn:
            adding = [t.name for t in self.tags.parse(conn, [a for a in add if a.strip()])]
        removing = [canonical(r) for r in remove if r.strip()]
        both = sorted(set(adding) & set(removing))
        if both:
            raise invalid(
                "A tag cannot be added and removed at once: %(tags)s",
                [Problem("remove_tags", t) for t in both],
                tags=", ".join(both),
            )
        if any(t.startswith("tlp:") for t in adding):
            raise invalid(
                "Set the TLP level with its own field, not as a tag to add.",
                [Problem("add_tags", "a tlp: tag")],
            )
        return adding, list(dict.fromkeys(removing))
