"""Rule conditions as index queries: how "apply to existing" and "test" find stored items.

A condition made only of words, phrases, queries, sources, languages, indicator kinds and
watch lists becomes one tantivy query with exactly the meaning
:mod:`kizashi.text.rulematch` gives it on a single incoming item (both follow
:mod:`kizashi.search.compile`). Regular expressions, fuzzy matches and the learned model
need the text: for them the index narrows the candidates (the other conditions of an AND), and each
candidate's text is tested in Python.
"""

from __future__ import annotations

from typing import Any

import tantivy

from kizashi.model import rules as rm
from kizashi.search.compile import Compiler, Occur
from kizashi.text.analyse import fold

Q = tantivy.Query


def needs_text(cond: rm.Cond) -> bool:
    match cond:
        case rm.Regex() | rm.Fuzzy() | rm.Auto():
            return True
        case rm.All(conds=conds) | rm.AnyOf(conds=conds):
            return any(needs_text(c) for c in conds)
        case rm.Not(cond=inner):
            return needs_text(inner)
    return False


class RuleCompiler:
    def __init__(self, compiler: Compiler) -> None:
        self.c = compiler
        self.schema = compiler.schema

    def exact(self, cond: rm.Cond) -> Any:
        """The query matching exactly what ``cond`` matches (no regex or fuzzy inside)."""
        match cond:
            case rm.Query(expr=expr):
                return self.c.compile(expr)
            case rm.Words(words=words, all=every):
                parts = [self.c.text(w, phrase=False) or Q.empty_query() for w in words]
                occur = Occur.Must if every else Occur.Should
                return Q.boolean_query([(occur, p) for p in parts])
            case rm.Phrase(text=text):
                return self.c.text(text, phrase=True) or Q.empty_query()
            case rm.Source(names=names):
                return Q.term_set_query(self.schema, "source_k", sorted({fold(n) for n in names}))
            case rm.Language(code=code):
                return Q.term_query(self.schema, "lang", code)
            case rm.Indicator(kinds=kinds):
                return Q.term_set_query(self.schema, "ioc_kind", list(kinds))
            case rm.Watchlist(values=values):
                return self._watchlist(values)
            case rm.All(conds=conds):
                return Q.boolean_query([(Occur.Must, self.exact(x)) for x in conds])
            case rm.AnyOf(conds=conds):
                return Q.boolean_query([(Occur.Should, self.exact(x)) for x in conds])
            case rm.Not(cond=inner):
                return Q.boolean_query(
                    [(Occur.Must, Q.all_query()), (Occur.MustNot, self.exact(inner))]
                )
        raise ValueError(f"needs the text: {cond!r}")

    def candidates(self, cond: rm.Cond) -> Any:
        """A query matching at least everything ``cond`` matches (all documents when the
        index cannot narrow it)."""
        found = self.narrowing(cond)
        return Q.all_query() if found is None else found

    def narrowing(self, cond: rm.Cond) -> Any | None:
        """:meth:`candidates`, or None when that would be every document."""
        if not needs_text(cond):
            return self.exact(cond)
        match cond:
            case rm.All(conds=conds):
                narrowing = [self.exact(x) for x in conds if not needs_text(x)]
                narrowing += [
                    q
                    for x in conds
                    if needs_text(x) and isinstance(x, rm.All)
                    if (q := self.narrowing(x)) is not None
                ]
                if narrowing:
                    return Q.boolean_query([(Occur.Must, q) for q in narrowing])
        return None

    def _watchlist(self, values: tuple[str, ...]) -> Any:
        from kizashi.text.analyse import analyse
        from kizashi.text.rulematch import term

        iocs: list[str] = []
        others: list[Any] = []
        for value in values:
            # The same (cached) term the ingest path's watch list made.
            t = term(value, phrase=True)
            if t.iocs and len(t.iocs) == 1 and not t.words and not t.runs:
                iocs.append(t.iocs[0])
            else:
                q = self.c.analysed(analyse(value), phrase=True)
                if q is not None:
                    others.append(q)
        parts = []
        if iocs:
            parts.append(Q.term_set_query(self.schema, "ioc", sorted(set(iocs))))
        parts += others
        if not parts:
            return Q.empty_query()
        return Q.boolean_query([(Occur.Should, p) for p in parts])
