"""One analyser for indexing and for queries: Japanese and English text into search terms.

What it does, in order, each step for a measured reason (``../shared/research/search.md``):

1. Indicators first. Every tokeniser shreds ``evil-domain.com`` and cuts hashes into
   pieces, so :func:`kizashi.text.extract.extract` pulls indicators out (refanged,
   normalised) and each becomes one term; a domain, and a URL's host, also yield their
   parent domains (``a.b.evil.co.jp`` → ``b.evil.co.jp``, ``evil.co.jp``), so a search for
   the registered domain finds its hosts. Only the text between indicators is tokenised.
2. Full-width ASCII is folded (one character to one), then the text is cut into Japanese
   runs (kana, kanji and Japanese punctuation) and the rest. Japanese runs go to SudachiPy
   (mode C, ``sudachidict_core``), chosen by measurement over fugashi/UniDic: it keeps
   ``マルウェア`` and ``サプライチェーン`` whole and is faster once attributes are read.
   Its words come as ``normalized_form`` (``コンピューター`` → ``コンピュータ``,
   ``改竄`` → ``改ざん``). Latin text never reaches Sudachi, whose normalisation would turn
   ``payload`` into ``ペイロード`` and whose splitting cuts ``C2`` into ``C`` ``2``.
3. Character bigrams over every Japanese run, beside the words: words give precision and
   spelling variants, bigrams give recall (``チェーン`` inside an unknown katakana
   compound). A one-character run is a one-character gram.
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
from functools import cache
from typing import Any

from kizashi.text import language
from kizashi.text.extract import extract
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
#: Japanese that NFKC changes (half-width katakana, compatibility ideographs); other
#: kana and kanji are already in their folded form.
_NEEDS_FOLD = re.compile("[\uf900-\ufaff\uff66-\uff9f]")
_KANA_RUN = re.compile("[\u3041-\u30ff\uff66-\uff9f]+")
_PAIRS = re.compile("(?=([^\x00]{2}))")
_ENGLISH_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_PARAGRAPH = re.compile(r"\n\s*\n|\n")
#: Sudachi refuses very long inputs: Japanese runs go to it in pieces of at most this many
#: characters, cut after a sentence end where there is one.
PIECE = 4000
_PIECE_END = re.compile("[。！？]")

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

    def grams(self) -> list[str]:
        """Character bigrams of the Japanese runs (a one-character run is one gram).

        Made by two regex scans over the runs joined with a separator, so the work stays
        in C: overlapping pairs that do not cross a separator, then lone characters.
        """
        if not self.runs:
            return []
        joined = "\x00".join(self.runs)
        out: list[str] = _PAIRS.findall(joined)
        if any(len(r) == 1 for r in self.runs):
            out += [r for r in self.runs if len(r) == 1]
        return out

    def index_terms(self) -> list[str]:
        """Every term as a search index takes it: words, indicators, grams."""
        return [*self.words, *(v for v, _, _ in self.indicators), *self.grams()]

    def content_words(self) -> list[str]:
        """Words without stopwords, and the indicators: what frequency analytics counts."""
        return [w for w in self.words if w not in STOPWORDS_JA and w not in STOPWORDS_EN]


_local = threading.local()


@cache
def _dictionary() -> Any:
    from sudachipy import Dictionary

    return Dictionary(dict="core")


def _tokenizer() -> tuple[Any, Any]:
    """One Sudachi tokenizer per thread (a tokenizer must not be shared between threads),
    with a result list it reuses; only the fields read here are loaded, and words come out
    normalised."""
    found = getattr(_local, "tokenizer", None)
    if found is None:
        from sudachipy import SplitMode

        dictionary = _dictionary()
        tok = dictionary.tokenizer(SplitMode.C, fields={"normalized_form"}, projection="normalized")
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

    Paragraph by paragraph, so that each paragraph's language comes from the letters its
    own analysis found, without another pass over the text.
    """
    result = Analysis()
    text = fold_width(text)  # one character for one: every offset still holds
    hits = extract(text, flag=False)
    # Half-width katakana and compatibility ideographs are rare: looked for once.
    needs_fold = _NEEDS_FOLD.search(text) is not None
    h = 0
    totals = [0, 0, 0]
    for start, end in _paragraph_spans(text):
        runs_before, english_before = len(result.runs), len(result.english)
        pos = start
        while h < len(hits) and hits[h].start < end:
            hit = hits[h]
            h += 1
            if hit.start < pos:
                continue  # a URL's host: the URL covers it, and _with_hosts adds it back
            if hit.start > pos:
                _plain(text[pos : hit.start], result, stem, needs_fold)
            value = hit.value.casefold()
            result.indicators.append((value, hit.start, hit.end))
            result.kinds[value] = hit.type
            pos = hit.end
        if pos < end:
            _plain(text[pos:end], result, stem, needs_fold)
        found = _letters(result.runs[runs_before:], result.english[english_before:])
        if any(found):
            result.paragraphs.append((start, end, language.decide(*found)))
            totals = [a + b for a, b in zip(totals, found, strict=True)]
    _with_hosts(result.indicators)
    result.language = language.decide(*totals)
    return result


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


