"""Summaries of one article, or of a collection (everything a search selects over a
period: a tag, a keyword, a source, a saved query), with citations.

A provider makes the text; this service chooses the inputs, cites them, lists what they
mention (indicators, CVEs, actors), and keeps the result until the inputs change. The
default provider, ``extractive`` (:mod:`kizashi.text.summarise`), needs no model and no
network, so every installation has summaries; an LLM provider is the next step and
plugs in behind the same :class:`Provider` interface.

A stored summary names how it was made (provider, model, method or template version,
the ids and versions of its inputs, when), so it can be traced and made again; it is
reused while the same inputs in the same versions would be read again (the digest), and
made afresh when one changed, was added or was withdrawn.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, invalid, not_found
from kizashi.search.documents import body_text
from kizashi.services import llm
from kizashi.services.analytics import selection
from kizashi.services.common import Context
from kizashi.services.objects import ObjectService
from kizashi.services.search import SearchService, access_for
from kizashi.services.summary_providers import (
    Extractive,
    Input,
    Made,
    OpenAICompatible,
    Progress,
    Provider,
    language_of,
)
from kizashi.store import mentions as mention_repo
from kizashi.store import objects as object_repo
from kizashi.store import search as docs_repo
from kizashi.store import summaries as repo
from kizashi.text import summarise as ex
from kizashi.text.language import detect

log = logging.getLogger(__name__)

ARTICLE_BUDGET = 400
COLLECTION_BUDGET = 1200
MAX_BUDGET = 8000
#: The newest items of a selection a collection summary reads, at most (an LLM reads
#: them in as many parts as its context needs, then merges the parts).
MAX_ARTICLES = 1000
LANGUAGES = ("ja", "en")
#: A background summary writes its progress at most this often (seconds).
PROGRESS_EVERY = 0.5
#: Tag namespaces that name threat actors.
_ACTOR_TAGS = ("actor:", "threat-actor:", 'misp-galaxy:threat-actor="')
#: Where an extracted mention is listed (every other kind is an indicator).
_BUCKETS = {
    "cve": "vulnerabilities",
    "jvn": "vulnerabilities",
    "attack-technique": "attack",
    "attack-tactic": "attack",
    "attack-software": "attack",
    "attack-group": "actors",
}


@dataclass(frozen=True)
class Citation:
    n: int
    id: str
    title: str
    published: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "id": self.id, "title": self.title, "published": self.published}


@dataclass(frozen=True)
class Statement:
    text: str
    cites: tuple[int, ...]  # citation numbers

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "cites": list(self.cites)}


@dataclass
class Summary:
    kind: str  # "article" | "collection"
    subject: str  # the article's id, or the selection as a query
    provider: str
    model: str | None
    template_version: str
    statements: list[Statement]
    points: list[Statement]
    citations: list[Citation]
    mentions: dict[str, list[str]]
    inputs: list[dict[str, Any]]
    created: str
    considered: int = 0
    cached: bool = False
    note: str | None = None
    language: str | None = None
    #: The requested provider failed; this is the extractive summary (``note`` says why).
    fallback: bool = False

    @property
    def summary(self) -> str:
        return ex.join([s.text for s in self.statements])

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "summary": self.summary,
            "statements": [s.as_dict() for s in self.statements],
            "points": [p.as_dict() for p in self.points],
            "citations": [c.as_dict() for c in self.citations],
            "mentions": self.mentions,
            "provider": self.provider,
            "model": self.model,
            "template_version": self.template_version,
            "language": self.language,
            "inputs": self.inputs,
            "considered": self.considered,
            "created": self.created,
            "cached": self.cached,
            "fallback": self.fallback,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Summary:
        def st(x: dict[str, Any]) -> Statement:
            return Statement(x["text"], tuple(x["cites"]))

        return cls(
            kind=d["kind"],
            subject=d["subject"],
            provider=d["provider"],
            model=d["model"],
            template_version=d["template_version"],
            statements=[st(x) for x in d["statements"]],
            points=[st(x) for x in d["points"]],
            citations=[Citation(**c) for c in d["citations"]],
            mentions=d["mentions"],
            inputs=d["inputs"],
            created=d["created"],
            considered=d.get("considered", 0),
            note=d.get("note"),
            language=d.get("language"),
        )


@dataclass(frozen=True)
class SummaryRequest:
    """What to summarise: ``id`` (one item) or a selection (``query``, dates)."""

    id: str | None = None
    query: str = ""
    since: str | None = None
    until: str | None = None
    provider: str = "extractive"
    budget: int = 0
    limit: int = MAX_ARTICLES
    language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class JobView:
    id: int
    status: str  # queued | running | done | failed
    done: int
    total: int
    summary: dict[str, Any] | None
    error: str | None
    request: dict[str, Any]
    created: str
    finished: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SummaryService:
    def __init__(
        self,
        ctx: Context,
        objects: ObjectService,
        search: SearchService,
        llm_config: llm.LLMConfig | None = None,
    ) -> None:
        self.ctx = ctx
        self.objects = objects
        self.search = search
        self.extractive = Extractive()
        self.providers: dict[str, Provider] = {"extractive": self.extractive}
        if llm_config is not None:
            self.providers["openai"] = OpenAICompatible(llm_config)

    def _provider(self, name: str) -> Provider:
        found = self.providers.get(name)
        if found is None:
            raise invalid(
                f"No summary provider {name!r} here; this installation has: "
                + ", ".join(sorted(self.providers))
                + ".",
                [Problem("provider", name)],
            )
        return found

    # -- what is summarised ----------------------------------------------------------

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
        budget = _budget(budget, ARTICLE_BUDGET)
        view = self.objects.get(actor, stix_id)  # not found, or revoked: an error here
        with self.ctx.store.read() as conn:
            row = object_repo.get(conn, stix_id)
            rows = docs_repo.documents(conn, [row.pk]) if row else {}
        inputs = [_input(r) for r in rows.values()]
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
        budget = _budget(budget, COLLECTION_BUDGET)
        if not 1 <= limit <= MAX_ARTICLES:
            raise invalid(f"limit is between 1 and {MAX_ARTICLES}.", [Problem("limit", str(limit))])
        expr = selection(query, since, until)
        if self.search.sync_on_query:
            self.search.follower.catch_up(wait=2.0)
        page = self.search.index.search(expr, access_for(actor), sort="newest", limit=limit)
        pks = [h.pk for h in page.hits]
        with self.ctx.store.read() as conn:
            rows = docs_repo.documents(conn, pks)
        ordered = [rows[pk] for pk in pks if pk in rows]
        subject = _subject(query, since, until)
        inputs = [_input(r) for r in ordered]
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

    # -- making, or finding made --------------------------------------------------------

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
        provider = self._provider(provider_name)
        _check_language(language)
        lang = language or language_of(inputs) or "ja"
        version = provider.version(kind, lang)
        key = _digest([kind, subject, provider.name, budget, lang])
        inputs_digest = _digest([version, [(i.id, i.digest) for i in inputs]])
        with self.ctx.store.read() as conn:
            found = repo.get(conn, key)
        if found is not None and found.inputs_digest == inputs_digest:
            summary = Summary.from_dict(json.loads(found.body))
            summary.cached = True
            return summary
        fallback: str | None = None
        if not inputs:
            made = Made([], [], 0, note="Nothing to summarise: the selection is empty.")
        else:
            try:
                made = provider.summarise(kind, inputs, budget, lang, progress)
            except llm.LLMError as exc:
                # Said to the user; the reason holds no secret (see kizashi.services.llm).
                fallback = f"The {provider.name} provider gave no summary ({exc})."
                log.warning("summary of %s: %s; extractive instead", subject[:200], exc)
                made = self.extractive.summarise(kind, inputs, budget, lang, progress)
                provider, version = self.extractive, self.extractive.version(kind, lang)
        citations, numbering = _citations(inputs, made)
        notes = [n for n in (fallback, made.note) if n]
        summary = Summary(
            kind=kind,
            subject=subject,
            provider=provider.name,
            model=made.model,
            template_version=version,
            statements=[Statement(t, tuple(numbering[i] for i in c)) for t, c in made.statements],
            points=[Statement(t, tuple(numbering[i] for i in c)) for t, c in made.points],
            citations=citations,
            mentions=self._mentions(pks),
            inputs=[{"id": i.id, "digest": i.digest} for i in inputs],
            created=self.ctx.stamp(),
            considered=made.considered,
            note=" ".join(notes) or None,
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

    # -- in the background -------------------------------------------------------------

    def make(
        self, actor: Actor, request: SummaryRequest, progress: Progress | None = None
    ) -> Summary:
        """:meth:`article` or :meth:`collection`, as ``request`` says."""
        if request.id:
            return self.article(
                actor,
                request.id,
                provider=request.provider,
                budget=request.budget,
                language=request.language,
                progress=progress,
            )
        return self.collection(
            actor,
            request.query,
            since=request.since,
            until=request.until,
            provider=request.provider,
            budget=request.budget,
            limit=request.limit,
            language=request.language,
            progress=progress,
        )

    def start(self, actor: Actor, request: SummaryRequest) -> JobView:
        """Make the summary in a thread; follow it with :meth:`job`. What is wrong with the
        request itself (a provider, a budget, a language) is said here, before anything
        starts."""
        pk = self.new_job(actor, request)
        thread = threading.Thread(
            target=self.run_job,
            args=(actor, pk, request),
            name=f"kizashi-summary-{pk}",
            daemon=True,
        )
        thread.start()
        return self.job(actor, pk)

    def new_job(self, actor: Actor, request: SummaryRequest) -> int:
        """A queued job for ``request`` (checked first); :meth:`run_job` makes it."""
        self.check(request)
        asked = json.dumps(request.as_dict())
        with self.ctx.store.begin() as conn:
            return repo.new_job(conn, asked, actor.user_pk, self.ctx.stamp())

    def check(self, request: SummaryRequest) -> None:
        """What is wrong with ``request`` itself: its provider, budget or language."""
        self._provider(request.provider)
        _budget(request.budget, ARTICLE_BUDGET)
        _check_language(request.language)

    def run_job(self, actor: Actor, pk: int, request: SummaryRequest) -> None:
        """Make job ``pk``'s summary here and now, its progress and result in the job."""
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done < total and now - last[0] < PROGRESS_EVERY:
                return
            last[0] = now
            with self.ctx.store.begin() as conn:
                repo.update_job(conn, pk, done=done, total=total)

        with self.ctx.store.begin() as conn:
            repo.update_job(conn, pk, status="running")
        result: str | None = None
        error: str | None = None
        try:
            made = self.make(actor, request, progress)
        except KizashiError as exc:
            status, error = "failed", exc.message
        except Exception:
            log.exception("summary job %s failed", pk)
            status, error = "failed", "The summary could not be made (see the server's log)."
        else:
            status, result = "done", json.dumps(made.as_dict(), ensure_ascii=False)
        with self.ctx.store.begin() as conn:
            repo.update_job(
                conn, pk, status=status, result=result, error=error, finished_at=self.ctx.stamp()
            )

    def job(self, actor: Actor, pk: int) -> JobView:
        """A background summary's state, for whoever asked for it (and admins): the
        summary read what they may read, which is not for everyone."""
        with self.ctx.store.read() as conn:
            row = repo.get_job(conn, pk)
        if row is None or (row.requested_by != actor.user_pk and not actor.is_admin):
            raise not_found(f"Summary job {pk}")
        return JobView(
            row.pk,
            row.status,
            row.done,
            row.total,
            json.loads(row.result) if row.result else None,
            row.error,
            json.loads(row.request),
            row.created_at,
            row.finished_at,
        )

    def wait(self, actor: Actor, pk: int, timeout: float = 60.0) -> JobView:
        """:meth:`job` once it is done or failed (or ``timeout`` seconds have passed)."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.job(actor, pk)
            if view.status in ("done", "failed") or time.monotonic() > deadline:
                return view
            time.sleep(0.05)

    def _mentions(self, pks: list[int]) -> dict[str, list[str]]:
        """What the inputs mention, commonest first: indicators, CVEs, ATT&CK techniques
        (from extraction) and actors (from their tags)."""
        with self.ctx.store.read() as conn:
            found = mention_repo.values_in_reports(conn, pks)
            tags = docs_repo.documents(conn, pks) if pks else {}
        counts: dict[str, dict[str, int]] = {
            "indicators": {},
            "vulnerabilities": {},
            "attack": {},
            "actors": {},
        }
        for _, kind, value in found:
            bucket = counts[_BUCKETS.get(kind, "indicators")]
            bucket[value] = bucket.get(value, 0) + 1
        for row in tags.values():
            for t in row.tags:
                for prefix in _ACTOR_TAGS:
                    if t.startswith(prefix):
                        name = t[len(prefix) :].rstrip('"')
                        counts["actors"][name] = counts["actors"].get(name, 0) + 1
        return {k: _commonest(v) for k, v in counts.items()}


def _commonest(counts: dict[str, int], n: int = 50) -> list[str]:
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _check_language(language: str | None) -> None:
    if language is not None and language not in LANGUAGES:
        raise invalid(
            f"The output language is one of {', '.join(LANGUAGES)}.",
            [Problem("language", language)],
        )


def _budget(budget: int, default: int) -> int:
    budget = budget or default
    if not 50 <= budget <= MAX_BUDGET:
        raise invalid(
            f"The budget is 50 to {MAX_BUDGET} characters.", [Problem("budget", str(budget))]
        )
    return budget


def _input(row: docs_repo.DocRow) -> Input:
    text = body_text(row)
    title = row.name or ""
    lang = row.data.get("lang")
    if not isinstance(lang, str) or lang not in LANGUAGES:
        # Not said, or "mixed": the scripts decide (Japanese with English terms is "ja").
        found = detect(f"{title}\n{text}")
        lang = "ja" if found == "mixed" else found
    return Input(
        row.id,
        _digest([title, text, row.modified, sorted(row.tags)])[:16],
        title,
        text,
        row.published,
        lang,
    )


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


def _subject(query: str, since: str | None, until: str | None) -> str:
    parts = [query.strip()] if query.strip() else []
    if since or until:
        parts.append(f"published:{since or ''}..{until or ''}")
    return " ".join(parts)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()
