"""Full-text search: Kizashi's index against Groonga on the same documents and queries.

``python -m bench --only search`` (``--quick``: 5,000 documents, no million). Data, queries
and the substring truth come from :mod:`bench.search_data`; the peer is
:mod:`bench.groonga_peer` (Debian's ``groonga-bin``, a bigram index, its query cache off).

1. **Build.** ``build_corpus(n)`` (100,000 documents of about 2 KB) becomes one
   :class:`~kizashi.store.search.DocRow` per document (a report: title, description,
   feed title as its source, ``published``, TLP from its ``tlp:*`` tag, its tags), then
   ``documents.build`` (the analyser: indicators, Sudachi words, bigrams) and
   ``SearchIndex.add`` + one ``apply`` commit, in a temporary directory. Analysis and
   indexing are timed (documents/s); then the writer is closed, which waits for
   tantivy's background merges (timed apart), so that no merge runs beside the queries.
   Size: every file in the index directory (allocated blocks) per document.
2. **Latency.** Every query of ``QUERIES`` runs ``RUNS`` times in each mode, after an
   untimed warm-up: ``relevance`` (top 20, the default sort), ``newest`` (top 20 newest
   first), ``facets`` (``SearchIndex.facets``: type, tag, source, language, TLP, dates) and
   ``count`` (``SearchIndex.count_matches``: every match counted exactly, which a page
   of a large result no longer does, see ``SearchIndex.search``). A
   timing covers what a request does in the index: ``parse`` of the query text, its
   analysis and compilation, the search. Groonga runs the same queries over loopback
   HTTP (its figures include the round trip and JSON decoding).
3. **A million documents** (full run only). Analysing a million documents would take most
   of an hour on two cores, so the 100,000 documents' index fields are added ten times,
   each copy with its own pk, id, ``published`` (an hour earlier per copy), recency and sort
   key. This measures query latency at 1,000,000 documents, not the build rate; the term
   distribution is the 100,000 documents' repeated.
4. **Quality.** Recall of every pure-Japanese query (every part kana or kanji) against the
   substring truth (all documents found, paging with the cursor when over
   :data:`MAX_LIMIT`); for ``ログ``, how many of the top 20 contain ログ as a Sudachi word
   (``analyse(...).words``); for ``10.0.0.5`` and ``evil-domain.com``, the documents
   found against those whose extracted indicators (``kizashi.text.extract.extract``: refanged,
   full-width folded; a URL's host, an e-mail's domain, and for a domain its subdomains)
   hold the value, and, since that truth shares the extractor's mistakes, against a
   regular expression on the folded text (:func:`written_truth`). A missed document whose
   every occurrence of the term lies inside an extracted indicator's span is counted apart
   (the analyser tokenises only the text between indicators).
"""

from __future__ import annotations

import os
import random
import re
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import groonga_peer
from bench.common import pct, table
from bench.search_data import (
    QUERIES,
    SEED,
    Doc,
    Query,
    build_corpus,
    folded_texts,
    parts,
    substring_truth,
)
from kizashi.model.article import ARTICLE_EXTENSION
from kizashi.model.searchquery import parse
from kizashi.model.tlp import LEVELS
from kizashi.search import documents
from kizashi.search.compile import Access
from kizashi.search.documents import IndexDoc
from kizashi.search.index import SearchIndex
from kizashi.store.search import DocRow
from kizashi.text.analyse import analyse
from kizashi.text.extract import extract

FULL_DOCS = 100_000
QUICK_DOCS = 5_000
#: Copies of the 100,000 documents' fields in the million-document index.
COPIES = 10
RUNS = 3
#: Untimed queries per mode before measuring (the peer does the same).
WARM_UP = 8
TOP = 20
#: The largest page asked for when collecting every match (more pages past it).
MAX_LIMIT = 200_000
MODES = ("relevance", "newest", "facets", "count")
#: Every mode reads everything: all TLP levels.
ACCESS = Access(levels=frozenset(LEVELS))

