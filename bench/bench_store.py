"""Bulk insert through the service layer vs raw ``executemany``, then tag-filter latency.

1. Generate the batches (untimed).
2. Service: ``Kizashi.open`` on a fresh SQLite file, then ``objects.create_many`` per
   batch with its tags. Only the ``create_many`` calls are timed.
3. Raw: a second fresh SQLite file opened with ``Store.open`` (same migrations and
   pragmas); every row precomputed, then only ``executemany`` + commit timed.
4. The row counts of both databases are compared, so the peer provably wrote the
   same thing.
5. Tag filters through ``objects.list`` on the service database, with its cursor.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import data, raw
from bench.common import pct, table, verdict
from kizashi.model.actor import SYSTEM
from kizashi.model.tagquery import evaluate, parse_tag_query
from kizashi.services.app import Kizashi
from kizashi.store.engine import Store

#: (label, filter). Names refer to data.OBSERVABLE_TAGS / data.REPORT_TAGS.
AND_PAIRS = [
    ("common x common", "tlp:green AND phishing"),
    ("common x common (ja)", "phishing AND フィッシング"),
    ("common x rare", "phishing AND lazarus"),
    ("common x rarer", "phishing AND zero-day"),
    ("rarer x common", "zero-day AND phishing"),
    ("rare x rare", "lazarus AND blacktech"),
    ("rare x rare (ja)", "サプライチェーン攻撃 AND 標的型攻撃"),
    ("common x rare, disjoint", "scanner AND apt"),
]
VARIANTS = [
    ("NOT: common AND NOT common", "phishing AND NOT c2"),
    ("OR: rare OR rare", "lazarus OR blacktech"),
]
TABLES = ("objects", "object_tags", "object_refs", "tags")

TARGET_RATIO = 0.25  # service / raw insert rate
TARGET_P95_MS = 20.0  # two-tag AND filter, first page


@dataclass
class Insert:
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class Latency:
    label: str
    query: str
    matches: str
    samples: list[float] = field(default_factory=list)

    def pct(self, p: float) -> float:
        return pct(self.samples, p)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "query": self.query,
            "matches": self.matches,
            "n": len(self.samples),
            "p50_ms": self.pct(50),
            "p95_ms": self.pct(95),
            "max_ms": max(self.samples, default=float("nan")),
            "mean_ms": statistics.fmean(self.samples) if self.samples else float("nan"),
        }


@dataclass
class Result:
    config: dict[str, Any]
    service: Insert
    raw: Insert
    counts: dict[str, dict[str, int]]
    tag_counts: dict[str, int]
    filters: list[Latency]
    paging: list[Latency]
    #: The tag list and the two-tag filters as an admin and as an analyst, with 2 % of
    #: the objects TLP:RED (an analyst reads what they may read: see readers()).
    readers: list[Latency] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.service.rate / self.raw.rate if self.raw.rate else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "service": {**asdict(self.service), "objects_per_s": self.service.rate},
            "raw": {**asdict(self.raw), "objects_per_s": self.raw.rate},
            "ratio": self.ratio,
            "counts": self.counts,
            "tag_counts": self.tag_counts,
            "filters": [f.summary() for f in self.filters],
            "paging": [p.summary() for p in self.paging],
            "readers": [r.summary() for r in self.readers],
        }


def _counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES
        }


def load_service(
    app: Kizashi, batches: list[data.Batch], progress: Callable[[str], None]
) -> Insert:
    rows, spent = 0, 0.0
    step = max(1, len(batches) // 10)
    for i, b in enumerate(batches, 1):
        start = time.perf_counter()
        app.objects.create_many(SYSTEM, b.objects, tags=b.tags)
        spent += time.perf_counter() - start
        rows += len(b.objects)
        if i % step == 0 or i == len(batches):
            progress(f"  service: {rows:,} rows, {spent:.1f} s ({rows / spent:,.0f}/s)")
    return Insert(rows, spent)


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


def expected_matches(batches: list[data.Batch], query: str) -> int:
    """How many objects the filter matches, from the generated tags (no SQL)."""
    expr = parse_tag_query(query)
    return sum(len(b.objects) for b in batches if evaluate(expr, set(b.tags)))


def measure_filters(
    app: Kizashi, queries: int, budget_s: float, matches: dict[str, str]
) -> tuple[list[Latency], list[Latency]]:
    """First pages of each filter (``queries`` times or ``budget_s``), and cursor paging."""
    first: list[Latency] = []
    pages: list[Latency] = []

    def run(q: str, cursor: str | None = None) -> Any:
        return app.objects.list(SYSTEM, tags=q, limit=50, cursor=cursor)

    for label, q in AND_PAIRS + VARIANTS:
        lat = Latency(label, q, matches[q])
        for _ in range(3):  # warm the page cache and statement cache
            run(q)
        deadline = time.perf_counter() + budget_s
        while len(lat.samples) < queries and time.perf_counter() < deadline:
            lat.samples.append(_time(partial(run, q))[0])
        first.append(lat)
        # Paging: follow the cursor up to 10 pages deep, repeatedly.
        pg = Latency(label, q, lat.matches)
        deadline = time.perf_counter() + budget_s
        while len(pg.samples) < queries and time.perf_counter() < deadline:
            cursor = run(q).next_cursor
            for _ in range(10):
                if cursor is None or len(pg.samples) >= queries:
                    break
                ms, page = _time(partial(run, q, cursor))
                pg.samples.append(ms)
                cursor = page.next_cursor
            if cursor is None and not pg.samples:
                break  # a single page: nothing to page through
        pages.append(pg)
    return first, pages


#: The share of objects marked TLP:RED (every RED_EVERY-th pk) before the reader measures.
RED_EVERY = 50


def measure_readers(app: Kizashi, queries: int, budget_s: float) -> list[Latency]:
    """The tag list (top 500) and every two-tag AND filter's first page, as an admin (no
    condition) and as an analyst (only what they may read), after marking 2 % of the
    objects TLP:RED directly in SQL (untimed): an analyst's tag list takes the uses they
    may not read off the totals, and their lists skip those objects."""
    with app.store.begin() as conn:
        conn.execute(
            sa.text("UPDATE objects SET tlp = 'red' WHERE pk % :every = 0"), {"every": RED_EVERY}
        )
    app.users.create(SYSTEM, "bench-analyst", "bench-analyst-password", "analyst")
    analyst = app.users.get_actor("bench-analyst")
    out: list[Latency] = []
    cases: list[tuple[str, str, Callable[[], Any]]] = []
    for who, actor in (("admin", SYSTEM), ("analyst", analyst)):
        cases.append((f"tag list, top 500 ({who})", "", partial(app.tags.list, actor, limit=500)))
    for who, actor in (("admin", SYSTEM), ("analyst", analyst)):
        for label, q in AND_PAIRS:
            cases.append(
                (
                    f"{label} ({who})",
                    q,
                    partial(app.objects.list, actor, tags=q, limit=50),
                )
            )
    for label, q, call in cases:
        lat = Latency(label, q, "")
        call()  # warm
        deadline = time.perf_counter() + budget_s
        while len(lat.samples) < queries and time.perf_counter() < deadline:
            lat.samples.append(_time(call)[0])
        out.append(lat)
    return out


def combined(lats: list[Latency], label: str) -> Latency:
    out = Latency(label, "all two-tag AND pairs", "")
    for lat in lats:
        out.samples += lat.samples
    return out


def run(
    observables: int,
    reports: int,
    *,
    obs_batch: int = 10_000,
    rep_batch: int = 1_000,
    queries: int = 200,
    budget_s: float = 60.0,
    progress: Callable[[str], None] = print,
) -> Result:
    progress(f"generating {observables:,} observables and {reports:,} reports ...")
    batches = data.build(observables, reports, obs_batch, rep_batch)
    counts_by_tag = dict(data.tag_counts(batches).most_common())
    matches = {}
    for _, q in AND_PAIRS + VARIANTS:
        names = [w for w in q.split() if w not in ("AND", "OR", "NOT")]
        each = " / ".join(f"{counts_by_tag.get(n, 0):,}" for n in names)
        matches[q] = f"{each} -> {expected_matches(batches, q):,}"
    config = {
        "observables": observables,
        "reports": reports,
        "observable_batch": obs_batch,
        "report_batch": rep_batch,
        "batches": len(batches),
        "queries_per_filter": queries,
    }
    with tempfile.TemporaryDirectory(prefix="kizashi-bench-") as tmp:
        progress(f"service layer: {len(batches):,} create_many calls into {tmp}/service.db")
        app = Kizashi.open(f"sqlite:///{Path(tmp) / 'service.db'}")
        try:
            gc.collect()
            service = load_service(app, batches, progress)
            service_counts = _counts(app.store)
            progress("raw executemany: precomputing rows (untimed) ...")
            raw_plan = raw.plan(batches)
            store = Store.open(f"sqlite:///{Path(tmp) / 'raw.db'}")
            try:
                gc.collect()
                raw_secs = raw.run(store, raw_plan)
                raw_counts = _counts(store)
            finally:
                store.dispose()
            baseline = Insert(raw_plan.rows, raw_secs)
            progress(f"  raw: {baseline.rows:,} rows, {raw_secs:.1f} s ({baseline.rate:,.0f}/s)")
            del raw_plan, batches
            gc.collect()
            progress("tag filters ...")
            first, pages = measure_filters(app, queries, budget_s, matches)
            progress("the tag list and the filters, as an admin and as an analyst ...")
            readers = measure_readers(app, min(queries, 50), budget_s / 4)
        finally:
            app.close()
    return Result(
        config,
        service,
        baseline,
        {"service": service_counts, "raw": raw_counts},
        counts_by_tag,
        first,
        pages,
        readers,
    )


# -- the report -----------------------------------------------------------------------------
def _lat_rows(lats: list[Latency]) -> list[list[str]]:
    out = []
    for lat in lats:
        s = lat.summary()
        p95 = s["p95_ms"]
        out.append(
            [
                s["label"],
                s["query"],
                s["matches"],
                str(s["n"]),
                f"{s['p50_ms']:.2f}",
                f"{p95:.2f}",
                f"{s['max_ms']:.2f}",
                verdict(p95 < TARGET_P95_MS) if s["n"] else "-",
            ]
        )
    return out


def render(res: Result, env: dict[str, Any]) -> str:
    c = res.config
    out = [
        "Kizashi benchmark: bulk insert and tag filters on SQLite",
        f"machine: {env['cpus']} CPUs ({env['cpu']}), {env['memory_gib']} GiB, {env['platform']}",
        f"python {env['python']}, SQLite {env['sqlite']}, SQLAlchemy {env['sqlalchemy']}",
        f"data: {c['observables']:,} observables (batches of {c['observable_batch']:,}) + "
        f"{c['reports']:,} reports (batches of <= {c['report_batch']:,}, grouped by tag set); "
        f"{c['batches']:,} create_many calls",
        "",
        "Bulk insert",
    ]
    ratio_ok = res.ratio >= TARGET_RATIO
    out.append(
        table(
            ["path", "rows", "seconds", "objects/s"],
            [
                [
                    "service layer (ObjectService.create_many)",
                    f"{res.service.rows:,}",
                    f"{res.service.seconds:.1f}",
                    f"{res.service.rate:,.0f}",
                ],
                [
                    "raw sqlite3 executemany, same schema",
                    f"{res.raw.rows:,}",
                    f"{res.raw.seconds:.1f}",
                    f"{res.raw.rate:,.0f}",
                ],
                ["ratio service / raw", "", "", f"{res.ratio:.3f}"],
            ],
        )
    )
    svc, raw = res.counts["service"], res.counts["raw"]
    parity = ", ".join(f"{t} {svc[t]:,}/{raw[t]:,}" for t in TABLES)
    out += [
        f"rows written (service/raw): {parity}",
        "(the service database also holds Kizashi's own identity object, written at open)",
        "",
    ]
    hdr = [
        "filter",
        "query",
        "objects per tag -> matches",
        "n",
        "p50 ms",
        "p95 ms",
        "max ms",
        "<20ms",
    ]
    pairs = res.filters[: len(AND_PAIRS)]
    allp = combined(pairs, "all two-tag AND pairs").summary()
    out += ["Tag filter, first page: objects.list(SYSTEM, tags=..., limit=50)"]
    rows = _lat_rows(res.filters)
    rows.insert(
        len(pairs),
        [
            "ALL two-tag AND pairs",
            "",
            "",
            str(allp["n"]),
            f"{allp['p50_ms']:.2f}",
            f"{allp['p95_ms']:.2f}",
            f"{allp['max_ms']:.2f}",
            verdict(allp["p95_ms"] < TARGET_P95_MS),
        ],
    )
    out += [table(hdr, rows, left=2), ""]
    out += ["Paging: pages 2..11 of the same filters, following next_cursor"]
    out += [table(hdr, _lat_rows([p for p in res.paging if p.samples]), left=2), ""]
    if res.readers:
        out += [
            "As an admin and as an analyst, 2 % of the objects TLP:RED (what an analyst may "
            "read: the tag list takes off the uses they may not, the lists skip those objects)"
        ]
        out += [table(hdr, _lat_rows(res.readers), left=2), ""]
        by = {lat.label: lat for lat in res.readers}
        for name in ["tag list, top 500"] + [label for label, _ in AND_PAIRS]:
            admin, analyst = by.get(f"{name} (admin)"), by.get(f"{name} (analyst)")
            if admin and analyst and admin.samples and analyst.samples and admin.pct(50):
                out.append(f"  {name}: analyst / admin p50 {analyst.pct(50) / admin.pct(50):.2f}")
        out.append("")
    worst = max(pairs, key=lambda lat: lat.pct(95))
    p95_ok = allp["p95_ms"] < TARGET_P95_MS
    out += [
        "Targets",
        f"  service/raw insert ratio {res.ratio:.3f} (target >= {TARGET_RATIO}): "
        + verdict(ratio_ok),
        f"  two-tag AND p95 over all pairs {allp['p95_ms']:.2f} ms "
        f"(target < {TARGET_P95_MS:.0f} ms): {verdict(p95_ok)}",
        f"  worst single pair {worst.label!r}: p95 {worst.pct(95):.2f} ms: "
        + verdict(worst.pct(95) < TARGET_P95_MS),
    ]
    return "\n".join(out)
