"""Counts for analytics, read from the search index's fast fields.

The index already holds every document's keywords (``kw``, each once; ``kwc``,
``keyword\\x1fcount`` where it occurs more than once), tags, indicators and dates, and it
is kept current as items arrive (:mod:`kizashi.search.sync`). A statistic over a
selection is then one aggregation in tantivy's columnar code over the documents the
selection's query matches, with the same TLP exclusions as a search: nothing is counted
per request that the index did not already maintain.

The background a keyword is compared with (its document frequency in everything the
asker may read) is one aggregation over that background, kept a few minutes per reader:
aware of TLP and of deleted documents, unlike the index's own document frequencies.

Every statistic is also kept per state of the index (:func:`kept`): the same question of
an index that has not changed has the same answer, and the pages that ask (the home
page, analytics, the relation map) ask the same questions of a store at rest. At
100,000 items an aggregation over everything takes 0.1-0.3 s; a kept answer, none. A
commit changes the state, so nothing kept is ever stale; under a steady flow of new
items the first reader after each commit pays the full price.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

import tantivy

from kizashi.model import searchquery as sq
from kizashi.search.compile import Access, Occur
from kizashi.search.documents import TF_MARK, TextFields
from kizashi.search.index import SearchIndex

Q = tantivy.Query
T = TypeVar("T")
P = ParamSpec("P")
#: Buckets a terms aggregation may return (tantivy refuses more than 65,000 in all).
MAX_BUCKETS = 60_000
#: Keywords whose background frequency one aggregation reads; rarer ones are counted
#: one by one when a statistic needs them.
BACKGROUND_SIZE = 50_000
#: Seconds a background count is reused.
BACKGROUND_TTL = 300.0
#: Answers :func:`kept` holds at most (the oldest go first).
KEPT_ANSWERS = 256


def kept(index: SearchIndex, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned for ``key`` while the index held what it holds
    now (see the module's note). ``key`` names the question in full: its function and
    every argument (expressions, access and numbers are hashable)."""
    full = ("kept", index.state(), key)
    memo = index.memo
    try:
        found: T = memo[full]
        return found
    except KeyError:
        pass
    value = compute()
    while len(memo) >= KEPT_ANSWERS:
        try:
            memo.pop(next(iter(memo)), None)
        except (StopIteration, RuntimeError):  # emptied or changed by another thread
            break
    memo[full] = value
    return value