TARGET_RELEVANCE_RATIO = 1.0  # Kizashi relevance p95 / Groonga's
TARGET_NEWEST_P95_MS = 5.0
TARGET_FACETS_P95_MS = 50.0
TARGET_MILLION_P95_MS = 50.0
TARGET_RECALL = 0.99

WORD_QUERY = "ログ"
IP_QUERY = "10.0.0.5"
DOMAIN_QUERY = "evil-domain.com"
_JAPANESE = re.compile("[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff々〆ヵヶ]+")

Progress = Callable[[str], None]


# -- documents -----------------------------------------------------------------------------------
def doc_rows(docs: Sequence[Doc], seed: int = SEED) -> list[DocRow]:
    """Each document as the store hands it to the index: a report, pk ``i + 1``."""
    r = random.Random(seed)
    rows = []
    for i, d in enumerate(docs):
        tlp = next((t.removeprefix("tlp:") for t in d.tags if t.startswith("tlp:")), None)
        rows.append(
            DocRow(
                pk=i + 1,
                id=f"report--{uuid.UUID(int=r.getrandbits(128), version=4)}",
                type="report",
                name=d.title,
                value=None,
                created=None,
                modified=None,
                published=d.published,
                tlp=tlp,
                revoked=False,
                data={
                    "description": d.body,
                    "extensions": {ARTICLE_EXTENSION: {"feed_title": d.source}},
                },
                created_by=None,
                tags=list(d.tags),
                author_name=None,
            )
        )
    return rows


def index_docs(rows: Iterable[DocRow]) -> list[IndexDoc]:
    """``documents.build`` for every row (none is skipped: all are reports)."""
    out = []
    for row in rows:
        doc = documents.build(row)
        if doc is None:
            raise RuntimeError(f"documents.build skipped {row.id}")
        out.append(doc)
    return out


def fill(index: SearchIndex, docs: list[IndexDoc]) -> None:
    """Add in bulk and commit once, as a rebuild does."""
    index.add(docs)
    index.apply({}, 1, {})


def _disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())


def _settle(index: SearchIndex) -> float:
    """Close the writer (waits for the background merges) and reload; seconds taken."""
    start = time.perf_counter()
    index.close()
    index.refresh()
    return time.perf_counter() - start


def _segments(index: SearchIndex) -> int:
    return int(index.searcher().num_segments)


# -- latency -------------------------------------------------------------------------------------
def mode_calls(index: SearchIndex) -> dict[str, Callable[[str], int]]:
    """Mode name -> a call on one query text returning the number of matches."""

    def relevance(text: str) -> int:
        return index.search(parse(text), ACCESS, limit=TOP).total

    def newest(text: str) -> int:
        return index.search(parse(text), ACCESS, sort="newest", limit=TOP).total

    def facets(text: str) -> int:
        return sum(n for _, n in index.facets(parse(text), ACCESS)["type"])

    def count(text: str) -> int:
        return index.count_matches(parse(text), ACCESS)

    calls = {"relevance": relevance, "newest": newest, "facets": facets, "count": count}
    return {m: calls[m] for m in MODES}


def _summary(ms: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "max_ms": max(ms, default=0.0)}


def measure(
    calls: dict[str, Callable[[str], int]], queries: Sequence[Query], runs: int = RUNS
) -> dict[str, Any]:
    """Per query, per mode, ``runs`` timings in a row (the Groonga peer's order)."""
    for fn in calls.values():
        for q in queries[:WARM_UP]:
            fn(q.text)
    every: dict[str, list[float]] = {m: [] for m in calls}
    kinds: dict[str, dict[str, list[float]]] = {}
    per_query: list[dict[str, Any]] = []
    for q in queries:
        row: dict[str, Any] = {"text": q.text, "kind": q.kind}
        for mode, fn in calls.items():
            ms = []
            for _ in range(runs):
                start = time.perf_counter()
                n = fn(q.text)
                ms.append((time.perf_counter() - start) * 1000)
            row.setdefault("matches", n)
            row[mode] = _summary(ms)
            every[mode] += ms
            kinds.setdefault(q.kind, {}).setdefault(mode, []).extend(ms)
        per_query.append(row)
    return {
        "modes": {m: _summary(ms) for m, ms in every.items()},
        "kinds": {k: {m: _summary(ms) for m, ms in by.items()} for k, by in kinds.items()},
        "queries": per_query,
    }


