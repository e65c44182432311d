"""Making a summary, or finding it made: the provider writes it, this part numbers the
citations, lists the mentions, and keeps the result until the inputs change."""

from __future__ import annotations

import json
import logging

from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, Text, invalid
from kizashi.services import llm
from kizashi.services.analytics import selection
from kizashi.services.common import Context
from kizashi.services.objects import ObjectService
from kizashi.services.search import SearchService, access_for
from kizashi.services.summaries.inputs import (
    ARTICLE_BUDGET,
    COLLECTION_BUDGET,
    MAX_ARTICLES,
    budget_of,
    check_language,
    digest,
    input_of,
    mentions,
    subject_of,
)
from kizashi.services.summaries.providers import (
    Extractive,
    Input,
    Made,
    Progress,
    Provider,
    language_of,
)
from kizashi.services.summaries.views import Citation, Statement, Summary
from kizashi.store import objects as object_repo
from kizashi.store import search as docs_repo
from kizashi.store import summaries as repo

log = logging.getLogger(__name__)


class SummaryMaker:
    """Summaries by the ``providers`` (by name); the extractive one is the fallback when
    another fails, and needs no model."""

    def __init__(
        self, ctx: Context, objects: ObjectService, search: SearchService, providers: list[Provider]
    ) -> None:
        self.ctx = ctx
        self.objects = objects
        self.search = search
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        found = self.providers.get("extractive")
        self.extractive = found if isinstance(found, Extractive) else Extractive()

    def provider(self, name: str) -> Provider:
        found = self.providers.get(name)
        if found is None:
            raise invalid(
                "No summary provider %(name)r here; this installation has: %(providers)s.",
                [Problem("provider", name)],
                name=name,
                providers=", ".join(sorted(self.providers)),
            )
        return found

    def article(
        self,
        actor: Actor,
        stix_id: str,
        *,
        provider: str = "extractive",
        budget: int = 0,
        language: str | None = None,
        progress: Progress | None = None,
    ) -> Summary:
        """A summary of one stored item (its title and text) and its key points, in
        ``language`` (``ja`` or ``en``; default: the item's own)."""
        budget = budget_of(budget, ARTICLE_BUDGET)
        view = self.objects.get(actor, stix_id)  # not found, or revoked: an error here
        with self.ctx.store.read() as conn:
            row = object_repo.get(conn, stix_id)
            rows = docs_repo.documents(conn, [row.pk]) if row else {}
        inputs = [input_of(r) for r in rows.values()]
        return self._made(
            actor, "article", view.id, inputs, list(rows), provider, budget, language, progress
        )

    def collection(
        self,
        actor: Actor,
        query: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        provider: str = "extractive",
        budget: int = 0,
        limit: int = MAX_ARTICLES,
        language: str | None = None,
        progress: Progress | None = None,
    ) -> Summary:
        """A summary of the newest ``limit`` items a search selects over a period, each
        statement citing the items it came from."""
        budget = budget_of(budget, COLLECTION_BUDGET)
        if not 1 <= limit <= MAX_ARTICLES:
            raise invalid(
                "limit is between 1 and %(max)s.", [Problem("limit", str(limit))], max=MAX_ARTICLES
            )
        expr = selection(query, since, until)
        if self.search.sync_on_query:
            self.search.follower.catch_up(wait=2.0)
        page = self.search.index.search(expr, access_for(actor), sort="newest", limit=limit)
        pks = [h.pk for h in page.hits]
        with self.ctx.store.read() as conn:
            rows = docs_repo.documents(conn, pks)
        ordered = [rows[pk] for pk in pks if pk in rows]
        subject = subject_of(query, since, until)
        inputs = [input_of(r) for r in ordered]
        return self._made(
            actor,
            "collection",
            subject,
            inputs,
            [r.pk for r in ordered],
            provider,
            budget,
            language,
            progress,
        )

    def _made(
        self,
        actor: Actor,
        kind: str,
        subject: str,
        inputs: list[Input],
        pks: list[int],
        provider_name: str,
        budget: int,
        language: str | None,
        progress: Progress | None = None,
    ) -> Summary:
        provider = self.provider(provider_name)
        check_language(language)
        lang = language or language_of(inputs) or "ja"
        version = provider.version(kind, lang)
        key = digest([kind, subject, provider.name, budget, lang])
        inputs_digest = digest([version, [(i.id, i.digest) for i in inputs]])
        with self.ctx.store.read() as conn:
            found = repo.get(conn, key)
        if found is not None and found.inputs_digest == inputs_digest:
            summary = Summary.from_dict(json.loads(found.body))
            summary.cached = True
            return summary
        fallback: Text | None = None
        if not inputs:
            made = Made([], [], 0, note=Text("Nothing to summarise: the selection is empty."))
        else:
            try:
                made = provider.summarise(kind, inputs, budget, lang, progress)
            except llm.LLMError as exc:
                # Said to the user; the reason holds no secret (see kizashi.services.llm).
                fallback = Text(
                    "The %(provider)s provider gave no summary (%(reason)s).",
                    {"provider": provider.name, "reason": str(exc)},
                )
                log.warning("summary of %s: %s; extractive instead", subject[:200], exc)
                made = self.extractive.summarise(kind, inputs, budget, lang, progress)
                provider, version = self.extractive, self.extractive.version(kind, lang)
        citations, numbering = _citations(inputs, made)
        notes = [n if isinstance(n, Text) else Text(n) for n in (fallback, made.note) if n]
        summary = Summary(
            kind=kind,
            subject=subject,
            provider=provider.name,
            model=made.model,
            template_version=version,
            statements=[Statement(t, tuple(numbering[i] for i in c)) for t, c in made.statements],
            points=[Statement(t, tuple(numbering[i] for i in c)) for t, c in made.points],
            citations=citations,
            mentions=mentions(self.ctx, pks),
            inputs=[{"id": i.id, "digest": i.digest} for i in inputs],
            created=self.ctx.stamp(),
            considered=made.considered,
            note=" ".join(str(n) for n in notes) or None,
            notes=notes,
            language=made.language,
            fallback=fallback is not None,
        )
        if fallback is None:  # a fallback is not kept: the next request asks the model again
            row = repo.SummaryRow(
                key,
                kind,
                subject,
                provider.name,
                made.model,
                version,
                inputs_digest,
                json.dumps(summary.as_dict(), ensure_ascii=False),
                summary.created,
            )
            with self.ctx.store.begin() as conn:
                repo.put(conn, row, actor.user_pk)
        return summary


def _citations(inputs: list[Input], made: Made) -> tuple[list[Citation], dict[int, int]]:
    """The cited inputs numbered 1, 2, … in order of first citation."""
    numbering: dict[int, int] = {}
    for _, cites in [*made.statements, *made.points]:
        for i in cites:
            numbering.setdefault(i, len(numbering) + 1)
    citations = [
        Citation(n, inputs[i].id, inputs[i].title, inputs[i].published)
        for i, n in sorted(numbering.items(), key=lambda kv: kv[1])
    ]
    return citations, numbering