def kept_per_state(
    fn: Callable[Concatenate[SearchIndex, P], T],
) -> Callable[Concatenate[SearchIndex, P], T]:
    """``fn`` with its answers :func:`kept`: the question is its name and every argument
    after the index, defaults filled in (two spellings of one question share an answer)."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def answer(index: SearchIndex, /, *args: P.args, **kwargs: P.kwargs) -> T:
        bound = signature.bind(index, *args, **kwargs)
        bound.apply_defaults()
        key = (fn.__name__, *list(bound.arguments.values())[1:])
        return kept(index, key, lambda: fn(index, *args, **kwargs))

    return answer


@dataclass(frozen=True)
class TermCount:
    term: str
    #: Documents of the selection that hold the term.
    docs: int
    #: Times it occurs in them.
    count: int
    #: Documents of everything the asker may read that hold it.
    background: int


@dataclass(frozen=True)
class TermCounts:
    #: Documents in the selection, and in everything the asker may read.
    selected: int
    total: int
    terms: list[TermCount]
    #: False when some occurrence counts are lower bounds (too many distinct counts).
    counts_exact: bool = True


@dataclass(frozen=True)
class Buckets:
    """Documents per value of one field over a selection."""

    selected: int
    values: list[tuple[str, int]]


@kept_per_state
def term_counts(
    index: SearchIndex,
    expr: sq.Expr,
    access: Access,
    *,
    candidates: int = 500,
    background: sq.Expr | None = None,
    compare: bool = True,
) -> TermCounts:
    """The ``candidates`` keywords held by most documents of the selection, with their
    occurrences and, unless ``compare`` is False, their frequency in ``background``
    (everything, by default)."""
    compiler = index.compiler.variant(match_only=True)
    query = compiler.query(expr, access)
    searcher = index.searcher()
    aggs: dict[str, Any] = {
        "kw": {"terms": {"field": "kw", "size": candidates}},
        "n": {"value_count": {"field": "pk"}},
    }
    result = searcher.aggregate(query, aggs)
    selected = int(result.get("n", {}).get("value") or 0)
    docs = {str(b["key"]): int(b["doc_count"]) for b in result["kw"]["buckets"]}
    extra, exact = _extra_occurrences(searcher, query, docs)
    if not compare:
        terms = [TermCount(t, n, n + extra.get(t, 0), n) for t, n in docs.items()]
        return TermCounts(selected, selected, terms, exact)
    base = background or sq.MatchAll()
    everything = compiler.query(base, access)
    total, known, complete = _background_counts(index, searcher, base, everything, access)
    terms = []
    for term, n in docs.items():
        if term in known:
            bg = known[term]
        elif complete:
            bg = n  # the selection is not inside the background: at least its own
        else:  # rarer than the background's commonest: its postings are short
            bg = _count_with(searcher, index, everything, term)
        terms.append(TermCount(term, n, n + extra.get(term, 0), max(bg, n)))
    return TermCounts(selected, total, terms, exact)


def _background_counts(
    index: SearchIndex, searcher: Any, base: sq.Expr, everything: Any, access: Access
) -> tuple[int, dict[str, int], bool]:
    """Documents in the background, and per keyword (the :data:`BACKGROUND_SIZE`
    commonest), and whether that is every keyword; kept :data:`BACKGROUND_TTL` seconds
    per background and reader. One aggregation over every document costs about what a
    selection of all of them does; a keyword's share of the store moves slowly."""
    key = ("background", base, access)
    now = time.monotonic()
    found = index.memo.get(key)
    if found is not None and now - found[0] < BACKGROUND_TTL:
        kept: tuple[int, dict[str, int], bool] = found[1]
        return kept
    aggs = {
        "kw": {"terms": {"field": "kw", "size": BACKGROUND_SIZE}},
        "n": {"value_count": {"field": "pk"}},
    }
    result = searcher.aggregate(everything, aggs)
    counts = {str(b["key"]): int(b["doc_count"]) for b in result["kw"]["buckets"]}
    total = int(result.get("n", {}).get("value") or 0)
    complete = not result["kw"].get("sum_other_doc_count")
    value = (total, counts, complete)
    index.memo[key] = (now, value)
    return value