# -- quality -------------------------------------------------------------------------------------
def japanese_queries(queries: Sequence[Query] = QUERIES) -> list[Query]:
    """The queries every part of which is Japanese letters only (kana, kanji)."""
    return [q for q in queries if all(_JAPANESE.fullmatch(p) for p in parts(q.text))]


def query_truth(texts: list[str], query: Query) -> set[int]:
    """Indexes of the documents containing every part of ``query`` as a substring."""
    found: set[int] | None = None
    for p in parts(query.text):
        hits = substring_truth(texts, p)
        found = hits if found is None else found & hits
    return found or set()


def all_found(index: SearchIndex, text: str) -> set[int]:
    """The pks of every document ``text`` matches (one page when it fits in MAX_LIMIT)."""
    expr = parse(text)
    total = index.count_matches(expr, ACCESS)
    limit = max(1, min(total, MAX_LIMIT))
    pks: set[int] = set()
    cursor: str | None = None
    while True:
        page = index.search(expr, ACCESS, limit=limit, cursor=cursor)
        pks.update(h.pk for h in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return pks


def indicator_values(text: str) -> set[str]:
    """What the extractor finds in ``text``: each value, a URL's host, an e-mail's domain."""
    out: set[str] = set()
    for hit in extract(text, flag=False):
        value = hit.value.casefold()
        out.add(value)
        if "://" in value:
            host = urlsplit(value).hostname
            if host:
                out.add(host)
        elif "@" in value:
            out.add(value.rsplit("@", 1)[1])
    return out


def has_indicator(values: set[str], target: str) -> bool:
    """``target`` among ``values``, or (a domain) a parent of one of them."""
    if target in values:
        return True
    if target[0].isdigit():
        return False  # an address has no parents: 10.0.0.5 is not in 10.0.0.50
    suffix = "." + target
    return any(v.endswith(suffix) for v in values if "/" not in v and "@" not in v)


def indicator_truth(docs: Sequence[Doc], targets: Sequence[str]) -> dict[str, set[int]]:
    """Per target, the indexes of the documents whose extracted indicators hold it."""
    out: dict[str, set[int]] = {t: set() for t in targets}
    for i, d in enumerate(docs):
        values = indicator_values(d.title) | indicator_values(d.body)
        for t in targets:
            if has_indicator(values, t):
                out[t].add(i)
    return out


def word_documents(built: Sequence[IndexDoc], word: str) -> int:
    """Documents with ``word`` among their Sudachi words (title or body), from the fields
    ``documents.build`` made (``analyse(...).words`` joined by spaces)."""
    return sum(
        1
        for d in built
        if word in d.fields["title_w"].split(" ") or word in d.fields["body_w"].split(" ")
    )


def is_word_match(doc: Doc, word: str) -> bool:
    return word in analyse(doc.title).words or word in analyse(doc.body).words


def quality(
    index: SearchIndex,
    docs: Sequence[Doc],
    texts: list[str],
    built: Sequence[IndexDoc],
    progress: Progress,
) -> dict[str, Any]:
    """Recall of the Japanese queries, ログ's top 20, and the two indicator checks
    (``texts``: the documents' :func:`~bench.search_data.folded_texts`)."""
    recall: list[dict[str, Any]] = []
    for q in japanese_queries():
        truth = query_truth(texts, q)
        found = {pk - 1 for pk in all_found(index, q.text)}
        recall.append(
            {
                "text": q.text,
                "kind": q.kind,
                "truth": len(truth),
                "found": len(found),
                "hit": len(found & truth),
                "extra": len(found - truth),
                "recall": len(found & truth) / len(truth) if truth else None,
                "missed": sorted(truth - found)[:10],
                "missed_in_indicator": sum(
                    inside_indicator(docs[i], p) for p in parts(q.text) for i in truth - found
                ),
            }
        )
    progress("search: Japanese recall done; ログ and the indicators")
    word = analyse(WORD_QUERY).words[0]
    top = index.search(parse(WORD_QUERY), ACCESS, limit=TOP).hits
    top_word = [is_word_match(docs[h.pk - 1], word) for h in top]
    log = {
        "query": WORD_QUERY,
        "word": word,
        "word_documents": word_documents(built, word),
        "top": len(top),
        "top_word_matches": sum(top_word),
        "not_word": [h.pk for h, ok in zip(top, top_word, strict=True) if not ok],
    }
    truths = indicator_truth(docs, [IP_QUERY, DOMAIN_QUERY])
    indicators: dict[str, dict[str, Any]] = {}
    for target, truth in truths.items():
        found = {pk - 1 for pk in all_found(index, target)}
        indicators[target] = {
            "truth": len(truth),
            "found": len(found),
            "hit": len(found & truth),
            "recall": len(found & truth) / len(truth) if truth else None,
            "false": len(found - truth),
            "missed": sorted(truth - found)[:20],
            "missed_forms": sorted({missed_example(docs, i, target) for i in truth - found}),
            "false_examples": sorted(found - truth)[:10],
        }
        written = written_truth(texts, target)
        indicators[target]["written"] = {
            "truth": len(written),
            "hit": len(found & written),
            "recall": len(found & written) / len(written) if written else None,
            "missed": sorted(written - found)[:20],
            "missed_context": sorted({context(texts[i], target) for i in written - found})[:12],
        }
    measured = [r["recall"] for r in recall if r["recall"] is not None]
    return {
        "recall": recall,
        "min_recall": min(measured, default=None),
        "log": log,
        "indicators": indicators,
    }


def written_pattern(value: str) -> re.Pattern[str]:
    """``value`` as written in folded text, plain or defanged (``[.]``, ``(.)``, ``[dot]``),
    as a whole host or the end of a longer one: ``cdn.evil.com`` holds ``evil.com``,
    ``notevil.com`` and ``evil.com.cn`` do not; ``10.0.0.50`` does not hold ``10.0.0.5``."""
    dot = r"(?:\.|\[\.\]|\(\.\)|\[dot\])"
    body = dot.join(re.escape(p) for p in value.split("."))
    if value[0].isdigit():
        return re.compile(r"(?<![0-9.])" + body + r"(?![0-9a-z]|\.[0-9])")
    return re.compile(r"(?<![a-z0-9-])" + body + r"(?![a-z0-9-]|\.[a-z0-9])")


def written_truth(texts: Sequence[str], value: str) -> set[int]:
    """Indexes of the folded texts that hold ``value`` as written, independently of the
    extractor (a regular expression; full-width forms are folded already)."""
    pattern = written_pattern(value)
    return {i for i, t in enumerate(texts) if pattern.search(t)}


def context(text: str, value: str, width: int = 16) -> str:
    m = written_pattern(value).search(text)
    if m is None:
        return "?"
    return text[max(0, m.start() - width) : m.end() + width].replace("\n", " ")


def inside_indicator(doc: Doc, term: str) -> bool:
    """Every occurrence of ``term`` in the document lies inside an extracted indicator's
    span (the analyser tokenises only the text between indicators)."""
    seen = False
    for text in (doc.title, doc.body):
        spans = [(h.start, h.end) for h in extract(text, flag=False)]
        for m in re.finditer(re.escape(term), text):
            seen = True
            if not any(a <= m.start() and m.end() <= b for a, b in spans):
                return False
    return seen


def missed_example(docs: Sequence[Doc], i: int, target: str) -> str:
    """Where ``target`` (or what carries it) sits in document ``i``, for the report."""
    d = docs[i]
    for text in (d.title, d.body):
        for hit in extract(text, flag=False):
            values = indicator_values(text[hit.start : hit.end])
            if has_indicator(values, target):
                return f"{hit.type} {text[hit.start : hit.end]!r}"
    return "?"


# -- a million documents -------------------------------------------------------------------------
def _copies(built: Sequence[IndexDoc], copy: int, r: random.Random) -> list[IndexDoc]:
    """``built`` again with new pks, ids, ``published`` (``copy`` hours earlier), recency
    and sort keys: the same terms, other documents."""
    n = len(built)
    out = []
    for i, doc in enumerate(built):
        f = dict(doc.fields)
        pk = copy * n + i + 1
        when = f["published"] - timedelta(hours=copy)
        f["pk"] = pk
        f["id"] = f"report--{uuid.UUID(int=r.getrandbits(128), version=4)}"
        f["published"] = when
        f["recency"] = documents.recency(when)
        f["sortkey"] = documents.sort_key(when, pk)
        out.append(IndexDoc(f))
    return out


def million(
    built: Sequence[IndexDoc], queries: Sequence[Query], progress: Progress
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="kizashi-search-1m-"))
    try:
        index = SearchIndex(folder / "index")
        r = random.Random(SEED + 1)
        start = time.perf_counter()
        for copy in range(COPIES):
            index.add(_copies(built, copy, r))
            progress(f"search: million: copy {copy + 1}/{COPIES} added")
        index.apply({}, 1, {})
        add_s = time.perf_counter() - start
        merge_s = _settle(index)
        size = _disk_bytes(folder / "index")
        n = index.count()
        progress(f"search: million: {n:,} documents; queries")
        calls = mode_calls(index)
        measured = measure({m: calls[m] for m in ("relevance", "newest")}, queries)
        return {
            "documents": n,
            "add_s": add_s,
            "merge_s": merge_s,
            "segments": _segments(index),
            "index_bytes": size,
            "bytes_per_doc": size / max(1, n),
            **measured,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- the run -------------------------------------------------------------------------------------
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(quick: bool, progress: Progress | None = None) -> dict[str, Any]:
    say: Progress = progress or (lambda _msg: None)
    n = QUICK_DOCS if quick else FULL_DOCS
    result: dict[str, Any] = {"quick": quick, "documents": n, "runs": RUNS, "skipped": None}
    wall = time.perf_counter()
    load = [os.getloadavg()[0]]
    try:
        docs = build_corpus(n)
    except FileNotFoundError as exc:
        result["skipped"] = str(exc)
        return result
    result["mean_doc_bytes"] = sum(len(f"{d.title}\n{d.body}".encode()) for d in docs) / n
    result["queries"] = len(QUERIES)
    rows = doc_rows(docs)
    texts = folded_texts(docs)
    folder = Path(tempfile.mkdtemp(prefix="kizashi-search-"))
    try:
        say(f"search: analysing {n:,} documents")
        index = SearchIndex(folder / "index")
        start = time.perf_counter()
        built = index_docs(rows)
        analyse_s = time.perf_counter() - start
        say(f"search: analysed in {analyse_s:.0f} s; indexing")
        start = time.perf_counter()
        fill(index, built)
        index_s = time.perf_counter() - start
        merge_s = _settle(index)
        size = _disk_bytes(folder / "index")
        result["build"] = {
            "analyse_s": analyse_s,
            "index_s": index_s,
            "build_s": analyse_s + index_s,
            "docs_per_s": n / (analyse_s + index_s),
            "analyse_docs_per_s": n / analyse_s,
            "index_docs_per_s": n / index_s,
            "merge_s": merge_s,
            "segments": _segments(index),
            "index_bytes": size,
            "bytes_per_doc": size / n,
            "count": index.count(),
        }
        say("search: Kizashi queries")
        result["kizashi"] = measure(mode_calls(index), QUERIES)
        say("search: quality")
        result["quality"] = quality(index, docs, texts, built, say)
        del index
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    say("search: Groonga")
    result["groonga"] = groonga_peer.run_groonga(docs, QUERIES, runs=RUNS)
    result["substring"] = {q.text: len(query_truth(texts, q)) for q in QUERIES}
    if quick:
        result["million"] = None
    else:
        say("search: a million documents (the 100,000 added ten times)")
        del rows
        result["million"] = million(built, QUERIES, say)
    load.append(os.getloadavg()[0])
    result["load_1min"] = load
    result["peak_rss_mb"] = _rss_mb()
    result["wall_s"] = time.perf_counter() - wall
    return result


# -- the report ----------------------------------------------------------------------------------
def _f(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(res: dict[str, Any]) -> list[tuple[str, bool | None]]:
    """Each target's line and whether it is met (None: not measured in this run)."""
    k = res["kizashi"]["modes"]
    g = res["groonga"]
    out: list[tuple[str, bool | None]] = []
    size = f"{res['documents']:,} documents"
    if g is not None:
        ratio = k["relevance"]["p95_ms"] / g["modes"]["relevance"]["p95_ms"]
        out.append(
            (
                f"top-20 relevance p95 {k['relevance']['p95_ms']:.2f} ms, Groonga "
                f"{g['modes']['relevance']['p95_ms']:.2f} ms: ratio {ratio:.2f} "
                f"(target <= {TARGET_RELEVANCE_RATIO:.1f}, {size})",
                ratio <= TARGET_RELEVANCE_RATIO,
            )
        )
    else:
        out.append(("top-20 relevance against Groonga: " + groonga_peer.SKIPPED, None))
    newest = k["newest"]["p95_ms"]
    out.append(
        (
            f"top-20 newest-first p95 {newest:.2f} ms (target <= {TARGET_NEWEST_P95_MS:.0f} ms, "
            f"{size})",
            newest <= TARGET_NEWEST_P95_MS,
        )
    )
    facets = k["facets"]["p95_ms"]
    out.append(
        (
            f"facets p95 {facets:.2f} ms (target <= {TARGET_FACETS_P95_MS:.0f} ms at 100,000 "
            f"documents; this run {size})",
            facets <= TARGET_FACETS_P95_MS,
        )
    )
    m = res.get("million")
    if m:
        p95 = m["modes"]["relevance"]["p95_ms"]
        out.append(
            (
                f"1,000,000 documents: top-20 relevance p95 {p95:.2f} ms "
                f"(target <= {TARGET_MILLION_P95_MS:.0f} ms)",
                p95 <= TARGET_MILLION_P95_MS,
            )
        )
    else:
        out.append(("1,000,000 documents: not measured (quick run)", None))
    qual = res["quality"]
    low = qual["min_recall"]
    out.append(
        (
            f"minimum recall of the Japanese queries {_f(low, 4)} (target >= {TARGET_RECALL})",
            low is not None and low >= TARGET_RECALL,
        )
    )
    log = qual["log"]
    enough = log["word_documents"] >= TOP
    out.append(
        (
            f"{log['query']}: {log['top_word_matches']} of the top {log['top']} are word matches "
            f"({log['word_documents']:,} documents have the word; all must be when >= {TOP})",
            log["top_word_matches"] == log["top"] if enough else None,
        )
    )
    ip = qual["indicators"][IP_QUERY]
    out.append(
        (
            f"{IP_QUERY}: {ip['false']} documents found without it as an indicator (target 0), "
            f"{ip['hit']:,} of {ip['truth']:,} with it found",
            ip["false"] == 0 and ip["hit"] == ip["truth"],
        )
    )
    dom = qual["indicators"][DOMAIN_QUERY]
    out.append(
        (
            f"{DOMAIN_QUERY}: recall {_f(dom['recall'], 4)} ({dom['hit']:,} of {dom['truth']:,} "
            f"documents holding it or a subdomain; target: all), {dom['false']} found without it",
            dom["hit"] == dom["truth"],
        )
    )
    return out


def render(res: dict[str, Any], env: dict[str, Any] | None = None) -> str:
    if res.get("skipped"):
        return f"Kizashi benchmark: full-text search\n  skipped: {res['skipped']}"
    b, k, g = res["build"], res["kizashi"], res["groonga"]
    out = ["Kizashi benchmark: full-text search, Kizashi's tantivy index against Groonga"]
    if env:
        out.append(
            f"machine: {env['cpus']} CPUs ({env['cpu']}), {env['memory_gib']} GiB, "
            f"{env['platform']}"
        )
    out += [
        f"data: {res['documents']:,} documents (bench/search_data.py, mean "
        f"{res['mean_doc_bytes']:,.0f} bytes), {res['queries']} queries x {res['runs']} runs "
        f"per mode; load average (1 min) at start and end: "
        + " / ".join(f"{v:.2f}" for v in res["load_1min"]),
        "Kizashi in process (parse + analyse + compile + search); Groonga over loopback HTTP "
        "(round trip and JSON included), its query cache OFF (the peer's default, --cache no)",
        "",
        "Build",
    ]
    rows = [
        [
            "Kizashi (analysis + tantivy, one core)",
            f"{res['documents']:,}",
            f"{b['build_s']:.1f}",
            f"{b['docs_per_s']:,.0f}",
            f"{b['index_bytes'] / 1e6:.0f}",
            f"{b['bytes_per_doc']:,.0f}",
        ]
    ]
    if g is not None:
        rows += [
            [
                "Groonga (load + offline bigram index)",
                f"{g['documents']:,}",
                f"{g['build_s']:.1f}",
                f"{g['docs_per_s']:,.0f}",
                f"{g['index_bytes'] / 1e6:.0f}",
                f"{g['index_bytes_per_doc']:,.0f}",
            ],
            [
                "Groonga whole database (with the text)",
                "",
                "",
                "",
                f"{g['db_bytes'] / 1e6:.0f}",
                f"{g['db_bytes_per_doc']:,.0f}",
            ],
        ]
    out.append(table(["engine", "docs", "seconds", "docs/s", "index MB", "B/doc"], rows))
    out.append(
        f"Kizashi: analysis {b['analyse_s']:.1f} s ({b['analyse_docs_per_s']:,.0f} docs/s), "
        f"tantivy add + commit {b['index_s']:.1f} s ({b['index_docs_per_s']:,.0f} docs/s); "
        f"then waiting for the merges {b['merge_s']:.1f} s ({b['segments']} segments)"
    )
    if g is None:
        out.append(groonga_peer.render(None))
    out += ["", "Latency, ms, over every run of every query"]
    rows = []
    for mode in MODES:
        ks = k["modes"][mode]
        gs = g["modes"].get(mode) if g else None
        rows.append(
            [
                mode,
                _f(ks["p50_ms"]),
                _f(ks["p95_ms"]),
                _f(gs["p50_ms"]) if gs else "-",
                _f(gs["p95_ms"]) if gs else "-",
                _f(ks["p95_ms"] / gs["p95_ms"]) if gs else "-",
            ]
        )
    out.append(
        table(["mode", "Kizashi p50", "Kizashi p95", "Groonga p50", "Groonga p95", "p95 K/G"], rows)
    )
    out.append("(Groonga has no facets mode here: its drilldown is not what Kizashi computes)")
    out += ["", "Per query kind, ms (p50 / p95)"]
    rows = []
    for kind, by in k["kinds"].items():
        cells = [kind]
        cells += [f"{_f(by[m]['p50_ms'])} / {_f(by[m]['p95_ms'])}" for m in MODES]
        if g is not None:
            cells.append(_kind_summary(g["queries"], kind, "relevance"))
            cells.append(_kind_summary(g["queries"], kind, "newest"))
        rows.append(cells)
    hdr = ["kind", *MODES]
    if g is not None:
        hdr += ["Groonga relevance", "Groonga newest"]
    out.append(table(hdr, rows))
    if g is not None:
        out.append(
            "(Groonga per kind: the median of its per-query p50s / the largest per-query p95, "
            "i.e. its slowest run; the peer keeps per-query figures, not every run)"
        )
    out += ["", "Per query: matches and p95 ms"]
    gq = {row["text"]: row for row in g["queries"]} if g else {}
    rows = []
    for row in k["queries"]:
        other = gq.get(row["text"])
        rows.append(
            [
                row["text"][:24],
                row["kind"],
                f"{res['substring'][row['text']]:,}",
                f"{row['matches']:,}",
                f"{other['matches']:,}" if other else "-",
                _f(row["relevance"]["p95_ms"]),
                _f(other["relevance"]["p95_ms"]) if other else "-",
                _f(row["newest"]["p95_ms"]),
                _f(other["newest"]["p95_ms"]) if other else "-",
                _f(row["facets"]["p95_ms"]),
                _f(row["count"]["p95_ms"]),
            ]
        )
    hdr = ["query", "kind", "substring", "K found", "G found", "K rel", "G rel", "K new"]
    out.append(table([*hdr, "G new", "K facets", "K count"], rows, left=2))
    m = res.get("million")
    out += [""]
    if m:
        out += [
            f"A million documents: the {res['documents']:,} documents' index fields added "
            f"{COPIES} times (new pk, id, published, sort key), NOT analysed again: this "
            "measures query latency at 1,000,000 documents, not the build rate",
            f"  {m['documents']:,} documents, add + commit {m['add_s']:.0f} s, merges "
            f"{m['merge_s']:.0f} s, {m['segments']} segments, index "
            f"{m['index_bytes'] / 1e6:,.0f} MB ({m['bytes_per_doc']:,.0f} B/doc)",
        ]
        for mode, s in m["modes"].items():
            out.append(
                f"  {mode:<10} p50 {s['p50_ms']:.2f} ms  p95 {s['p95_ms']:.2f} ms  "
                f"max {s['max_ms']:.2f} ms"
            )
        rows = [
            [kind, *(f"{_f(by[x]['p50_ms'])} / {_f(by[x]['p95_ms'])}" for x in m["modes"])]
            for kind, by in m["kinds"].items()
        ]
        out.append(table(["kind", *(f"{x} p50 / p95" for x in m["modes"])], rows))
    else:
        out.append("A million documents: not run (--quick)")
    out += ["", *_render_quality(res["quality"]), "", "Targets"]
    for line, ok in targets(res):
        out.append(f"  {line}: {'-' if ok is None else _verdict(ok)}")
    out.append(f"(wall time {res['wall_s'] / 60:.1f} min, peak RSS {res['peak_rss_mb']:,.0f} MB)")
    return "\n".join(out)


def _kind_summary(queries: list[dict[str, Any]], kind: str, mode: str) -> str:
    rows = [row[mode] for row in queries if row["kind"] == kind]
    if not rows:
        return "-"
    return f"{_f(pct([r['p50_ms'] for r in rows], 50))} / {_f(max(r['p95_ms'] for r in rows))}"


def _render_quality(qual: dict[str, Any]) -> list[str]:
    out = ["Quality: recall of the pure-Japanese queries against a substring search"]
    rows = [
        [
            r["text"],
            r["kind"],
            f"{r['truth']:,}",
            f"{r['found']:,}",
            f"{r['hit']:,}",
            f"{r['extra']:,}",
            f"{r['truth'] - r['hit']:,}",
            f"{r['missed_in_indicator']:,}",
            _f(r["recall"], 4),
        ]
        for r in qual["recall"]
    ]
    hdr = ["query", "kind", "substring", "found", "both", "found only", "missed"]
    out.append(table([*hdr, "in indicator", "recall"], rows, left=2))
    out += [
        f"minimum recall {_f(qual['min_recall'], 4)}",
        "('found only': mostly spelling variants Sudachi normalises, e.g. コンピュータ for "
        "コンピューター; 'in indicator': missed documents where every occurrence of the term "
        "lies inside a span the extractor took as an indicator, which the analyser does not "
        "tokenise)",
    ]
    log = qual["log"]
    out.append(
        f"{log['query']}: {log['top_word_matches']} of the top {log['top']} by relevance contain "
        f"{log['word']} as a Sudachi word; {log['word_documents']:,} documents do"
        + (f"; not word matches: pks {log['not_word']}" if log["not_word"] else "")
    )
    for target, r in qual["indicators"].items():
        line = (
            f"{target}: per the extractor: truth {r['truth']:,}, found {r['found']:,}, both "
            f"{r['hit']:,}, recall {_f(r['recall'], 4)}, found without it {r['false']}"
        )
        if r.get("missed_forms"):
            line += "; missed: " + ", ".join(r["missed_forms"])
        out.append(line)
        w = r["written"]
        line = (
            f"  as written (a regular expression on the folded text, extractor aside): truth "
            f"{w['truth']:,}, found {w['hit']:,}, recall {_f(w['recall'], 4)}"
        )
        if w["missed_context"]:
            line += "; missed, e.g.: " + " | ".join(w["missed_context"][:6])
        out.append(line)
    return out
