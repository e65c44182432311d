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

The package: :mod:`.items` (what rules read of an item), :mod:`.terms` (a word or phrase),
:mod:`.literals` (what a regular expression's matches must contain), :mod:`.nodes`
(compiled conditions), :mod:`.conditions` (conditions and queries compiled),
:mod:`.ruleset` (many rules at once).
"""

from kizashi.text.rulematch.conditions import compile_condition, compile_query
from kizashi.text.rulematch.items import Item, Key, Terms
from kizashi.text.rulematch.literals import required_literal, required_literals
from kizashi.text.rulematch.nodes import REGEX_TIMEOUT, Node, RegexNode, Scorer
from kizashi.text.rulematch.ruleset import Compiled, Hit, LiteralGate, RuleSet
from kizashi.text.rulematch.terms import Term, term

__all__ = [
    "REGEX_TIMEOUT",
    "Compiled",
    "Hit",
    "Item",
    "Key",
    "LiteralGate",
    "Node",
    "RegexNode",
    "RuleSet",
    "Scorer",
    "Term",
    "Terms",
    "compile_condition",
    "compile_query",
    "required_literal",
    "required_literals",
    "term",
]
