"""Many rules tested against an item at once: only the rules whose keys the item holds are
evaluated (words and indicators by one dictionary lookup, Japanese runs and regex
literals by Aho-Corasick automatons)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kizashi.text.analyse import fold
from kizashi.text.rulematch.items import Key, Terms
from kizashi.text.rulematch.nodes import Node


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
