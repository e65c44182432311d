"""Analytics: term statistics, co-occurrence and trends over selections of a store.

``python -m bench --only stats`` (``--quick``: 5,000 documents). Target (analytics
issue): term statistics of a selection of **100,000 items in under 1 s**; reported for
selections of 1,000, 10,000 and 100,000 items.

1. **Store.** :func:`bench.search_data.build_corpus` documents (about 2 KB, Japanese
   security prose with English and indicators), analysed by ``documents.build`` as the
   index follower does (in two processes, the machine's cores) and added to a tantivy
   index on disk; the keywords each document gives are kept in memory for the peer.
2. **Selections.** The newest 1,000, 10,000 and all documents, as ``published:>=…``
   queries (what a "last N days" selection is).
3. **Timed, per selection** (:data:`RUNS` runs after a warm-up, p50 and p95):
   ``AnalyticsService.terms`` (50 words by keyness: the candidates' aggregation, the
   occurrence counts, the background counts and the scores), the *raw library* (the one
   tantivy terms aggregation of ``kw`` the statistic starts from, the floor for any
   design that counts in the index), the *recount peer* (``collections.Counter`` over the
   selection's keyword lists, already in memory: what counting per request without the
   index would cost at best), the tag graph (100 tags), the word graph (100 words) and
   a daily trend of the top 5 tags.
4. **The home dashboard** (``DashboardService.build``: new items, emerging terms, top
   tags, feeds, recent indicators) over every document. Target: under 1 s.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import pct, table, verdict

FULL_DOCS = 100_000
QUICK_DOCS = 5_000
SELECTIONS = (1_000, 10_000, 100_000)
RUNS = 7
TARGET_MS = 1000.0  # term statistics, 100,000 items
DASHBOARD_TARGET_MS = 1000.0  # the home dashboard, 100,000 items

Progress = Callable[[str], None]


@dataclass
class Row:
    selected: int
    timings: dict[str, list[float]] = field(default_factory=dict)

    def p(self, name: str, q: float) -> float:
        ms = self.timings.get(name, [])
        return pct(ms, q) if ms else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "selected": self.selected,
            **{
                name: {"p50_ms": round(self.p(name, 50), 1), "p95_ms": round(self.p(name, 95), 1)}
                for name in self.timings
            },
        }


@dataclass
class StatsResult:
    docs: int
    build_s: float
    rows: list[Row]
    load: list[float]
    skipped: str | None = None
    dashboard: Row | None = None

    def as_dict(self) -> dict[str, Any]:
        largest = max(self.rows, key=lambda r: r.selected) if self.rows else None
        return {
            "docs": self.docs,
            "build_s": round(self.build_s, 1),
            "rows": [r.as_dict() for r in self.rows],
            "load_1min": self.load,
            "target": {
                "terms_p95_ms": round(largest.p("terms", 95), 1) if largest else None,
                "selected": largest.selected if largest else None,
                "target_ms": TARGET_MS,
                "met": bool(largest and largest.p("terms", 95) < TARGET_MS),
            },
            "dashboard": self.dashboard.as_dict() if self.dashboard else None,
            "dashboard_target_ms": DASHBOARD_TARGET_MS,
            "skipped": self.skipped,
        }


def _build(rows: Sequence[Any]) -> list[Any]:
    from bench.bench_search import index_docs

    return index_docs(rows)


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def run(quick: bool, progress: Progress | None = None) -> StatsResult:
    say = progress or (lambda _m: None)
    n = QUICK_DOCS if quick else FULL_DOCS
    try:
        from bench.search_data import build_corpus

        docs = build_corpus(n)
    except FileNotFoundError as exc:
        return StatsResult(n, 0.0, [], [], skipped=str(exc))
    from bench.bench_search import doc_rows
    from kizashi.model import searchquery as sq
    from kizashi.model.actor import SYSTEM
    from kizashi.search import stats
    from kizashi.search.compile import Access
    from kizashi.search.index import SearchIndex
    from kizashi.search.sync import Follower
    from kizashi.services import Kizashi
    from kizashi.services.analytics import AnalyticsService
    from kizashi.services.search import SearchService
    from kizashi.store.search import DocRow

    load = [_load()]
    tmp = Path(tempfile.mkdtemp(prefix="kizashi-bench-stats-"))
    try:
        rows: list[DocRow] = doc_rows(docs)
        say(f"stats: analysing {n:,} documents in two processes ...")
        start = time.perf_counter()
        chunks = [rows[i : i + 2_000] for i in range(0, len(rows), 2_000)]
        with ProcessPoolExecutor(max_workers=2) as pool:
            built = [d for part in pool.map(_build, chunks) for d in part]
        index = SearchIndex(tmp / "index")
        index.add(built)
        index.apply({}, 1, {})
        index.close()
        index.refresh()
        build_s = time.perf_counter() - start
        keywords = [d.fields["kw"] for d in built]
        kwc = [d.fields["kwc"] for d in built]
        published = [d.fields["published"] for d in built]
        del built
        kz = Kizashi.open(f"sqlite:///{tmp / 'bench.db'}", warninglists=False)
        service = SearchService(kz.ctx, index, Follower(kz.store, index), sync_on_query=False)
        analytics = AnalyticsService(kz.ctx, service)
        access = Access(frozenset({"clear", "green", "amber", "amber+strict", "red"}))
        order = sorted(range(n), key=lambda i: published[i], reverse=True)
        out: list[Row] = []
        for size in [s for s in SELECTIONS if s <= n] or [n]:
            since = published[order[size - 1]]
            picked = order[:size]
            query = f"published:>={since.strftime('%Y-%m-%dT%H:%M:%S.000Z')}"
            expr = sq.parse(query)
            row = Row(size)
            say(f"stats: selection of {size:,} documents ...")

            def recount(picked: list[int] = picked) -> int:
                c: Counter[str] = Counter()
                for i in picked:
                    c.update(keywords[i])
                    for pair in kwc[i]:
                        term, _, times = pair.rpartition("\x1f")
                        c[term] += int(times) - 1
                return len(c.most_common(500))

            def raw_kw(e: sq.Expr = expr) -> object:
                return index.searcher().aggregate(
                    index.compiler.variant(match_only=True).query(e, access),
                    {"kw": {"terms": {"field": "kw", "size": 500}}},
                )

            calls: dict[str, Callable[[], object]] = {
                "terms": partial(analytics.terms, SYSTEM, query, limit=50),
                "raw kw aggregation": raw_kw,
                "recount peer": recount,
                "tag graph": partial(analytics.tag_graph, SYSTEM, query, size=100),
                "word graph": partial(analytics.word_graph, SYSTEM, query, size=100),
                "trend": partial(analytics.trends, SYSTEM, query=query, interval="day"),
            }
            for name, fn in calls.items():
                fn()  # warm up
                ms = []
                for _ in range(RUNS):
                    t0 = time.perf_counter()
                    fn()
                    ms.append((time.perf_counter() - t0) * 1000)
                row.timings[name] = ms
            selected = stats.term_counts(index, expr, access, candidates=10).selected
            if selected != size:
                raise RuntimeError(f"selection of {size} matched {selected}")
            out.append(row)
        say("stats: the home dashboard over every document ...")
        from kizashi.services.dashboard import DashboardService

        board = DashboardService(kz.ctx, service, analytics, kz.objects)
        board.build(SYSTEM)  # warm up
        ms = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            board.build(SYSTEM)
            ms.append((time.perf_counter() - t0) * 1000)
        dashboard = Row(n, {"dashboard": ms})
        kz.close()
        index.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load.append(_load())
    return StatsResult(n, build_s, out, load, dashboard=dashboard)


def render(res: StatsResult) -> str:
    if res.skipped:
        return f"Kizashi benchmark: analytics\n  skipped: {res.skipped}"
    lines = [
        "Kizashi benchmark: analytics (term statistics, co-occurrence, trends)",
        f"{res.docs:,} documents of about 2 KB, indexed in {res.build_s:,.0f} s "
        f"(two processes); {RUNS} runs per call; load {res.load}",
        "",
    ]
    names = list(res.rows[0].timings) if res.rows else []
    rows = []
    for r in res.rows:
        rows.append(
            [f"{r.selected:,}"]
            + [f"{r.p(n, 50):,.0f} / {r.p(n, 95):,.0f}" for n in names]
            + [
                f"{r.p('terms', 50) / r.p('raw kw aggregation', 50):.2f}",
                f"{r.p('terms', 50) / max(r.p('recount peer', 50), 1e-9):.2f}",
            ]
        )
    header = ["selected", *[f"{n} p50/p95 ms" for n in names], "terms/raw", "terms/recount"]
    lines.append(table(header, rows))
    d = res.as_dict()["target"]
    lines.append(
        f"\nterm statistics of {d['selected']:,} items p95 {d['terms_p95_ms']:,.0f} ms "
        f"(target < {TARGET_MS:,.0f} ms): {verdict(bool(d['met']))}"
    )
    if res.dashboard is not None:
        p95 = res.dashboard.p("dashboard", 95)
        lines.append(
            f"home dashboard over {res.dashboard.selected:,} items: p50 "
            f"{res.dashboard.p('dashboard', 50):,.0f} ms, p95 {p95:,.0f} ms "
            f"(target < {DASHBOARD_TARGET_MS:,.0f} ms): {verdict(p95 < DASHBOARD_TARGET_MS)}"
        )
    return "\n".join(lines)
