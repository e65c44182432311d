"""One analyser for indexing and for queries: Japanese and English text into search terms.

What it does, in order, each step for a measured reason (``../shared/research/search.md``):

1. Indicators first. Every tokeniser shreds ``evil-domain.com`` and cuts hashes into
   pieces, so :func:`kizashi.text.extract.extract` pulls indicators out (refanged,
   normalised) and each becomes one term; a domain, and a URL's host, also yield their
   parent domains (``a.b.evil.co.jp`` → ``b.evil.co.jp``, ``evil.co.jp``), so a search for
   the registered domain finds its hosts. Only the text between indicators is tokenised.
2. Full-width ASCII is folded (one character to one), then each paragraph is NFKC- and
   case-folded and cut into Japanese runs (kana, kanji and Japanese punctuation) and the
   rest. A paragraph's Japanese runs go to SudachiPy in one call
   (mode C, ``sudachidict_core``), chosen by measurement over fugashi/UniDic: it keeps
   ``マルウェア`` and ``サプライチェーン`` whole and is faster once attributes are read.
   Its words come as ``normalized_form`` (``コンピュータ`` → ``コンピューター``,
   ``改ざん`` → ``改竄``). Latin text never reaches Sudachi, whose normalisation would turn
   ``payload`` into ``ペイロード`` and whose splitting cuts ``C2`` into ``C`` ``2``.
3. Character bigrams over every Japanese run, beside the words: words give precision and
   spelling variants, bigrams give recall (``チェーン`` inside an unknown katakana
   compound). Each run's edges are marked (``|暗``, ``鍵|``): see :meth:`Analysis.grams`.
4. English words NFKC-folded, case-folded and, optionally, stemmed (PyStemmer).
5. Stopwords are marked, not removed: search keeps them, analytics drops them.

Pure: no I/O after the dictionary loads, no clock. Indicator terms keep offsets into the
original text (for highlighting); words and grams are terms only, since re-analysing a
snippet finds them again.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from operator import add
from typing import Any

from kizashi.text import keywords, language
from kizashi.text.extract import Hit, extract
from kizashi.text.extract.refang import fold_width
from kizashi.text.extract.validate import domain as checked_domain
from kizashi.text.extract.validate import url_host

#: Japanese script (kana, kanji, marks) with Japanese punctuation: what Sudachi reads.
_JP = "\u3005\u3006\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff08\uff09\uff5f-\uff9f"
#: Numbers stay out of Japanese runs: with the normalising projection Sudachi would
#: return ``2024`` as four one-digit words.
_JAPANESE_SPLIT = re.compile(f"([{_JP}]+)")
#: Letters of Japanese script only (no punctuation): what bigrams are made of.
_GRAM_RUN = re.compile(
    "[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f々〆ヵヶ]+"
)
_KANA_RUN = re.compile("[\u3041-\u30ff\uff66-\uff9f]+")
_ENGLISH_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_PARAGRAPH = re.compile(r"\n\s*\n|\n")
#: Sudachi refuses very long inputs: Japanese runs go to it in pieces of at most this many
#: characters, cut after a sentence end where there is one.
PIECE = 4000
#: Texts whose analysis analyse_shared keeps (a feed's burst of items between the rules
#: that read them and the index that follows them).
SHARED_CACHE = 256
#: Marks where a Japanese run starts and ends in the bigram field (see Analysis.grams).
RUN_EDGE = "|"
_PIECE_END = re.compile("[。！？\n]")

_STOP_EN = (
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers herself him himself his how i if in "
    "into is it its itself just me more most my myself no nor not now of off on once only "
    "or other our ours ourselves out over own same she should so some such than that the "
    "their theirs them themselves then there these they this those through to too under "
    "until up very was we were what when where which while who whom why will with would "
    "you your yours yourself yourselves also may might must shall via per etc"
)
STOPWORDS_EN = frozenset(_STOP_EN.split())
#: Function words and very general words of Japanese prose, as Sudachi normalises them.
_STOP_JA = (
    "の に は を た が で て と し れ さ ある 居る 有る 為る する いる も な から だ こと 事 "
    "として い や れる 等 など ない 無い この 此の ため 為 その 其の よう 様 また 又 もの 物 "
    "という 言う まで られる なる 成る へ か それ 其れ により による において ば ず なく "
    "しかし について だけ できる 出来る これ 此れ ところ 所 ので および 及び 的 性 化 者 "
    "です ます ござる 方 場合 時 中 上 下 後 前 今回 以下 以上 ござい"
)
STOPWORDS_JA = frozenset(_STOP_JA.split())


@dataclass
class Analysis:
    """The terms of one text, by kind."""

    #: Sudachi's normalised Japanese words and the English words (stemmed), in order.
    words: list[str] = field(default_factory=list)
    #: Indicators (normalised values, and parent domains) with their span in the text.
    indicators: list[tuple[str, int, int]] = field(default_factory=list)
    #: Japanese letter runs, folded: each yields its character bigrams.
    runs: list[str] = field(default_factory=list)
    #: The document's language: ja, en, mixed, or None for too little text.
    language: str | None = None
    #: Each paragraph's span and language.
    paragraphs: list[tuple[int, int, str | None]] = field(default_factory=list)
    #: The English words as written (folded, before stemming): for language detection.
    english: list[str] = field(default_factory=list)
    #: Each indicator value's kind (ipv4-addr, domain-name, url, sha256 …).
    kinds: dict[str, str] = field(default_factory=dict)
    #: Sudachi's morphemes of the Japanese runs (normalised form, part-of-speech id),
    #: punctuation and run breaks included: what :meth:`keywords` joins into compounds.
    morphemes: list[tuple[str, int]] = field(default_factory=list, repr=False)
    #: The text with its indicators blanked (width-folded, not case-folded).
    plain: str = field(default="", repr=False)

    def grams(self) -> list[str]:
        """The bigram field's terms, in order: the character bigrams of the Japanese runs
        with an edge mark :data:`RUN_EDGE` before and after each run.

        The marks do two jobs: a phrase of bigrams never spans two runs (``子鍵|`` and
        ``|暗号`` stand between them), and a run's edge characters are terms of their own
        (``鍵|``), so a one-character query finds ``鍵`` at the end of ``暗号鍵`` and a
        one-character run is indexed at all. One ``map(add, …)`` over the runs joined by
        the mark pairs the characters in C (measured faster than per-run loops or a
        lookahead regex).
        """
        if not self.runs:
            return []
        joined = f"{RUN_EDGE}{RUN_EDGE.join(self.runs)}{RUN_EDGE}"
        return list(map(add, joined, joined[1:]))

    def gram_text(self) -> str:
        """The bigram field as the index takes it (terms joined by spaces)."""
        return gram_text(self.runs)

    def index_terms(self) -> list[str]:
        """Every term as a search index takes it: words, indicators, grams."""
        return [*self.words, *(v for v, _, _ in self.indicators), *self.grams()]

    def keywords(self) -> list[str]:
        """The terms analytics counts (:mod:`kizashi.text.keywords`): Japanese noun
        compounds, then English noun lemmas and names, each as often as it occurs.
        Made on demand: search and rules never ask for them."""
        jp = keywords.japanese(self.morphemes, _dictionary(), STOPWORDS_JA)
        return jp + keywords.english(self.plain, STOPWORDS_EN) if self.english else jp

    def content_words(self) -> list[str]:
        """Words without stopwords, and the indicators: what frequency analytics counts."""
        return [w for w in self.words if w not in STOPWORDS_JA and w not in STOPWORDS_EN]


def gram_text(runs: list[str]) -> str:
    """The bigram field of these Japanese runs as the index takes it (see
    :meth:`Analysis.grams`): cheap, so an index may keep the runs and not the bigrams."""
    if not runs:
        return ""
    joined = f"{RUN_EDGE}{RUN_EDGE.join(runs)}{RUN_EDGE}"
    return " ".join(map(add, joined, joined[1:]))


_local = threading.local()


@cache
def _dictionary() -> Any:
    from sudachipy import Dictionary

    return Dictionary(dict="core")


def _tokenizer() -> tuple[Any, Any]:
    """One Sudachi tokenizer per thread (a tokenizer must not be shared between threads),
    with a result list it reuses; words come out normalised, and no field but the part of
    speech is loaded (each field costs Sudachi time)."""
    found = getattr(_local, "tokenizer", None)
    if found is None:
        from sudachipy import SplitMode

        dictionary = _dictionary()
        # No fields beyond the projection's: the normalised form is all that is read.
        # The part of speech too, for keywords (measured: 3 % of Sudachi's time).
        tok = dictionary.tokenizer(SplitMode.C, fields={"pos"}, projection="normalized")
        found = _local.tokenizer = (tok, tok.tokenize(""))
    return found


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """NFKC and case folding: the form every term is compared in."""
    return unicodedata.normalize("NFKC", text).casefold()


def analyse(text: str, *, stem: bool = True) -> Analysis:
    """The terms of ``text`` for a search index or a query (the same analysis for both).

    Indicators are taken out first and blanked (same length, so every offset holds);
    then each paragraph is folded and cut into Japanese runs and the rest. Each
    paragraph's language comes from the letters its own analysis found, without another
    pass over the text. The per-paragraph loop only cuts and counts: English stemming
    and bigrams run once per document, so a document of many short lines costs about
    what one long paragraph does.
    """
    result = Analysis()
    text = fold_width(text)  # one character for one: every offset still holds
    plain = _blank_indicators(text, extract(text, flag=False), result)
    # Folded once for the whole text where that keeps every offset (almost always),
    # paragraph by paragraph where it does not (``ß`` → ``ss``, ``㈱`` → ``(株)``).
    whole = fold(plain)
    folded = whole if len(whole) == len(plain) else None
    japanese = _japanese_words
    morphemes = result.morphemes
    english_re = _ENGLISH_WORD.findall
    japanese_split = _JAPANESE_SPLIT.split
    gram_runs = _GRAM_RUN.findall
    kana_runs = _KANA_RUN.findall
    decide = language.decide
    # Per paragraph: its Japanese words, and how many English words follow them.
    per_paragraph: list[tuple[list[str], int]] = []
    english = result.english
    runs = result.runs
    paragraphs = result.paragraphs
    all_kana = all_kanji = all_latin = 0
    for start, end in _paragraph_spans(plain):
        p = folded[start:end] if folded is not None else fold(plain[start:end])
        parts = japanese_split(p)  # other, run, other, run, …, other
        kana = kanji = latin = 0
        if len(parts) == 1:
            words: list[str] = []
            found = english_re(p)
        else:
            japanese_parts = parts[1::2]
            words = japanese(japanese_parts, morphemes)
            letters = gram_runs("\x00".join(japanese_parts))
            runs += letters
            joined = "".join(letters)
            kana = len("".join(kana_runs(joined)))
            kanji = len(joined) - kana
            found = english_re(" ".join(parts[0::2]))
        if found:
            english += found
            # Letters, not digits: ``2024`` says nothing of the language.
            latin = sum(map(len, found)) - sum(map(len, filter(str.isdigit, found)))
        per_paragraph.append((words, len(found)))
        if kana or kanji or latin:
            paragraphs.append((start, end, decide(kana, kanji, latin)))
            all_kana += kana
            all_kanji += kanji
            all_latin += latin
    result.words = _in_order(per_paragraph, english, stem)
    result.plain = plain
    _with_hosts(result.indicators)
    result.language = decide(all_kana, all_kanji, all_latin)
    return result


@lru_cache(maxsize=SHARED_CACHE)
def analyse_shared(text: str) -> Analysis:
    """:func:`analyse`, remembered for the last :data:`SHARED_CACHE` texts of this process.

    An item's text is analysed once on its way in, by the rules that tag it, and again
    moments later by the search index that takes it: both ask here, so the second finds
    the first's work. The result is shared: read it, never change it.
    """
    return analyse(text)


def _blank_indicators(text: str, hits: list[Hit], result: Analysis) -> str:
    """Record each indicator as a term and return ``text`` with them blanked out."""
    if not hits:
        return text
    pieces: list[str] = []
    pos = 0
    for hit in hits:
        if hit.start < pos:
            continue  # a URL's host: the URL covers it, and _with_hosts adds it back
        value = hit.value.casefold()
        result.indicators.append((value, hit.start, hit.end))
        result.kinds[value] = hit.type
        pieces += (text[pos : hit.start], " " * (hit.end - hit.start))
        pos = hit.end
    pieces.append(text[pos:])
    return "".join(pieces)


def _in_order(
    per_paragraph: list[tuple[list[str], int]], english: list[str], stem: bool
) -> list[str]:
    """Each paragraph's Japanese words, then its English words (stemmed in one call)."""
    if stem and english:
        stops = STOPWORDS_EN
        stems = _stemmer().stemWords(english)
        english = [w if w in stops else st for w, st in zip(english, stems, strict=True)]
    words: list[str] = []
    i = 0
    for japanese, n in per_paragraph:
        words += japanese
        if n:
            words += english[i : i + n]
            i += n
    return words


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for m in _PARAGRAPH.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


