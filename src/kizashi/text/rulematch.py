"""Testing one item against many rules, with the search analyser's meaning of a word.

A word (or a query's word) matches an item exactly as search would match it
(:mod:`kizashi.search.compile`): its Sudachi words are all among the item's words, or each
of its Japanese runs is inside one of the item's Japanese runs (what the bigram index
finds: ``ランサムウェア`` inside ``ランサムウェア攻撃``), or its indicators are among the
item's indicators (refanged; a domain also matches its hosts). English words match by
stem and on word bounds, so ``apt`` never matches ``adapter``.

A thousand rules stay cheap because most never run: each rule has *keys*, terms of which
at least one must be in an item for the rule to match at all. The item's words and
indicators are looked up in one dictionary, its Japanese runs and text are scanned once by
Aho-Corasick automatons (all rules' literals at once, pyahocorasick), and only the rules
whose keys turned up are evaluated. A rule whose conditions give no key (a lone NOT, a
fuzzy match) is always evaluated.

Analysts' regular expressions run with a time limit (the ``regex`` module): a
catastrophic pattern costs that rule that item, is logged with the rule's name, and
nothing else waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from kizashi.model import rules as rm
from kizashi.model import searchquery as sq
from kizashi.text.analyse import Analysis, analyse, analyse_shared, fold

log = logging.getLogger(__name__)

REGEX_TIMEOUT = 0.05  # seconds per rule per item
Key = tuple[str, str]
ALWAYS: frozenset[Key] | None = None


# -- the item --------------------------------------------------------------------------


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


# -- terms: one word or phrase, analysed as a query would be ---------------------------


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    words: tuple[str, ...]
    runs: tuple[str, ...]
    iocs: tuple[str, ...]
    phrase: bool
    english: bool

    def keyset(self) -> frozenset[Key]:
        if self.iocs and (self.words or self.runs):
            return frozenset({("i", self.iocs[0])})
        out = set()
        if self.words:
            out.add(("w", self.words[0]))
        if self.runs:
            out.add(("s", self.runs[0]))
        if self.iocs:
            out.add(("i", self.iocs[0]))
        return frozenset(out)

    def matches(self, t: Terms) -> bool:
        if self.iocs and not all(v in t.iocs for v in self.iocs):
            return False
        if self.iocs:
            return True
        if self.words:
            if self.phrase and not (self.english and self.runs):
                if " " + " ".join(self.words) + " " in t.words_text:
                    return True
            elif all(w in t.words for w in self.words):
                return True
        return bool(self.runs) and all(r in t.runs_text for r in self.runs)


@lru_cache(maxsize=65536)
def term(text: str, phrase: bool = False) -> Term:
    a = analyse(text)
    seen: set[tuple[int, int]] = set()
    iocs = []
    for value, start, end in a.indicators:
        if (start, end) not in seen:
            seen.add((start, end))
            iocs.append(value)
    # Only strings are kept: a term lives as long as its rule (a watch list has thousands),
    # and every object kept alive is walked by Python's collector on each full collection
    # (the analyses that terms kept made an item's analysis 0.5 ms slower at 1,000 rules).
    return Term(text, tuple(a.words), tuple(a.runs), tuple(iocs), phrase, bool(a.english))


# -- conditions compiled -----------------------------------------------------------------


class Node:
    """A compiled condition: ``keys`` (None: no key, always evaluate) and a test that
    also collects what matched, for explanations."""

    keys: frozenset[Key] | None = None

    def test(self, t: Terms, why: list[str]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


def _any_keys(parts: Iterable[frozenset[Key] | None]) -> frozenset[Key] | None:
    out: set[Key] = set()
    for keys in parts:
        if keys is None:
            return None
        out |= keys
    return frozenset(out)


#: How many items a key of each kind is likely to hold, roughly: a language, a type or a
#: TLP level is on a large share of all items, an indicator kind or a source on many; a
#: word, an indicator value, a Japanese run or a regex literal on few.
_BREADTH = {"lang": 1000, "type": 1000, "tlp": 1000, "kind": 100, "source": 30}


def _breadth(keys: frozenset[Key]) -> int:
    return sum(_BREADTH.get(kind, 1) for kind, _ in keys)


def _all_keys(parts: Iterable[frozenset[Key] | None]) -> frozenset[Key] | None:
    """An AND needs every part, so one part's keys are enough: the narrowest part's
    (``ランサムウェア`` and ``lang:ja`` is looked up by the word, not the language)."""
    known = [k for k in parts if k is not None]
    return min(known, key=_breadth) if known else None


class TermNode(Node):
    def __init__(self, t: Term) -> None:
        self.term = t
        self.keys = t.keyset() or None

    def test(self, t: Terms, why: list[str]) -> bool:
        if self.term.matches(t):
            why.append(self.term.text)
            return True
        return False


class Combine(Node):
    def __init__(self, parts: list[Node], every: bool) -> None:
        self.parts = parts
        self.every = every
        self.keys = (_all_keys if every else _any_keys)(p.keys for p in parts)

    def test(self, t: Terms, why: list[str]) -> bool:
        if self.every:
            found: list[str] = []
            if all(p.test(t, found) for p in self.parts):
                why += found
                return True
            return False
        hit = False
        for p in self.parts:  # every branch, so explanations list all that matched
            hit = p.test(t, why) or hit
        return hit


class Negate(Node):
    def __init__(self, part: Node) -> None:
        self.part = part
        self.keys = None

    def test(self, t: Terms, why: list[str]) -> bool:  # noqa: ARG002 - nothing to explain
        return not self.part.test(t, [])


class Check(Node):
    """A test on the item's fields, with the key it implies (if any)."""

    def __init__(
        self, fn: Callable[[Terms], bool], keys: frozenset[Key] | None, label: str
    ) -> None:
        self.fn = fn
        self.keys = keys
        self.label = label

    def test(self, t: Terms, why: list[str]) -> bool:
        if self.fn(t):
            why.append(self.label)
            return True
        return False


