"""Compiled conditions: each node has *keys* (the terms one of which an item must hold for
the node to match, None: always evaluate) and a test that says what matched."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from kizashi.text.analyse import fold
from kizashi.text.rulematch.items import Key, Terms
from kizashi.text.rulematch.literals import required_literals
from kizashi.text.rulematch.terms import Term, term

log = logging.getLogger(__name__)

REGEX_TIMEOUT = 0.05  # seconds per rule per item


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
