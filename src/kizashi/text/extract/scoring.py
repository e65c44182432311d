"""Precision, recall and F1 per indicator type for a labelled evaluation set.

Shared by the accuracy tests and by ``make bench`` (which scores Kizashi and the public
extractors on the same cases in the same run). A case is a mapping with ``id``, ``lang``,
``text`` and ``expected`` (a list of ``{type, value}``); an extractor is any function from
text to a set of ``(type, value)`` pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Pair = tuple[str, str]
Extractor = Callable[[str], set[Pair]]


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn


@dataclass
class Report:
    """Scores per type, overall (micro) and per language, plus each miss for reading."""

    by_type: dict[str, Score] = field(default_factory=dict)
    by_lang: dict[str, Score] = field(default_factory=dict)
    overall: Score = field(default_factory=Score)
    misses: list[tuple[str, str, Pair]] = field(default_factory=list)

    def japanese(self) -> Score:
        """The Japanese subset: cases written in Japanese or mixing Japanese and English."""
        total = Score()
        for lang in ("ja", "mixed"):
            total.add(self.by_lang.get(lang, Score()))
        return total


def expected_pairs(case: Mapping[str, Any]) -> set[Pair]:
    return {(str(item["type"]), str(item["value"])) for item in case.get("expected") or ()}


def score(
    cases: Iterable[Mapping[str, Any]], extractor: Extractor, *, types: set[str] | None = None
) -> Report:
    """Score ``extractor`` on ``cases``; with ``types``, only those types count."""
    report = Report()
    for case in cases:
        want = expected_pairs(case)
        got = set(extractor(str(case["text"])))
        if types is not None:
            want = {p for p in want if p[0] in types}
            got = {p for p in got if p[0] in types}
        per_case: Counter[str] = Counter()
        lang_score = report.by_lang.setdefault(str(case.get("lang", "en")), Score())
        for pair in got | want:
            kind = "tp" if pair in got and pair in want else ("fp" if pair in got else "fn")
            per_case[kind] += 1
            type_score = report.by_type.setdefault(pair[0], Score())
            setattr(type_score, kind, getattr(type_score, kind) + 1)
            if kind != "tp":
                report.misses.append((str(case["id"]), kind, pair))
        one = Score(per_case["tp"], per_case["fp"], per_case["fn"])
        lang_score.add(one)
        report.overall.add(one)
    return report


def format_table(report: Report) -> str:
    """A fixed-width table: one row per type, then overall and the Japanese subset."""
    lines = [f"{'type':<18} {'tp':>5} {'fp':>5} {'fn':>5} {'P':>6} {'R':>6} {'F1':>6}"]
    rows = [
        *sorted(report.by_type.items()),
        ("ALL (micro)", report.overall),
        ("Japanese subset", report.japanese()),
    ]
    for name, s in rows:
        lines.append(
            f"{name:<18} {s.tp:>5} {s.fp:>5} {s.fn:>5} "
            f"{s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f}"
        )
    return "\n".join(lines)
