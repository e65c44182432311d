"""What rules did: the events they raised, and which rule (at which version) gave an
item each of its tags."""

from __future__ import annotations

from typing import Any

from kizashi.model.actor import Actor
from kizashi.services.common import Context, readable_row, reader_of
from kizashi.store import rules as repo


class RuleHistory:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def events(self, actor: Actor, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest rule events about items ``actor`` may read."""
        with self.ctx.store.read() as conn:
            found = repo.list_events(
                conn, kind="rule.matched", limit=limit, reader=reader_of(actor)
            )
        # Store keys are not for callers: an object's pk counts the objects stored before
        # it, those one may not read too. The event's own pk stays, as a cursor.
        return [{k: v for k, v in e.items() if k not in ("object_pk", "rule_pk")} for e in found]

    def provenance(self, actor: Actor, stix_id: str) -> dict[str, dict[str, Any]]:
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            names = {r.pk: r.name for r in repo.all_rules(conn)}
            return {
                tag: {"rule": names.get(rpk) if rpk else None, "rule_version": ver}
                for tag, (rpk, ver) in repo.provenance(conn, row.pk).items()
            }
