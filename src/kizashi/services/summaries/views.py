"""What the summary service answers: a summary with its citations, a request, a job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kizashi.model.errors import Text
from kizashi.services.summaries.inputs import MAX_ARTICLES
from kizashi.text import summarise as ex


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
    #: What a reader should know about how it was made, in English (the API's ``note``);
    #: ``notes`` are the same phrases, for a page to say in its reader's language.
    note: str | None = None
    language: str | None = None
    #: The requested provider failed; this is the extractive summary (``note`` says why).
    fallback: bool = False
    notes: list[Text] = field(default_factory=list)

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
            "notes": [{"template": n.template, "values": dict(n.values)} for n in self.notes],
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
            # Summaries kept before notes were phrases have the English note alone.
            notes=[Text(n["template"], n.get("values") or {}) for n in d["notes"]]
            if "notes" in d
            else [Text(d["note"])]
            if d.get("note")
            else [],
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