class RegexNode(Node):
    def __init__(self, pattern: str, ignore_case: bool, rule: str) -> None:
        import regex

        self.pattern = regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
        self.rule = rule
        found = required_literals(pattern)
        #: Text of which every match contains one (lower-cased): an item with none is
        #: skipped without running the pattern.
        self.literals = tuple(sorted({x.lower() for x in found})) if found else None
        self.keys = frozenset(("r", x) for x in self.literals) if self.literals else None

    def test(self, t: Terms, why: list[str]) -> bool:
        if self.literals is not None:
            lowered = t.lowered
            if not any(x in lowered for x in self.literals):
                return False
        try:
            m = self.pattern.search(t.raw, timeout=REGEX_TIMEOUT)
        except TimeoutError:
            log.warning(
                "rule %r: its regular expression took too long on an item; skipped", self.rule
            )
            return False
        if m is None:
            return False
        why.append(m.group())
        return True


class FuzzyNode(Node):
    def __init__(self, text: str, threshold: int) -> None:
        self.text = fold(text)
        self.threshold = threshold
        self.keys = None

    def test(self, t: Terms, why: list[str]) -> bool:
        from rapidfuzz import fuzz

        result = fuzz.partial_ratio_alignment(self.text, t.folded, score_cutoff=self.threshold)
        if result is None:
            return False
        why.append(t.folded[result.dest_start : result.dest_end])
        return True


class WatchNode(Node):
    """Literal values, thousands at once: each is a term (an indicator by value, words on
    word bounds, Japanese anywhere in a run), found through the rule set's keys."""

    def __init__(self, values: tuple[str, ...], name: str | None) -> None:
        self.name = name
        found: dict[Key, list[Term]] = {}
        for value in values:
            t = term(value, phrase=True)
            for k in t.keyset():
                found.setdefault(k, []).append(t)
        # Tuples, not lists: fewer objects for the collector to walk (see term()).
        self.by_key: dict[Key, tuple[Term, ...]] = {k: tuple(v) for k, v in found.items()}
        self.keys = frozenset(self.by_key) or None

    def test(self, t: Terms, why: list[str]) -> bool:
        keys = self.by_key.keys() if t.hit_keys is None else t.hit_keys & self.by_key.keys()
        found = sorted({x.text for k in keys for x in self.by_key[k] if x.matches(t)})
        why += found
        return bool(found)