#: What Sudachi returns for punctuation and blanks: nothing to search.
_PUNCTUATION = frozenset(
    " \u3000、。，．・：；？！゛゜´｀¨＾￣＿ヽヾゝゞ〃仝〆〇ー―‐／＼～∥｜…‥‘’“”"
    "（）〔〕［］｛｝〈〉《》「」『』【】＋－±×÷＝≠＜＞≦≧∞∴♂♀°′″℃￥＄￠￡％＃＆＊＠§☆★○●◎◇◆□■△▲▽▼※〒→←↑↓〓"
)
#: Also the line breaks put between a paragraph's runs.
_SKIPPED = _PUNCTUATION | {"\n"}
#: Between paragraphs in Analysis.morphemes: no compound spans it (no real id is -1).
_BREAK = ("\n", -1)


def _japanese_words(runs: list[str], morphemes: list[tuple[str, int]]) -> list[str]:
    """A paragraph's Japanese runs, read by Sudachi in one call (line breaks between
    them): each call costs Sudachi about 5 µs before it reads anything, and a paragraph
    has three runs on average (measured: 11 % of the bare tokeniser's time saved).
    Every morpheme, with its part of speech, is added to ``morphemes``."""
    tokenizer, out = _tokenizer()
    tokenize = tokenizer.tokenize
    skipped = _SKIPPED
    text = "\n".join(runs)
    # surface() is the normalised form (the tokenizer's projection).
    found = [
        (m.surface(), m.part_of_speech_id())
        for piece in (_pieces(text) if len(text) > PIECE else (text,))
        for m in tokenize(piece, out=out)
    ]
    morphemes += found
    morphemes.append(_BREAK)
    return [w for w, _ in found if w not in skipped]


