"""What rules read of an item: its fields (:class:`Item`) and, on first need, its analysis
in the shapes matching looks up (:class:`Terms`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from kizashi.text.analyse import Analysis, analyse_shared, fold

#: A rule key: (kind, value), e.g. ("w", "emotet"), ("i", "198.51.100.7"), ("lang", "ja").
Key = tuple[str, str]


@dataclass
class Item:
    """What rules see of an incoming or stored item."""

    title: str
    text: str
    type: str = "report"
    id: str = ""
    source: str | None = None
    language: str | None = None
    tags: set[str] = field(default_factory=set)
    tlp: str | None = None
    published: str | None = None
    created: str | None = None
    modified: str | None = None


class Terms:
    """The item in the shapes matching needs. The analysis (Sudachi, the extractor) runs
    on first need: a rule set whose candidates need only the raw text never pays for it."""

    def __init__(self, item: Item, analysis: Analysis | None = None) -> None:
        self.item = item
        self.raw = f"{item.title}\n\n{item.text}"  # regular expressions read this
        self._analysis = analysis
        #: The rule keys this item holds, once a rule set has looked (None before).
        self.hit_keys: set[Key] | None = None

    @classmethod
    def of(cls, item: Item, analysis: Analysis | None = None) -> Terms:
        return cls(item, analysis)

    @cached_property
    def analysis(self) -> Analysis:
        """The title's and the text's analyses together: each is the one the search index
        makes of the same field (``analyse_shared``), so the index reuses this work."""
        if self._analysis is not None:
            return self._analysis
        title, text = analyse_shared(self.item.title), analyse_shared(self.item.text)
        shift = len(self.item.title) + 2  # raw is title, a blank line, text
        return Analysis(
            words=title.words + text.words,
            indicators=title.indicators
            + [(v, s + shift, e + shift) for v, s, e in text.indicators],
            runs=title.runs + text.runs,
            language=text.language or title.language,  # as the index decides it
            english=title.english + text.english,
            kinds={**title.kinds, **text.kinds},
        )

    @cached_property
    def words(self) -> set[str]:
        return set(self.analysis.words)

    @cached_property
    def words_text(self) -> str:
        """`` w1 w2 … `` in order, for phrases."""
        return " " + " ".join(self.analysis.words) + " "

    @cached_property
    def runs_text(self) -> str:
        """Japanese runs joined by \\x00: a run never matches across two."""
        return "\x00".join(self.analysis.runs)

    @cached_property
    def iocs(self) -> set[str]:
        return {v for v, _, _ in self.analysis.indicators}

    @cached_property
    def kinds(self) -> set[str]:
        return set(self.analysis.kinds.values())

    @cached_property
    def lowered(self) -> str:
        """The raw text lower-cased: where regular expressions' literals are looked for."""
        return self.raw.lower()

    @cached_property
    def folded(self) -> str:
        """NFKC + case folded (fuzzy matches)."""
        return fold(self.raw)

    @cached_property
    def language(self) -> str | None:
        return self.item.language or self.analysis.language
