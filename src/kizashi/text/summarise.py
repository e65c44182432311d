"""Extractive summaries: the sentences of one text, or of many, that best stand for it.

The offline default of the summaries (no model, nothing to download), so a summary exists
the moment an article is stored. The method is TextRank (Mihalcea and Tarau, 2004) over
the project's own analysis:

- **Sentences** come from ``sentencex`` (Wikimedia's segmenter: ``。！？`` and the English
  rules with their abbreviations, ``e.g.``, ``U.S.``, ``1.5`` left whole), with their
  offsets, so every sentence of a summary is a span of its source.
- **A sentence's terms** are what analytics counts (:meth:`Analysis.keywords`: Japanese
  noun compounds in dictionary form, English noun lemmas and names) plus the indicators
  it names: a sentence with the C2 address says something a sentence of function words
  does not.
- **Similarity** of two sentences is their shared terms over the logs of their sizes
  (TextRank's own measure), and a sentence's weight is its PageRank in that graph,
  personalised towards sentences that share terms with the title and towards the start
  (news and advisories say the main thing first).
- **Selection** takes sentences by weight, skips one too like a sentence already taken
  (Jaccard of terms above :data:`REDUNDANT`, maximal marginal relevance's simplest form)
  and stops at the length budget; the summary reads in the sources' order.

``sumy`` was considered: its tokenisers are its own (NLTK's, whose data it downloads),
where this reads the analyser's, the same words search and analytics use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kizashi.text.analyse import analyse

#: Sentences under this many letters or digits are not candidates (headings, "詳細は…").
MIN_CHARS = 12
#: Sentences over this many characters are cut for reading (a table flattened to text).
MAX_SENTENCE = 600
#: Two sentences sharing more than this share of their terms: the second says nothing new.
REDUNDANT = 0.5
DAMPING = 0.85
ITERATIONS = 60
#: Candidates per document in a collection's first pass (its "map" step).
PER_DOCUMENT = 6
_LETTER = re.compile(r"[^\W_]", re.UNICODE)
_KANA_KANJI = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_LINE = re.compile(r"[^\n]+")
#: A line shorter than this that does not end like a sentence is a heading.
HEADING = 40
_ENDED = re.compile(r"[。！？.!?」』）)\]\"”]$")


@dataclass(frozen=True)
class Source:
    """One document to summarise: its title (not a candidate, but what it is about)."""

    title: str
    text: str
    #: The caller's handle (a STIX id), carried to the sentences as their citation.
    ref: str = ""


@dataclass
class Sentence:
    text: str
    start: int  # offsets in the source's text
    end: int
    source: int  # index of the source
    position: int  # index of the sentence in its source
    terms: frozenset[str] = field(default_factory=frozenset, repr=False)
    score: float = 0.0


@dataclass(frozen=True)
class Extract:
    #: The chosen sentences in reading order (source, then position).
    sentences: list[Sentence]
    #: The same, best first: key points.
    ranked: list[Sentence]
    budget: int
    #: Every candidate of the last ranking, best first (a collection's: the map step's).
    pool: list[Sentence]
    #: Candidate sentences read in all.
    considered: int

    @property
    def text(self) -> str:
        return join([s.text for s in self.sentences])

    def points(self, n: int = 3) -> list[Sentence]:
        return self.ranked[:n]


def join(parts: Sequence[str]) -> str:
    """Sentences as one text: Japanese ones run on, others take a space."""
    out = ""
    for p in parts:
        if out and not (_KANA_KANJI.search(out[-1]) or out.endswith(("。", "」", "）"))):
            out += " "
        out += p
    return out


def split(text: str) -> list[tuple[str, int, int]]:
    """(sentence, start, end) of ``text``, stripped, with their offsets. A line break
    ends a sentence too: in articles it ends a heading, a list item or a paragraph."""
    import sentencex

    lang = "ja" if _KANA_KANJI.search(text) else "en"
    out = []
    for line in _LINE.finditer(text):
        base = line.start()
        for b in sentencex.get_sentence_boundaries(lang, line.group()):
            start, end = int(b["start_index"]), int(b["end_index"])
            raw = line.group()[start:end]
            lead = len(raw) - len(raw.lstrip())
            body = raw.strip()
            if body:
                out.append((body, base + start + lead, base + start + lead + len(body)))
    return out


def candidates(source: Source, index: int) -> list[Sentence]:
    out = []
    for position, (whole, start, stop) in enumerate(split(source.text)):
        if len(_LETTER.findall(whole)) < MIN_CHARS:
            continue
        if len(whole) < HEADING and not _ENDED.search(whole):
            continue  # a heading, a caption, a list item's few words
        body, end = whole, stop
        if len(whole) > MAX_SENTENCE:
            body, end = whole[: MAX_SENTENCE - 1] + "…", start + MAX_SENTENCE - 1
        out.append(Sentence(body, start, end, index, position, terms_of(body)))
    return out


def terms_of(text: str) -> frozenset[str]:
    a = analyse(text)
    return frozenset([*a.keywords(), *(v for v, _, _ in a.indicators)])


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    if not shared:
        return 0.0
    return shared / (math.log(1 + len(a)) + math.log(1 + len(b)))


def rank(sentences: Sequence[Sentence], focus: frozenset[str] = frozenset()) -> None:
    """Set each sentence's ``score``: PageRank of the similarity graph, personalised
    towards the ``focus`` terms (a title's) and the start of each source."""
    import numpy as np

    n = len(sentences)
    if n == 0:
        return
    weights = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            w = similarity(sentences[i].terms, sentences[j].terms)
            weights[i, j] = weights[j, i] = w
    prefer = np.array(
        [
            1.0
            + (2.0 * len(s.terms & focus) / len(focus) if focus else 0.0)
            + 1.0 / (1 + s.position)
            for s in sentences
        ]
    )
    prefer /= prefer.sum()
    degree = weights.sum(axis=1)[:, None]
    # A sentence with no neighbour gives its weight to the preferred ones.
    transition = np.divide(weights, degree, out=np.zeros_like(weights), where=degree > 0)
    dangling = degree[:, 0] == 0
    score = np.full(n, 1.0 / n)
    for _ in range(ITERATIONS):
        spread = score @ transition + score[dangling].sum() * prefer
        nxt = (1 - DAMPING) * prefer + DAMPING * spread
        if np.abs(nxt - score).sum() < 1e-9:
            score = nxt
            break
        score = nxt
    for s, v in zip(sentences, score, strict=True):
        s.score = float(v)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def select(ranked: Sequence[Sentence], budget: int) -> list[Sentence]:
    """Best first, skipping what repeats a chosen sentence, up to ``budget`` characters
    (the best sentence is cut to fit if even it does not)."""
    chosen: list[Sentence] = []
    used = 0
    for s in ranked:
        if any(s.text == c.text or jaccard(s.terms, c.terms) > REDUNDANT for c in chosen):
            continue
        cost = len(s.text) + (1 if chosen else 0)
        if used + cost > budget:
            continue
        chosen.append(s)
        used += cost
    if not chosen and ranked:
        best = ranked[0]
        cut = best.text[: max(budget - 1, 0)] + "…"
        chosen.append(
            Sentence(
                cut,
                best.start,
                best.start + len(cut) - 1,
                best.source,
                best.position,
                best.terms,
                best.score,
            )
        )
    return chosen


def summarise(
    sources: Sequence[Source],
    budget: int = 400,
    progress: Callable[[int, int], None] | None = None,
) -> Extract:
    """The sentences of ``sources`` that best stand for them, within ``budget``
    characters. One source: its own sentences, ranked towards its title. Several (a
    collection): each source's :data:`PER_DOCUMENT` best first (the map step), then
    those ranked together (the reduce step), so a long collection costs little more
    than its documents."""
    if budget < 1:
        raise ValueError("budget must be positive")
    if len(sources) == 1:
        pool = candidates(sources[0], 0)
        rank(pool, terms_of(sources[0].title) if sources[0].title else frozenset())
        considered = len(pool)
    else:
        pool = []
        considered = 0
        for i, src in enumerate(sources):
            mine = candidates(src, i)
            considered += len(mine)
            rank(mine, terms_of(src.title) if src.title else frozenset())
            pool += sorted(mine, key=lambda s: -s.score)[:PER_DOCUMENT]
            if progress is not None:
                progress(i + 1, len(sources))
        for s in pool:
            s.position = 0  # in the reduce step, no document's start comes first
        rank(pool)
    ranked = sorted(pool, key=lambda s: (-s.score, s.source, s.start))
    chosen = select(ranked, budget)
    if progress is not None and len(sources) == 1:
        progress(1, 1)
    reading = sorted(chosen, key=lambda s: (s.source, s.start))
    return Extract(reading, chosen, budget, ranked, considered)
