"""What the index holds for one object: its text as terms, and the fields that filter it.

Text goes through :func:`kizashi.text.analyse.analyse` here and nowhere else on the way in;
queries go through the same function (:mod:`kizashi.search.compile`). Terms reach tantivy
joined by spaces and split again by its whitespace tokenizer, so positions count terms and
phrase queries work on words and on bigrams alike.

The index also keeps what the analysis made of a document's text (:class:`TextFields`,
with a digest of the text). A change that leaves the text alone (a rule run tagging
100,000 items, a TLP marking, a new relationship) rebuilds the document from that, not
from Sudachi again: about 50 times cheaper.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kizashi.model.article import ARTICLE_EXTENSION
from kizashi.store.search import DocRow
from kizashi.text.analyse import analyse_shared, fold, gram_text

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
#: Between a keyword and how often it occurs in a document, in the ``kwc`` field.
TF_MARK = "\x1f"
#: The layout of a stored TextFields; another value is not read (the text is analysed).
TEXT_FIELDS_VERSION = 2


@dataclass(frozen=True)
class IndexDoc:
    """Field values, ready for ``tantivy.Document(**fields)``."""

    fields: dict[str, Any]


def body_text(row: DocRow) -> str:
    """The text an item is searched and counted by. Its STIX ``labels`` that are its
    tags are left out: they are in the ``tag`` field, and as words they ended every
    snippet and led every word cloud (``kizashi:demo`` as "kizashi" and "demo"; UX
    findings 13 and 17). A label Kizashi holds as no tag is text like any other."""
    data = row.data
    tagged = {fold(t) for t in row.tags}
    parts: list[str] = []
    for prop in TEXT_PROPERTIES:
        value = data.get(prop)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(
                str(v)
                for v in value
                if isinstance(v, str) and not (prop == "labels" and fold(v) in tagged)
            )
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


#: Seconds fit 32 signed bits in a sort key: dates outside 1901-12-13 … 2038-01-19 sort
#: at those ends (a feed's "2099" is a typo or a lie; an overflow would refuse the item).
_SECONDS = (-(2**31), 2**31 - 1)


#: The dates tantivy takes (nanoseconds in 64 bits); a date outside is kept at its end
#: (STIX allows years 0001 to 9999: a typo must not keep an item out of the index).
_DATES = (datetime(1678, 1, 1, tzinfo=UTC), datetime(2262, 1, 1, tzinfo=UTC))


def indexable(when: datetime) -> datetime:
    return min(max(when, _DATES[0]), _DATES[1])


def sort_key(when: datetime, pk: int) -> int:
    """Newest-first order with ties broken by pk, in one integer (a keyset cursor)."""
    seconds = min(max(int(when.timestamp()), _SECONDS[0]), _SECONDS[1])
    return (seconds << 32) | (pk & 0xFFFFFFFF)


def recency(when: datetime) -> float:
    """A weight in [0, 0.01]: tantivy multiplies a score by log2(2 + weight), at most
    0.7%, so recency decides between near-equal scores and nothing else."""
    days = (when - _EPOCH_2000).days
    return min(max(days, 0), 36500) / 3_650_000


def digest(title: str, body: str) -> str:
    """What a stored analysis is checked against: the text it was made from."""
    return hashlib.blake2b(f"{title}\x00{body}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class TextFields:
    """What the index takes from an object's title and body, and the digest of both.

    The bigram fields are kept as the Japanese runs they come from (a third of their
    size; rebuilt by one ``map``). Analyser changes that alter terms bump the index's
    ``SCHEMA_VERSION``, which clears the index and with it every stored analysis."""

    digest: str
    title_words: str
    title_runs: list[str]
    body_words: str
    body_runs: list[str]
    iocs: list[str]
    kinds: list[str]
    #: Keywords of title and body (kizashi.text.keywords) and how often each occurs.
    keywords: dict[str, int]
    lang: str | None
    paragraphs: list[tuple[int, int, str | None]]
    #: The stored form this was read from (written back as it is).
    stored: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def of(cls, title: str, body: str) -> TextFields:
        # Usually already analysed by the rules that tagged the item on its way in.
        at = analyse_shared(title)
        ab = analyse_shared(body)
        iocs = [v for v, _, _ in at.indicators] + [v for v, _, _ in ab.indicators]
        return cls(
            digest(title, body),
            " ".join(at.words),
            list(at.runs),
            " ".join(ab.words),
            list(ab.runs),
            list(dict.fromkeys(iocs)),
            sorted(set(at.kinds.values()) | set(ab.kinds.values())),
            dict(Counter(at.keywords() + ab.keywords())),
            ab.language or at.language,
            list(ab.paragraphs),
        )

    def encode(self) -> bytes:
        """The stored form (the language and paragraphs have fields of their own)."""
        if self.stored:
            return self.stored
        data = {
            "v": TEXT_FIELDS_VERSION,
            "d": self.digest,
            "tw": self.title_words,
            "tr": self.title_runs,
            "bw": self.body_words,
            "br": self.body_runs,
            "i": self.iocs,
            "k": self.kinds,
            "kw": self.keywords,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(
        cls, data: bytes, lang: str | None, paragraphs: list[tuple[int, int, str | None]]
    ) -> TextFields | None:
        """The stored form read back; None when it is not one this version wrote."""
        try:
            d = json.loads(data)
            if d.get("v") != TEXT_FIELDS_VERSION:
                return None
            return cls(
                str(d["d"]),
                str(d["tw"]),
                [str(r) for r in d["tr"]],
                str(d["bw"]),
                [str(r) for r in d["br"]],
                [str(v) for v in d["i"]],
                [str(k) for k in d["k"]],
                {str(t): int(n) for t, n in d["kw"].items()},
                lang,
                paragraphs,
                data,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def build(row: DocRow, stored: TextFields | None = None) -> IndexDoc | None:
    """The document for ``row``, or None when it should not be in the index.

    ``stored`` is what the index kept of the row's previous document: its analysis is
    reused when the text is the one it was made from."""
    if row.revoked or row.type in SKIPPED_TYPES:
        return None
    title = row.name or ""
    body = body_text(row)
    if stored is not None and stored.digest == digest(title, body):
        text = stored
    else:
        text = TextFields.of(title, body)
    when = indexable(parse_ts(row.published) or parse_ts(row.created) or _EPOCH_2000)
    source = source_of(row)
    fields: dict[str, Any] = {
        "pk": row.pk,
        "id": row.id,
        "type": row.type,
        "title_w": text.title_words,
        "title_b": gram_text(text.title_runs),
        "body_w": text.body_words,
        "body_b": gram_text(text.body_runs),
        "ioc": text.iocs,
        "ioc_kind": text.kinds,
        "kw": list(text.keywords),
        # How often a keyword occurs, where more than once: term statistics' counts.
        "kwc": [f"{t}{TF_MARK}{n}" for t, n in text.keywords.items() if n > 1],
        "tag": row.tags,
        "tlp": row.tlp or "none",
        "created_by": row.created_by or 0,
        "published": when,
        "recency": recency(when),
        "month": when.year * 12 + when.month - 1,
        "sortkey": sort_key(when, row.pk),
        "paragraphs": json.dumps([list(p) for p in text.paragraphs]).encode(),
        "analysed": text.encode(),
    }
    if source:
        fields["source"] = source
        fields["source_k"] = fold(source)
    if text.lang:
        fields["lang"] = text.lang
    for name in ("created", "modified"):
        ts = parse_ts(getattr(row, name))
        if ts:
            fields[name] = indexable(ts)
    return IndexDoc(fields)