def _extra_occurrences(
    searcher: Any, query: Any, docs: dict[str, int]
) -> tuple[dict[str, int], bool]:
    """Occurrences beyond the first of each wanted keyword, from ``kwc``; False when the
    distinct (keyword, count) pairs were too many to read every one."""
    try:
        agg = {"c": {"terms": {"field": "kwc", "size": MAX_BUCKETS, "segment_size": MAX_BUCKETS}}}
        result = searcher.aggregate(query, agg)["c"]
    except ValueError:  # over tantivy's bucket limit: the most common pairs only
        agg = {"c": {"terms": {"field": "kwc", "size": MAX_BUCKETS // 4}}}
        result = searcher.aggregate(query, agg)["c"]
    extra: dict[str, int] = {}
    for b in result["buckets"]:
        term, _, times = str(b["key"]).rpartition(TF_MARK)
        if term in docs:
            extra[term] = extra.get(term, 0) + (int(times) - 1) * int(b["doc_count"])
    exact = not result.get("sum_other_doc_count") and not result.get("doc_count_error_upper_bound")
    return extra, exact


def _count(searcher: Any, query: Any) -> int:
    return int(searcher.search(query, 1, count=True).count)


def _count_with(searcher: Any, index: SearchIndex, everything: Any, term: str) -> int:
    query = Q.boolean_query(
        [(Occur.Must, Q.term_query(index.schema, "kw", term)), (Occur.Must, everything)]
    )
    return _count(searcher, query)


@kept_per_state
def value_counts(
    index: SearchIndex, expr: sq.Expr, access: Access, field: str, *, size: int
) -> Buckets:
    """Documents per value of ``field`` (tag, source, ioc, ioc_kind, type, lang, tlp)."""
    query = index.compiler.variant(match_only=True).query(expr, access)
    aggs = {
        "v": {"terms": {"field": field, "size": min(size, MAX_BUCKETS)}},
        "n": {"value_count": {"field": "pk"}},
    }
    result = index.searcher().aggregate(query, aggs)
    values = [(str(b["key"]), int(b["doc_count"])) for b in result["v"]["buckets"]]
    return Buckets(int(result.get("n", {}).get("value") or 0), values)


@kept_per_state
def cooccurrence(
    index: SearchIndex, expr: sq.Expr, access: Access, field: str, *, size: int
) -> tuple[Buckets, dict[tuple[str, str], int]]:
    """The ``size`` commonest values of ``field`` over the selection and, for each pair
    of them, the documents that hold both (one nested aggregation)."""
    query = index.compiler.variant(match_only=True).query(expr, access)
    inner = {"terms": {"field": field, "size": size}}
    aggs = {
        "v": {"terms": {"field": field, "size": size}, "aggs": {"with": inner}},
        "n": {"value_count": {"field": "pk"}},
    }
    result = index.searcher().aggregate(query, aggs)
    values: list[tuple[str, int]] = []
    pairs: dict[tuple[str, str], int] = {}
    for b in result["v"]["buckets"]:
        key = str(b["key"])
        values.append((key, int(b["doc_count"])))
        for other in b["with"]["buckets"]:
            okey = str(other["key"])
            if okey > key:
                pairs[(key, okey)] = int(other["doc_count"])
    kept = {k for k, _ in values}
    pairs = {p: n for p, n in pairs.items() if p[1] in kept}
    return Buckets(int(result.get("n", {}).get("value") or 0), values), pairs


@kept_per_state
def histogram(
    index: SearchIndex,
    expr: sq.Expr,
    access: Access,
    *,
    interval: str,
    offset: timedelta = timedelta(),
) -> list[tuple[int, int]]:
    """Documents per hour, day or week of publication (buckets starting ``offset`` after
    UTC's: ``-9h`` makes Tokyo's days) as (epoch milliseconds of the bucket's start,
    count); or per month (UTC) as (months since year 0, count)."""
    query = index.compiler.variant(match_only=True).query(expr, access)
    fixed = {"hour": "1h", "day": "1d", "week": "7d"}
    if interval == "month":
        agg = {"h": {"histogram": {"field": "month", "interval": 1, "min_doc_count": 1}}}
    else:
        spec: dict[str, Any] = {
            "field": "published",
            "fixed_interval": fixed[interval],
            "min_doc_count": 1,
        }
        if offset:
            spec["offset"] = f"{int(offset.total_seconds() // 60)}m"
        agg = {"h": {"date_histogram": spec}}
    result = index.searcher().aggregate(query, agg)
    return [(int(b["key"]), int(b["doc_count"])) for b in result["h"]["buckets"]]


@kept_per_state
def keyword_sets(
    index: SearchIndex, expr: sq.Expr, access: Access, *, newest: int
) -> list[set[str]]:
    """The keywords of each of the ``newest`` documents of the selection, read from what
    the index stored of their analysis (for pair counts, which one aggregation cannot
    give over a field of a hundred thousand values: tantivy's nested terms aggregation
    keeps a sub-aggregation per value, measured at six seconds for 1,000 documents)."""
    query = index.compiler.variant(match_only=True).query(expr, access)
    searcher = index.searcher()
    found: Any = searcher.search(
        query, newest, count=False, order_by_field="sortkey", order=tantivy.Order.Desc
    )
    out: list[set[str]] = []
    for _, addr in found.hits:
        data = searcher.doc(addr).get_first("analysed")
        text = TextFields.decode(bytes(data), None, []) if data is not None else None
        if text is not None:
            out.append(set(text.keywords))
    return out
