"""What the index holds for one object: its text as terms, and the fields that filter it.

Text goes through :func:`kizashi.text.analyse.analyse` here and nowhere else on the way in;
queries go through the same function (:mod:`kizashi.search.compile`). Terms reach tantivy
joined by spaces and split again by its whitespace tokenizer, so positions count terms and
phrase queries work on words and on bigrams alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kizashi.model.article import ARTICLE_EXTENSION
from kizashi.store.search import DocRow
from kizashi.text.analyse import analyse_shared, fold

#: Objects that are plumbing, not intelligence: never indexed.
SKIPPED_TYPES = frozenset({"marking-definition", "extension-definition", "relationship"})
#: Text properties read into an object's body, in this order.
TEXT_PROPERTIES = (
    "description",
    "abstract",
    "content",
    "explanation",
    "pattern",
    "aliases",
    "x_mitre_aliases",
    "roles",
    "sectors",
    "goals",
    "labels",
)
_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IndexDoc:
    """Field values, ready for ``tantivy.Document(**fields)``."""

    fields: dict[str, Any]


def body_text(row: DocRow) -> str:
    data = row.data
    parts: list[str] = []
    for prop in TEXT_PROPERTIES:
        value = data.get(prop)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(str(v) for v in value if isinstance(v, str))
    if row.value and row.value != row.name:
        parts.append(row.value)
    return "\n\n".join(parts)


def source_of(row: DocRow) -> str | None:
    ext = row.data.get("extensions", {}).get(ARTICLE_EXTENSION, {})
    if ext.get("feed_title"):
        return str(ext["feed_title"])
    for ref in row.data.get("external_references", []) or []:
        if isinstance(ref, dict) and ref.get("source_name"):
            return str(ref["source_name"])
    return row.author_name


def parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def sort_key(when: datetime, pk: int) -> int:
    """Newest-first order with ties broken by pk, in one integer (a keyset cursor)."""
    return (int(when.timestamp()) << 32) | (pk & 0xFFFFFFFF)


def recency(when: datetime) -> float:
    """A weight in [0, 0.01]: tantivy multiplies a score by log2(2 + weight), at most
    0.7%, so recency decides between near-equal scores and nothing else."""
    days = (when - _EPOCH_2000).days
    return min(max(days, 0), 36500) / 3_650_000


def build(row: DocRow) -> IndexDoc | None:
    """The document for ``row``, or None when it should not be in the index."""
    if row.revoked or row.type in SKIPPED_TYPES:
        return None
    title = row.name or ""
    body = body_text(row)
    # Usually already analysed by the rules that tagged the item on its way in.
    at = analyse_shared(title)
    ab = analyse_shared(body)
    iocs = list(dict.fromkeys([v for v, _, _ in at.indicators] + [v for v, _, _ in ab.indicators]))
    kinds = sorted(set(at.kinds.values()) | set(ab.kinds.values()))
    when = parse_ts(row.published) or parse_ts(row.created) or _EPOCH_2000
    source = source_of(row)
    lang = ab.language or at.language
    fields: dict[str, Any] = {
        "pk": row.pk,
        "id": row.id,
        "type": row.type,
        "title_w": " ".join(at.words),
        "title_b": at.gram_text(),
        "body_w": " ".join(ab.words),
        "body_b": ab.gram_text(),
        "ioc": iocs,
        "ioc_kind": kinds,
        "tag": row.tags,
        "tlp": row.tlp or "none",
        "created_by": row.created_by or 0,
        "published": when,
        "recency": recency(when),
        "month": when.year * 12 + when.month - 1,
        "sortkey": sort_key(when, row.pk),
        "paragraphs": json.dumps([list(p) for p in ab.paragraphs]).encode(),
    }
    if source:
        fields["source"] = source
        fields["source_k"] = fold(source)
    if lang:
        fields["lang"] = lang
    for name in ("created", "modified"):
        ts = parse_ts(getattr(row, name))
        if ts:
            fields[name] = ts
    return IndexDoc(fields)
