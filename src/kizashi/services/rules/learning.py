"""Learned tag suggestions: a model trained on the tags analysts gave, which rules with
an ``auto`` condition use to propose tags, and the analyst's accept or dismiss."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from kizashi.model.actor import Actor
from kizashi.model.errors import invalid, not_found
from kizashi.model.tags import parse_tag
from kizashi.search.documents import body_text
from kizashi.services.common import Context, readable_row
from kizashi.services.rules.matching import NOT_ITEMS
from kizashi.services.rules.ruleset import MODEL
from kizashi.store import rules as repo
from kizashi.store import search as docs_repo

if TYPE_CHECKING:
    from kizashi.services.tags import TagService

#: How many of the newest tagged items a model learns from.
TRAIN_LIMIT = 20_000


class Suggestions:
    def __init__(self, ctx: Context, tags: TagService) -> None:
        self.ctx = ctx
        self.tags = tags

    def train(self, actor: Actor, *, limit: int = TRAIN_LIMIT) -> dict[str, Any]:
        """Learn tag suggestions from the tags analysts gave (not rules, not TLP), on the
        newest ``limit`` tagged items. Rules with an ``auto`` condition then use it."""
        from kizashi.text.analyse import analyse
        from kizashi.text.classify import TagModel, tokens

        actor.require_write()
        with self.ctx.store.read() as conn:
            by_item: dict[int, set[str]] = {}
            for pk, tag in repo.training_rows(conn):
                by_item.setdefault(pk, set()).add(tag)
            pks = sorted(by_item, reverse=True)[:limit]
            rows = docs_repo.documents(conn, pks)
        docs = []
        for pk in pks:
            row = rows.get(pk)
            if row is None or row.revoked or row.type in NOT_ITEMS:
                continue
            docs.append((tokens(analyse(f"{row.name}\n\n{body_text(row)}")), by_item[pk]))
        model = TagModel.train(docs)
        if model is None:
            raise invalid(
                "Too few tagged items to learn from: a tag needs at least 5 items with it "
                "and 5 without it."
            )
        with self.ctx.store.begin() as conn:
            repo.save_model(
                conn,
                MODEL,
                model.dumps(),
                examples=model.examples,
                labels=len(model.tags),
                at=self.ctx.stamp(),
            )
            self.ctx.audit(conn, actor, "rule.train", MODEL, f"{model.examples} items")
        return {"examples": model.examples, "tags": model.tags}

    def pending(self, actor: Actor, stix_id: str) -> builtins.list[dict[str, Any]]:
        """The tags proposed for an item, with their score and the rule that proposed them."""
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            names = {r.pk: r.name for r in repo.all_rules(conn)}
            return [
                {"tag": tag, "score": round(score, 3), "rule": names.get(rpk) if rpk else None}
                for tag, score, rpk in repo.suggestions(conn, row.pk)
            ]

    def decide(self, actor: Actor, stix_id: str, tag: str, *, accept: bool) -> None:
        """Accept (the tag is added, as the analyst's own) or dismiss (never proposed again)."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            row = readable_row(conn, actor, stix_id)
            parsed = parse_tag(tag)
            tag_pk = self.tags.ensure(conn, [parsed])[parsed.name]
            if not repo.decide(
                conn,
                row.pk,
                tag_pk,
                "accepted" if accept else "dismissed",
                actor.user_pk,
                self.ctx.stamp(),
            ):
                raise not_found(
                    "No pending suggestion %(tag)r for %(stix_id)s.", tag=tag, stix_id=stix_id
                )
            if accept:
                self.tags.attach(conn, actor, [row.pk], [parsed])
            self.ctx.audit(
                conn, actor, "suggestion.accept" if accept else "suggestion.dismiss", stix_id, tag
            )