def _letters(runs: list[str], english: list[str]) -> tuple[int, int, int]:
    """Kana, kanji and Latin letters, counted on what the analysis found."""
    joined = "".join(runs)
    kana = sum(map(len, _KANA_RUN.findall(joined))) if joined else 0
    latin = sum(len(w) for w in english if not w.isdigit())
    return kana, len(joined) - kana, latin


def _plain(segment: str, result: Analysis, stem: bool, needs_fold: bool) -> None:
    """Japanese runs go to Sudachi one by one; everything between them is read as English
    in one pass. A segment's Japanese words come first, then its English words; each kind
    keeps its order (per-gap English calls cost more than the tokenising saved)."""
    parts = _JAPANESE_SPLIT.split(segment)  # other, run, other, run, …, other
    if len(parts) == 1:
        _english(segment, result.words, stem, result.english)
        return
    runs = parts[1::2]
    _japanese(runs, result.words)
    grams = _GRAM_RUN.findall("\x00".join(runs))
    result.runs += [fold(g) for g in grams] if needs_fold else grams
    rest = " ".join(parts[0::2])
    if not rest.isspace():
        _english(rest, result.words, stem, result.english)


#: What Sudachi returns for punctuation and blanks: nothing to search.
_PUNCTUATION = frozenset(
    " \u3000、。，．・：；？！゛゜´｀¨＾￣＿ヽヾゝゞ〃仝〆〇ー―‐／＼～∥｜…‥‘’“”"
    "（）〔〕［］｛｝〈〉《》「」『』【】＋－±×÷＝≠＜＞≦≧∞∴♂♀°′″℃￥＄￠￡％＃＆＊＠§☆★○●◎◇◆□■△▲▽▼※〒→←↑↓〓"
)


def _japanese(runs: list[str], words: list[str]) -> None:
    tokenizer, out = _tokenizer()
    punctuation = _PUNCTUATION
    for run in runs:
        for piece in _pieces(run) if len(run) > PIECE else (run,):
            # surface() is the normalised form (the tokenizer's projection).
            words += [
                w
                for m in tokenizer.tokenize(piece, out=out)
                if (w := m.surface()) not in punctuation
            ]


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


def _english(segment: str, words: list[str], stem: bool, seen: list[str] | None = None) -> None:
    found = _ENGLISH_WORD.findall(fold(segment))
    if not found:
        return
    if seen is not None:
        seen += found
    if stem:
        stems = _stemmer().stemWords(found)
        words += [w if w in STOPWORDS_EN else st for w, st in zip(found, stems, strict=True)]
    else:
        words += found


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
