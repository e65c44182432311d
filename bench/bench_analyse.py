"""The search analyser against the bare tokeniser, on the Japanese corpus, in one run.

``python -m bench --only analyse``. Target (search issue): the analyser producing what
the index takes from a text (its words and bigram field as text, and its indicators:
exactly what ``kizashi.search.documents`` asks of it) runs at no less than 0.8x the bare
tokeniser, SudachiPy mode C with its default dictionary fields, asked only for each
word's surface. Both take the corpus as the search index will: documents of about 2 KB,
one per call. fugashi with UniDic-lite (the alternative the research measured) runs on
the same lines for the record.

Since the analytics issue the index also takes each text's keywords (noun compounds and
English noun lemmas, :mod:`kizashi.text.keywords`), made from the same Sudachi pass: a
third path adds them, and its ratio is reported beside the search analyser's.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ja" / "security-prose-ja.txt"
TARGET_RATIO = 0.8
#: Documents of about this size, as the search corpus has them (one call per document).
DOCUMENT_BYTES = 2000


@dataclass
class AnalyseResult:
    documents: int = 0
    nbytes: int = 0
    rates: dict[str, float] = field(default_factory=dict)  # MB/s, best of the rounds
    skipped: str | None = None

    @property
    def ratio(self) -> float:
        return self._ratio("kizashi analyse (all index terms)")

    @property
    def ratio_keywords(self) -> float:
        return self._ratio("kizashi analyse + keywords")

    def _ratio(self, name: str) -> float:
        bare = self.rates.get("bare sudachi (surface)")
        ours = self.rates.get(name)
        return ours / bare if bare and ours else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "bytes": self.nbytes,
            "mb_s": self.rates,
            "ratio": self.ratio,
            "ratio_with_keywords": self.ratio_keywords,
            "skipped": self.skipped,
        }


def _best(fn: Callable[[str], object], lines: list[str], nbytes: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for line in lines:
            fn(line)
        best = min(best, time.perf_counter() - start)
    return nbytes / 1e6 / best


def _documents(text: str, size: int = DOCUMENT_BYTES) -> list[str]:
    """Consecutive lines joined into documents of about ``size`` bytes (what is indexed)."""
    docs: list[str] = []
    current: list[str] = []
    nbytes = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        current.append(line)
        nbytes += len(line.encode())
        if nbytes >= size:
            docs.append("\n".join(current))
            current, nbytes = [], 0
    if current:
        docs.append("\n".join(current))
    return docs


def _index_input(text: str) -> tuple[str, str, list[str]]:
    """What the index builder takes from one text (``kizashi.search.documents``): the
    words and the bigram field as text, and the indicators."""
    from kizashi.text.analyse import analyse

    a = analyse(text)
    return " ".join(a.words), a.gram_text(), [v for v, _, _ in a.indicators]


def _index_input_keywords(text: str) -> tuple[str, str, list[str], list[str]]:
    """What the index takes since analytics: the search terms and the keywords."""
    from kizashi.text.analyse import analyse

    a = analyse(text)
    return " ".join(a.words), a.gram_text(), [v for v, _, _ in a.indicators], a.keywords()


def run(quick: bool) -> AnalyseResult:
    result = AnalyseResult()
    if not CORPUS.exists():
        result.skipped = f"{CORPUS} is not there (../shared/data beside the checkout)"
        return result
    from sudachipy import Dictionary, SplitMode

    lines = _documents(CORPUS.read_text("utf-8"))
    if quick:
        lines = lines[:250]
    result.documents = len(lines)
    result.nbytes = sum(len(line.encode()) for line in lines)
    bare = Dictionary(dict="core").tokenizer(SplitMode.C)
    candidates: dict[str, Callable[[str], object]] = {
        "bare sudachi (surface)": lambda s: [m.surface() for m in bare.tokenize(s)],
        "kizashi analyse (all index terms)": _index_input,
        "kizashi analyse + keywords": _index_input_keywords,
    }
    try:
        import fugashi

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tagger = fugashi.Tagger()
        candidates["fugashi + unidic-lite (surface, lemma)"] = lambda s: [
            (w.surface, w.feature.lemma) for w in tagger(s)
        ]
    except ImportError:
        pass
    for fn in candidates.values():  # warm up: dictionaries load outside the timing
        fn(lines[0])
    rounds = 2 if quick else 3
    # Alternate the candidates round by round so that machine load hits them alike.
    for _ in range(rounds):
        for name, fn in candidates.items():
            rate = _best(fn, lines, result.nbytes, 1)
            result.rates[name] = max(result.rates.get(name, 0.0), rate)
    return result


def render(result: AnalyseResult) -> str:
    if result.skipped:
        return f"Kizashi benchmark: search analyser\n  skipped: {result.skipped}"
    out = [
        "Kizashi benchmark: search analyser (Japanese corpus, one document per call, one core)",
        f"{result.documents:,} documents of about {DOCUMENT_BYTES:,} bytes, "
        f"{result.nbytes / 1e6:.2f} MB",
        f"{'path':<42} {'MB/s':>7}",
    ]
    out += [f"{name:<42} {rate:>7.2f}" for name, rate in result.rates.items()]
    verdict = "PASS" if result.ratio >= TARGET_RATIO else "FAIL"
    out.append(f"analyse / bare sudachi {result.ratio:.3f} (target >= {TARGET_RATIO}): {verdict}")
    out.append(
        f"analyse + keywords / bare sudachi {result.ratio_keywords:.3f} "
        "(what the index takes since analytics; for the record)"
    )
    return "\n".join(out)
