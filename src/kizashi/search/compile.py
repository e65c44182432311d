"""A parsed query (:mod:`kizashi.model.searchquery`) into a tantivy query.

A word or phrase is analysed exactly as documents are, then matched three ways:

- **words** (Sudachi's normalised Japanese words, English stems) in the title and body;
- **bigrams** of its Japanese runs, as a phrase (the run appears as written, even inside a
  longer word: ``ログ`` inside ``プログラム``), so recall equals a substring search;
- **indicators** as single terms (``10.0.0.5`` never matches ``10.0.0.50``).

Scores come in tiers added on top of BM25, so the order the issue asks for holds whatever
BM25 says: a word match in the title (+150) > a word match in the body (+100) > a
bigram-only match in the title (+10) > a bigram-only match in the body; a term's words
written side by side add 20. Field filters
score nothing. Recency breaks near-ties (``weight_by_field``, see documents.recency).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import tantivy

from kizashi.model import searchquery as sq
from kizashi.model.tlp import LEVELS
from kizashi.text.analyse import Analysis, analyse, fold
from kizashi.text.extract.core import TYPES as IOC_KINDS

WORD_TITLE, WORD_BODY, GRAM_TITLE, ADJACENT = 150.0, 100.0, 10.0, 20.0
_DATE_FIELDS = {"published", "created", "modified"}
#: The bookkeeping document's pk (see kizashi.search.index).
META_PK = -1
#: Query fields whose value is one term of an index field.
_TERM_FIELDS = {"tag": "tag", "type": "type", "lang": "lang", "tlp": "tlp", "source": "source_k"}

Occur = tantivy.Occur
Q = tantivy.Query


@dataclass(frozen=True)
class Access:
    """Who is asking, as the index sees it: the TLP levels they may read in full, and
    whether they may also read TLP:RED objects they created themselves."""

    levels: frozenset[str]
    user_pk: int | None = None
    own_red: bool = True


def _any(queries: list[Any]) -> Any:
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(Occur.Should, q) for q in queries])


def _all(queries: list[Any]) -> Any:
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(Occur.Must, q) for q in queries])


def _filter(query: Any) -> Any:
    return Q.const_score_query(query, 0.0)


class Compiler:
    """Compiles queries for one schema.

    Two variants serve large result sets (see :meth:`SearchIndex.search`):

    - ``words_only``: text terms match by their words and indicators, without the bigram
      phrases. It matches a subset of what the full query matches (a ``NOT`` keeps the full
      meaning of what it excludes), cheaply: the bigram phrase of a common word is nine
      tenths of the full query's cost.
    - ``within``: a filter ANDed into every phrase (bigram runs, quoted words), not only
      around the whole query. tantivy's union of clauses, when an intersection seeks it,
      reads every clause over a horizon of thousands of documents at each step, so a
      filter outside a union saves nothing where a clause is a phrase (positions are read
      for every document of the horizon); pushed inside, a phrase is read only where the
      filter allows. Plain terms stay outside it: reading their postings is cheap, and
      the filter itself costs something in each clause it is put into.
    - ``match_only``: one clause per field instead of the scoring tiers (newest first
      sorts by date; the score is not read).
    """

    def __init__(
        self,
        schema: Any,
        *,
        words_only: bool = False,
        within: Any = None,
        match_only: bool = False,
    ) -> None:
        self.schema = schema
        self.words_only = words_only
        self.within = within
        self.match_only = match_only
        #: Set when ``words_only`` left a bigram clause out (the variant then differs).
        self.dropped = False

    def variant(
        self, *, words_only: bool = False, within: Any = None, match_only: bool = False
    ) -> Compiler:
        return Compiler(self.schema, words_only=words_only, within=within, match_only=match_only)

    def _inside(self, query: Any) -> Any:
        if self.within is None:
            return query
        return Q.boolean_query([(Occur.Must, query), (Occur.Must, self.within)])

    # -- text ------------------------------------------------------------------

    def _terms(self, field: str, words: list[str], phrase: bool) -> Any:
        if len(words) == 1:
            return Q.term_query(self.schema, field, words[0])
        if phrase:
            return self._inside(
                Q.phrase_query(self.schema, field, list[str | tuple[int, str]](words))
            )
        return _all([Q.term_query(self.schema, field, w) for w in words])

    def _grams(self, field: str, runs: list[str]) -> Any:
        parts = []
        for run in runs:
            if len(run) == 1:
                parts.append(Q.regex_query(self.schema, field, re.escape(run) + ".?"))
            elif len(run) == 2:
                parts.append(Q.term_query(self.schema, field, run))
            else:
                pairs: list[str | tuple[int, str]] = [run[i : i + 2] for i in range(len(run) - 1)]
                parts.append(self._inside(Q.phrase_query(self.schema, field, pairs)))
        return _all(parts)

    def text(self, text: str, *, phrase: bool) -> Any | None:
        a = analyse(text)
        return self.analysed(a, phrase=phrase)

    def analysed(self, a: Analysis, *, phrase: bool) -> Any | None:
        should: list[Any] = []
        iocs = _primary_indicators(a)
        words = a.words
        scored = not self.match_only
        if words:
            # Unquoted, a term's words need only all be there (``製造業ランサムウェア`` finds
            # 製造業を狙ったランサムウェア); written together they rank higher. Quoted, they
            # must be in order, side by side. (In a term mixing Japanese and English the
            # analyser groups words by script, so order is not asked of them.)
            mixed = bool(a.english and a.runs)
            tw = self._terms("title_w", words, phrase and not mixed)
            bw = self._terms("body_w", words, phrase and not mixed)
            if scored:
                should += [
                    Q.const_score_query(tw, WORD_TITLE),
                    Q.const_score_query(bw, WORD_BODY),
                    Q.boost_query(tw, 3.0),
                    bw,
                ]
            else:
                should += [tw, bw]
            if scored and not phrase and len(words) > 1 and not mixed:
                together = self._terms("body_w", words, True)
                should.append(Q.const_score_query(together, ADJACENT))
        if a.runs and self.words_only:
            self.dropped = True
        elif a.runs:
            tg = self._grams("title_b", a.runs)
            bg = self._grams("body_b", a.runs)
            if scored:
                should += [Q.const_score_query(tg, GRAM_TITLE), Q.boost_query(tg, 1.5), bg]
            else:
                should += [tg, bg]
        if iocs:
            iq = _all([Q.term_query(self.schema, "ioc", v) for v in iocs])
            should += (
                [Q.const_score_query(iq, WORD_BODY), Q.boost_query(iq, 2.0)] if scored else [iq]
            )
        if not should:
            return None
        if iocs and (words or a.runs):
            # An indicator and words in one term ("evil.com/path の"): the indicator is
            # required, the words rank.
            required = _all([Q.term_query(self.schema, "ioc", v) for v in iocs])
            return Q.boolean_query([(Occur.Must, required)] + [(Occur.Should, q) for q in should])
        return _any(should)

    # -- fields ----------------------------------------------------------------

    def field(self, f: sq.Field) -> Any:
        name, value = f.name, f.value
        if name == "source":
            return self._keyword("source_k", fold(value), f.prefix)
        if name == "ioc":
            kind = value.lower()
            if kind in IOC_KINDS and not f.prefix:
                return Q.term_query(self.schema, "ioc_kind", kind)
            a = analyse(value)
            values = _primary_indicators(a) or [fold(value)]
            return _all([self._keyword("ioc", v, f.prefix) for v in values])
        if name == "tag":
            return self._keyword("tag", value, f.prefix)
        if name == "keyword":
            # A keyword as term statistics count it (``サプライチェーン攻撃``, ``volt typhoon``),
            # written as counted or as in a text (``Vulnerabilities``, ``コンピュータ``).
            forms = {fold(value), *analyse(value).keywords()[:1]}
            return _any([Q.term_query(self.schema, "kw", v) for v in sorted(forms)])
        return self._keyword(name, value, f.prefix)

    def _keyword(self, field: str, value: str, prefix: bool) -> Any:
        if prefix:
            return Q.regex_query(self.schema, field, re.escape(value) + ".*")
        return Q.term_query(self.schema, field, value)

    def dates(self, d: sq.DateRange) -> Any:
        lo = datetime.fromisoformat(d.start.replace("Z", "+00:00")) if d.start else None
        hi = datetime.fromisoformat(d.end.replace("Z", "+00:00")) if d.end else None
        return Q.range_query(
            self.schema,
            d.name,
            tantivy.FieldType.Date,
            lo,
            hi,
            include_lower=True,
            include_upper=hi is None,
        )

    # -- structure -------------------------------------------------------------

    def compile(self, expr: sq.Expr) -> Any:
        """A query that matches what ``expr`` asks for (all documents for MatchAll)."""
        match expr:
            case sq.MatchAll():
                return Q.all_query()
            case sq.Word(text=text):
                return self.text(text, phrase=False) or Q.empty_query()
            case sq.Phrase(text=text):
                return self.text(text, phrase=True) or Q.empty_query()
            case sq.Field():
                return _filter(self.field(expr))
            case sq.DateRange():
                return _filter(self.dates(expr))
            case sq.Not(expr=inner):
                return Q.boolean_query(
                    [(Occur.Must, _filter(Q.all_query())), (Occur.MustNot, self._excluded(inner))]
                )
            case sq.And(exprs=parts):
                clauses = []
                for p in parts:
                    if isinstance(p, sq.Not):
                        clauses.append((Occur.MustNot, self._excluded(p.expr)))
                    else:
                        clauses.append((Occur.Must, self.compile(p)))
                if all(o == Occur.MustNot for o, _ in clauses):
                    clauses.append((Occur.Must, _filter(Q.all_query())))
                return Q.boolean_query(clauses)
            case sq.Or(exprs=parts):
                return Q.boolean_query([(Occur.Should, self.compile(p)) for p in parts])
        raise TypeError(f"not a query: {expr!r}")  # pragma: no cover - exhaustive

    # -- how many documents a query can match, at most --------------------------------

    def upper_bound(self, expr: sq.Expr, doc_freq: Callable[[str, Any], int], total: int) -> int:
        """At most how many documents ``expr`` matches, from term document frequencies
        alone (microseconds): a search uses it to choose how to run, never to answer."""
        match expr:
            case sq.Word(text=text) | sq.Phrase(text=text):
                return min(total, self._text_bound(analyse(text), doc_freq, total))
            case sq.Field(name=name, value=value, prefix=False) if name in _TERM_FIELDS:
                field = _TERM_FIELDS[name]
                return min(total, doc_freq(field, fold(value) if name == "source" else value))
            case sq.And(exprs=parts):
                bounds = [
                    self.upper_bound(p, doc_freq, total) for p in parts if not isinstance(p, sq.Not)
                ]
                return min(bounds, default=total)
            case sq.Or(exprs=parts):
                return min(total, sum(self.upper_bound(p, doc_freq, total) for p in parts))
        return total

    def _text_bound(self, a: Analysis, doc_freq: Callable[[str, Any], int], total: int) -> int:
        def either(field_title: str, field_body: str, term: str) -> int:
            return doc_freq(field_title, term) + doc_freq(field_body, term)

        iocs = _primary_indicators(a)
        if iocs:  # every indicator is required
            return min(doc_freq("ioc", v) for v in iocs)
        bound = 0
        if a.words:  # all words are required
            bound += min(either("title_w", "body_w", w) for w in a.words)
        for run in a.runs[:1]:  # all of a run's bigrams are required (one run is enough)
            if len(run) < 2:
                return total  # a one-character run is a prefix search: no cheap bound
            bound += min(either("title_b", "body_b", run[i : i + 2]) for i in range(len(run) - 1))
        return bound

    def _excluded(self, inner: sq.Expr) -> Any:
        """What a NOT takes away, always with its full meaning (a words-only NOT would
        let through items that hold the word only as a substring)."""
        if not self.words_only:
            return self.compile(inner)
        return self.variant(within=self.within, match_only=self.match_only).compile(inner)

    def denied(self, access: Access) -> list[Any]:
        """What ``access`` may not read, as queries to exclude: the TLP levels outside
        its own (TLP:RED it created itself excepted) and the index's bookkeeping.

        Exclusions, not a list of what may be read: an exclusion is looked up only for
        the documents the query matches, and the excluded sets are small (RED, or
        nothing at all for someone who may read everything), whereas a filter of the
        allowed levels is built over nearly the whole index for every query (17 ms at a
        million documents, measured).
        """
        out = [Q.term_query(self.schema, "pk", META_PK)]
        forbidden = sorted(frozenset(LEVELS) - access.levels)  # unmarked: readable by all
        if forbidden:
            deny = Q.term_set_query(self.schema, "tlp", forbidden)
            if access.own_red and access.user_pk and "red" in forbidden:
                own = Q.boolean_query(
                    [
                        (Occur.Must, Q.term_query(self.schema, "tlp", "red")),
                        (Occur.Must, Q.term_query(self.schema, "created_by", access.user_pk)),
                    ]
                )
                deny = Q.boolean_query([(Occur.Must, deny), (Occur.MustNot, own)])
            out.append(deny)
        return out

    def query(self, expr: sq.Expr, access: Access) -> Any:
        clauses = [(Occur.Must, self.compile(expr))]
        clauses += [(Occur.MustNot, q) for q in self.denied(access)]
        if self.within is not None:
            clauses.append((Occur.Must, self.within))
        return Q.boolean_query(clauses)


def _primary_indicators(a: Analysis) -> list[str]:
    """The indicators written in the text, without the parent domains added for them."""
    seen: set[tuple[int, int]] = set()
    out = []
    for value, start, end in a.indicators:
        if (start, end) in seen:
            continue
        seen.add((start, end))
        out.append(value)
    return out
