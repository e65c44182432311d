"""What a summary reads and checks: an item as a provider's input, a collection's subject,
what the inputs mention, and the limits of a request."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kizashi.model.errors import Problem, invalid
from kizashi.search.documents import body_text
from kizashi.services.common import Context
from kizashi.services.summaries.providers import Input
from kizashi.store import mentions as mention_repo
from kizashi.store import search as docs_repo
from kizashi.text.language import detect

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
    # A known malware, tool or group named in the text (the gazetteer): not an IoC.
    "name": "names",
}


def mentions(ctx: Context, pks: list[int]) -> dict[str, list[str]]:
    """What the inputs mention, commonest first: indicators, CVEs, ATT&CK techniques,
    the known malware, tools and groups they name (from extraction) and actors (from
    their tags)."""
    with ctx.store.read() as conn:
        found = mention_repo.values_in_reports(conn, pks)
        tags = docs_repo.documents(conn, pks) if pks else {}
    counts: dict[str, dict[str, int]] = {
        "indicators": {},
        "vulnerabilities": {},
        "attack": {},
        "actors": {},
        "names": {},
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


def check_language(language: str | None) -> None:
    if language is not None and language not in LANGUAGES:
        raise invalid(
            "The output language is one of %(choices)s.",
            [Problem("language", language)],
            choices=", ".join(LANGUAGES),
        )


def budget_of(budget: int, default: int) -> int:
    budget = budget or default
    if not 50 <= budget <= MAX_BUDGET:
        raise invalid(
            "The budget is 50 to %(max)s characters.",
            [Problem("budget", str(budget))],
            max=MAX_BUDGET,
        )
    return budget


def input_of(row: docs_repo.DocRow) -> Input:
    text = body_text(row)
    title = row.name or ""
    lang = row.data.get("lang")
    if not isinstance(lang, str) or lang not in LANGUAGES:
        # Not said, or "mixed": the scripts decide (Japanese with English terms is "ja").
        found = detect(f"{title}\n{text}")
        lang = "ja" if found == "mixed" else found
    return Input(
        row.id,
        digest([title, text, row.modified, sorted(row.tags)])[:16],
        title,
        text,
        row.published,
        lang,
    )


def subject_of(query: str, since: str | None, until: str | None) -> str:
    parts = [query.strip()] if query.strip() else []
    if since or until:
        parts.append(f"published:{since or ''}..{until or ''}")
    return " ".join(parts)


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()