# -- the query language, over one item -----------------------------------------------------


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def compile_query(expr: sq.Expr) -> Node:
    match expr:
        case sq.MatchAll():
            return Check(lambda _t: True, None, "")
        case sq.Word(text=text):
            return TermNode(term(text))
        case sq.Phrase(text=text):
            return TermNode(term(text, phrase=True))
        case sq.Field():
            return _field(expr)
        case sq.DateRange():
            return _dates(expr)
        case sq.Not(expr=inner):
            return Negate(compile_query(inner))
        case sq.And(exprs=parts):
            return Combine([compile_query(p) for p in parts], every=True)
        case sq.Or(exprs=parts):
            return Combine([compile_query(p) for p in parts], every=False)
    raise TypeError(f"not a query: {expr!r}")  # pragma: no cover


def _field(f: sq.Field) -> Node:
    name, value, prefix = f.name, f.value, f.prefix
    label = f"{name}:{value}{'*' if prefix else ''}"

    def eq(found: str | None, wanted: str) -> bool:
        if found is None:
            return False
        return found.startswith(wanted) if prefix else found == wanted

    if name == "tag":
        return Check(lambda t: any(eq(x, value) for x in t.item.tags), None, label)
    if name == "type":
        return Check(
            lambda t: eq(t.item.type, value),
            None if prefix else frozenset({("type", value)}),
            label,
        )
    if name == "source":
        wanted = fold(value)
        return Check(
            lambda t: eq(fold(t.item.source) if t.item.source else None, wanted),
            None if prefix else frozenset({("source", wanted)}),
            label,
        )
    if name == "lang":
        return Check(lambda t: t.language == value, frozenset({("lang", value)}), label)
    if name == "tlp":
        return Check(lambda t: (t.item.tlp or "none") == value, frozenset({("tlp", value)}), label)
    if name == "id":
        return Check(lambda t: eq(t.item.id, value), None, label)
    # ioc
    from kizashi.model.observables import INDICATOR_KINDS

    kind = value.lower()
    if kind in INDICATOR_KINDS and not prefix:
        return Check(lambda t: kind in t.kinds, frozenset({("kind", kind)}), label)
    values = term(value).iocs or (fold(value),)
    if prefix:
        return Check(
            lambda t: all(any(i.startswith(v) for i in t.iocs) for v in values), None, label
        )
    return Check(lambda t: all(v in t.iocs for v in values), frozenset({("i", values[0])}), label)


def _dates(d: sq.DateRange) -> Node:
    lo, hi = _ts(d.start), _ts(d.end)

    def inside(t: Terms) -> bool:
        when = _ts(getattr(t.item, d.name)) or (
            _ts(t.item.created) if d.name == "published" else None
        )
        if when is None:
            return False
        return (lo is None or when >= lo) and (hi is None or when < hi)

    return Check(inside, None, f"{d.name}")


class Scorer:
    """The learned model as rules see it (set by the service; None: not trained)."""

    def __init__(self, model: Any = None) -> None:
        self.model = model

    def scores(self, t: Terms) -> dict[str, float]:
        if self.model is None:
            return {}
        found: dict[str, float] | None = getattr(t, "_auto_scores", None)
        if found is None:
            from kizashi.text.classify import tokens

            found = self.model.scores(tokens(t.analysis))
            t._auto_scores = found  # type: ignore[attr-defined]
        return found


class AutoNode(Node):
    def __init__(self, threshold: float, tags: tuple[str, ...], scorer: Scorer) -> None:
        self.threshold = threshold
        self.tags = tags
        self.scorer = scorer
        self.keys = None

    def test(self, t: Terms, why: list[str]) -> bool:
        scores = self.scorer.scores(t)
        found = [(tag, scores[tag]) for tag in self.tags if scores.get(tag, 0.0) >= self.threshold]
        why += [f"auto:{tag}={score:.2f}" for tag, score in found]
        return bool(found)