def _pieces(run: str) -> list[str]:
    if len(run) <= PIECE:
        return [run]
    out = []
    start = 0
    while len(run) - start > PIECE:
        ends = [m.end() for m in _PIECE_END.finditer(run, start + PIECE // 2, start + PIECE)]
        cut = ends[-1] if ends else start + PIECE
        out.append(run[start:cut])
        start = cut
    out.append(run[start:])
    return out


def _with_hosts(indicators: list[tuple[str, int, int]]) -> None:
    """A URL's host and a domain's parents are terms too: ``evil.com`` finds its URLs."""
    extra: list[tuple[str, int, int]] = []
    for value, start, end in indicators:
        if "://" in value:
            host = url_host(value)
        elif "@" in value and checked_domain(value.rsplit("@", 1)[1]) is not None:
            host = value.rsplit("@", 1)[1]  # an e-mail address: its domain is a term too
        else:
            host = value
        if host != value:
            extra.append((host, start, end))
        if "." in host and not host[0].isdigit() and ":" not in host:
            extra += [(p, start, end) for p in parent_domains(host)]
    indicators += extra


def parent_domains(name: str) -> list[str]:
    """``a.b.evil.co.jp`` → ``b.evil.co.jp``, ``evil.co.jp``: down to the registered name."""
    labels = name.split(".")
    out = []
    for i in range(1, len(labels) - 1):
        parent = ".".join(labels[i:])
        if checked_domain(parent) is None:
            break
        out.append(parent)
    return out


def word_spans(text: str, wanted: set[str]) -> list[tuple[int, int]]:
    """Where Sudachi finds a word whose normalised form is in ``wanted``: the spelling
    variants a search matched (``コンピュータ`` for ``コンピューター``), for highlighting."""
    tokenizer, out = _tokenizer()
    spans: list[tuple[int, int]] = []
    for m in _JAPANESE_SPLIT.finditer(text):
        base = m.start()
        for piece_start, piece in _piece_offsets(m.group()):
            for morpheme in tokenizer.tokenize(piece, out=out):
                if morpheme.surface() in wanted:
                    spans.append(
                        (base + piece_start + morpheme.begin(), base + piece_start + morpheme.end())
                    )
    return spans


def _piece_offsets(run: str) -> list[tuple[int, str]]:
    out = []
    pos = 0
    for piece in _pieces(run):
        out.append((pos, piece))
        pos += len(piece)
    return out