def compile_condition(
    cond: rm.Cond, rule: str, *, auto: tuple[Scorer, tuple[str, ...]] | None = None
) -> Node:
    match cond:
        case rm.Auto(threshold=threshold):
            scorer, tags = auto or (Scorer(), ())
            return AutoNode(threshold, tags, scorer)
        case rm.Query(expr=expr):
            return compile_query(expr)
        case rm.Words(words=words, all=every):
            return Combine([TermNode(term(w)) for w in words], every=every)
        case rm.Phrase(text=text):
            return TermNode(term(text, phrase=True))
        case rm.Regex(pattern=pattern, ignore_case=ignore_case):
            return RegexNode(pattern, ignore_case, rule)
        case rm.Fuzzy(text=text, threshold=threshold):
            return FuzzyNode(text, threshold)
        case rm.Source(names=names):
            wanted = {fold(n) for n in names}
            return Check(
                lambda t: t.item.source is not None and fold(t.item.source) in wanted,
                frozenset({("source", n) for n in wanted}),
                "source",
            )
        case rm.Language(code=code):
            return Check(lambda t: t.language == code, frozenset({("lang", code)}), f"lang:{code}")
        case rm.Indicator(kinds=kinds):
            return Check(
                lambda t: any(k in t.kinds for k in kinds),
                frozenset({("kind", k) for k in kinds}),
                "indicator:" + ",".join(kinds),
            )
        case rm.Watchlist(values=values, name=name):
            return WatchNode(values, name)
        case rm.All(conds=conds):
            return Combine([compile_condition(c, rule, auto=auto) for c in conds], every=True)
        case rm.AnyOf(conds=conds):
            return Combine([compile_condition(c, rule, auto=auto) for c in conds], every=False)
        case rm.Not(cond=inner):
            return Negate(compile_condition(inner, rule, auto=auto))
    raise TypeError(f"not a condition: {cond!r}")  # pragma: no cover


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Plain strings at least one of which every match of ``pattern`` contains, the
    strongest such set read from the parsed pattern: a run of literal characters
    (``CVE-2024-``), or one per branch of an alternation (``(?:Emotet|Qakbot)``), each at
    least three characters long (two for Japanese). None when there is none or the
    pattern uses syntax only the ``regex`` module knows."""
    try:
        import re._parser as sre  # type: ignore[import-not-found]

        parsed = sre.parse(pattern)
    except Exception:  # anything the stdlib cannot read: no prefilter, always run
        return None
    best = max(_required(list(parsed)), key=_strength, default=None)
    if best is None or _strength(best)[0] < 3:
        return None
    return tuple(sorted(best))


def required_literal(pattern: str) -> str | None:
    """The one literal every match contains (see :func:`required_literals`), if one."""
    found = required_literals(pattern)
    return found[0] if found is not None and len(found) == 1 else None


def _strength(literals: frozenset[str]) -> tuple[float, int]:
    """Longer is rarer; a Japanese character counts for one and a half."""
    weakest = min(sum(1.0 if c.isascii() else 1.5 for c in lit) for lit in literals)
    return weakest, -len(literals)


def _required(items: list[Any]) -> list[frozenset[str]]:
    """Sets of strings of which every match of this parsed sequence holds one."""
    out: list[frozenset[str]] = []
    run: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(arg))
            continue
        if run:
            out.append(frozenset({"".join(run)}))
            run = []
        if name == "BRANCH":
            alternatives: list[frozenset[str]] = []
            for branch in arg[1]:
                best = max(_required(list(branch)), key=_strength, default=None)
                if best is None:
                    break  # a branch that needs no literal: the alternation needs none
                alternatives.append(best)
            else:
                out.append(frozenset().union(*alternatives))
        elif name == "SUBPATTERN":
            out += _required(list(arg[-1]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and arg[0] >= 1:
            out += _required(list(arg[2]))
    if run:
        out.append(frozenset({"".join(run)}))
    return out


# -- a set of rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    key: Any  # the caller's handle (rule pk, version …)
    name: str
    node: Node


@dataclass(frozen=True)
class Hit:
    key: Any
    name: str
    why: list[str]


class RuleSet:
    """Rules compiled once, tested against many items in order."""

    def __init__(self, rules: list[Compiled]) -> None:
        import ahocorasick

        self.rules = rules
        self.always = [i for i, r in enumerate(rules) if r.node.keys is None]
        found: dict[Key, list[int]] = {}
        for i, r in enumerate(rules):
            for k in r.node.keys or ():
                found.setdefault(k, []).append(i)
        # Tuples of ints: the collector stops walking them (see term()).
        self.by_key: dict[Key, tuple[int, ...]] = {k: tuple(v) for k, v in found.items()}
        #: The values of each kind of key, for one C-level set intersection per kind
        #: (an item has hundreds of words; a rule set holds a few of them).
        self._values: dict[str, frozenset[str]] = {
            kind: frozenset(v for k, v in self.by_key if k == kind) for kind in ("w", "i", "kind")
        }
        self._runs = _automaton(ahocorasick, [v for kind, v in self.by_key if kind == "s"])
        self._text = _automaton(ahocorasick, [v for kind, v in self.by_key if kind == "r"])

    def candidates(self, t: Terms) -> list[int]:
        by_key = self.by_key
        values = self._values
        keys: set[Key] = {("w", w) for w in values["w"].intersection(t.words)}
        if values["i"]:
            keys.update(("i", v) for v in values["i"].intersection(t.iocs))
        if values["kind"]:
            keys.update(("kind", v) for v in values["kind"].intersection(t.kinds))
        for k in (
            ("type", t.item.type),
            ("lang", t.language or ""),
            ("tlp", t.item.tlp or "none"),
            ("source", fold(t.item.source) if t.item.source else ""),
        ):
            if k in by_key:
                keys.add(k)
        if self._runs is not None and t.runs_text:
            keys.update(("s", v) for _, v in self._runs.iter(t.runs_text))
        if self._text is not None:
            keys.update(("r", v) for _, v in self._text.iter(t.lowered))
        t.hit_keys = keys
        chosen = set(self.always)
        for k in keys:
            chosen.update(by_key[k])
        return sorted(chosen)

    def evaluate(
        self,
        t: Terms,
        *,
        on_hit: Callable[[Hit], None] | None = None,
        allow: Callable[[Hit], bool] | None = None,
    ) -> list[Hit]:
        """The rules ``t`` matches, in order. ``on_hit`` runs after each match, before the
        next rule is tested (so a later rule sees the tags an earlier one added). A match
        ``allow`` refuses (a rule whose owner may not read the item) is not one: neither
        returned nor passed on."""
        hits = []
        for i in self.candidates(t):
            r = self.rules[i]
            why: list[str] = []
            if r.node.test(t, why):
                hit = Hit(r.key, r.name, list(dict.fromkeys(w for w in why if w)))
                if allow is not None and not allow(hit):
                    continue
                hits.append(hit)
                if on_hit:
                    on_hit(hit)
        return hits


class LiteralGate:
    """Which of some nodes an item can match, judged by their regex literals alone: one
    Aho-Corasick pass over the item's lower-cased text, no analysis. A node whose keys are
    not all literals (or who has none) always passes."""

    def __init__(self, nodes: list[Node]) -> None:
        import ahocorasick

        self.always: list[int] = []
        self.by_literal: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            keys = node.keys
            if keys is None or any(kind != "r" for kind, _ in keys):
                self.always.append(i)
                continue
            for _, literal in keys:
                self.by_literal.setdefault(literal, []).append(i)
        self._automaton = _automaton(ahocorasick, list(self.by_literal))

    def open(self, t: Terms) -> list[int]:
        """The nodes worth testing on ``t``, in their order."""
        if self._automaton is None:
            return self.always
        found = set(self.always)
        for _, literal in self._automaton.iter(t.lowered):
            found.update(self.by_literal[literal])
        return sorted(found)


def _automaton(ahocorasick: Any, words: list[str]) -> Any:
    if not words:
        return None
    a = ahocorasick.Automaton()
    for w in set(words):
        a.add_word(w, w)
    a.make_automaton()
    return a
