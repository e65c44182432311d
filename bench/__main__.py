"""``python -m bench``: run the benchmarks and print a table (``make bench``).

Three benchmarks: the store (bulk insert, tag filters), feeds (ingestion, full text) and
extract (indicator extraction against public extractors); ``--only store``, ``--only
feeds`` or ``--only extract`` runs one of them.

A fourth, lookup (indicator lookup on a store of 10 million observables; 200,000 with
``--quick``), runs with the others or alone with ``--only lookup``; a fifth, analyse (the
search analyser against the bare Japanese tokeniser), with ``--only analyse``; a sixth,
search (Kizashi's full-text index against Groonga on 100,000 Japanese/English documents,
then 1,000,000; 5,000 with ``--quick``), with ``--only search``; a seventh, rules
(auto-tagging: added latency on the ingest path, on the side and end to end, and "apply
to existing" with 10 to 1,000 rules; smaller stores with ``--quick``), with ``--only
rules``; an eighth, stats (analytics over selections of 1,000 to 100,000 items; 5,000
with ``--quick``), with ``--only stats``.

A measurement, not a test: it always exits 0 and says PASS/FAIL against the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import unicodedata
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import (
    bench_analyse,
    bench_extract,
    bench_feeds,
    bench_lookup,
    bench_rules,
    bench_rules_e2e,
    bench_search,
    bench_stats,
    bench_store,
)
from bench.bench_feeds import FeedResult
from bench.bench_store import Latency, Result

TARGET_RATIO = 0.25
TARGET_P95_MS = 20.0
TARGET_FEED_RATIO = 0.5
TARGET_RSS_MB = 300.0
TARGET_EXTRACT_RATIO = 0.8


def machine() -> dict[str, Any]:
    cpu = ""
    mem_gib = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_gib": round(mem_gib, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": version("sqlalchemy"),
        "feedparser": version("feedparser"),
        "trafilatura": version("trafilatura"),
    }


def _width(text: str) -> int:
    """Terminal columns: Japanese (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, left: bool) -> str:
    fill = " " * (width - _width(text))
    return text + fill if left else fill + text


def table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """Plain text; the first ``left`` columns are left-aligned, the rest right."""
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        cells = [_pad(str(c), w, i < left) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


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
    parity = ", ".join(f"{t} {svc[t]:,}/{raw[t]:,}" for t in bench_store.TABLES)
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
    pairs = res.filters[: len(bench_store.AND_PAIRS)]
    allp = bench_store.combined(pairs, "all two-tag AND pairs").summary()
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
        for name in ["tag list, top 500"] + [label for label, _ in bench_store.AND_PAIRS]:
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


def render_feeds(res: FeedResult, env: dict[str, Any]) -> str:
    c, rss = res.config, res.rss
    counts = ", ".join(f"{k} {v:,}" for k, v in res.counts.items())
    again = ", ".join(f"{k} {v:,}" for k, v in res.second_counts.items() if v)
    curve = ", ".join(f"{n:,}: {mb:.0f}" for n, mb in rss["curve"])
    x = res.extract_check
    out = [
        "Kizashi benchmark: feed ingestion and full-text extraction",
        f"machine: {env['cpus']} CPUs ({env['cpu']}), {env['memory_gib']} GiB, {env['platform']}",
        f"python {env['python']}, SQLite {env['sqlite']}, feedparser {env['feedparser']}, "
        f"trafilatura {env['trafilatura']}",
        f"data: {c['feed_items']:,} items in {c['documents']:,} documents of "
        f"{c['items_per_document']} ({c['atom_documents']} Atom, the rest RSS 2.0), "
        f"{c['feed_bytes'] / 1e6:.1f} MB; {c['pages']:,} article pages, "
        f"{c['page_bytes'] / 1e6:.1f} MB (mean {x['mean_page_bytes']:,} bytes)",
        "load average (1 min) at start and end: " + " / ".join(f"{v:.2f}" for v in c["load_1min"]),
        "",
        "Feed ingestion: loopback HTTP -> SQLite, full text off",
    ]
    bare = [(f"bare feedparser.parse, same bytes (pass {i})", r) for i, r in enumerate(
        res.bare_passes, 1)]  # fmt: skip
    rows = [("FeedService.poll over every feed (new items)", res.ingest), *bare]
    rows.append(("second poll, every item a duplicate (information)", res.duplicates))
    cells = [[label, f"{r.n:,}", f"{r.seconds:.1f}", f"{r.rate:,.0f}"] for label, r in rows]
    cells.insert(3, ["ratio ingestion / bare (faster pass)", "", "", f"{res.ratio:.3f}"])
    out += [table(["path", "items", "seconds", "items/s"], cells)]
    out += [
        f"outcomes: {counts}; feed_items rows {res.stored_rows:,}; second poll: {again}",
        f"problems reported by polls: {len(res.errors)}" + "".join(f"\n  {e}" for e in res.errors),
        f"RSS of the ingesting process (MB): {rss['rss_start_mb']:.0f} at start (peak "
        f"{rss['peak_imports_mb']:.0f} while importing), {rss['rss_ready_mb']:.0f} after open + "
        f"add and loading the warning lists ({rss.get('warninglists_load_s', 0):.1f} s, "
        f"once per process), peak {rss['peak_first_mb']:.0f} (ingestion), "
        f"{rss['peak_mb']:.0f} (both polls)",
        f"RSS after n items (MB): {curve}",
        "",
        "Full text: the same pages through both, alternating which goes first",
    ]
    out += [
        table(
            ["path", "pages", "seconds", "pages/s"],
            [
                ["kizashi.ingest.fulltext.extract", *_rate(res.fulltext)],
                ["bare trafilatura.extract", *_rate(res.bare_extract)],
                ["ratio kizashi / bare", "", "", f"{res.extract_ratio:.3f}"],
            ],
        ),
        f"mean text (chars): kizashi {x['kizashi_mean_chars']:,}, bare {x['bare_mean_chars']:,};"
        f" failures: kizashi {x['kizashi_failed']}, bare {x['bare_empty']}",
    ]
    ft, chk = res.pipeline_fulltext, res.pipeline_check
    out.append(
        f"pipeline with full text on (information): {ft.n:,} items in {ft.seconds:.1f} s, "
        f"{ft.rate:,.1f} items/s; stored {chk.get('stored', 0):,}, article_content rows "
        f"{chk['content_rows']:,} ({chk['with_html']:,} with HTML, "
        f"{chk['extraction_errors']} errors)"
    )
    peak = rss["peak_mb"]
    out += [
        "",
        "Targets",
        f"  ingestion / bare feedparser {res.ratio:.3f} (target >= {TARGET_FEED_RATIO}): "
        + verdict(res.ratio >= TARGET_FEED_RATIO),
        f"  peak RSS of the ingestion {peak:.0f} MB (target < {TARGET_RSS_MB:.0f} MB): "
        + verdict(peak < TARGET_RSS_MB),
        f"  full text / bare trafilatura {res.extract_ratio:.3f} "
        f"(target >= {TARGET_EXTRACT_RATIO}): "
        + verdict(res.extract_ratio >= TARGET_EXTRACT_RATIO),
    ]
    return "\n".join(out)


def _rate(r: bench_feeds.Rate) -> list[str]:
    return [f"{r.n:,}", f"{r.seconds:.1f}", f"{r.rate:,.1f}"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--observables", type=int, default=1_000_000)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="20,000 observables, 2,000 reports, batches of 1,000; 2,000 feed items, 200 pages; "
        "a 2 MB extraction corpus, peers on 128 KB; 5,000 search documents, no million; "
        "rules over 300 sampled and 200 stored items; analytics over 5,000 documents",
    )
    ap.add_argument("--batch", type=int, default=10_000, help="observables per create_many call")
    ap.add_argument("--queries", type=int, default=200, help="samples per filter")
    ap.add_argument("--feed-items", type=int, default=20_000, help="feed items to ingest")
    ap.add_argument("--pages", type=int, default=2_000, help="article pages for full text")
    ap.add_argument(
        "--only",
        choices=["store", "feeds", "extract", "lookup", "analyse", "search", "rules", "stats"],
        help="run one benchmark only",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        # Smaller batches too, so that rare tags stay rare at this size.
        args.observables, args.reports, args.batch = 20_000, 2_000, 1_000
        args.feed_items, args.pages = 2_000, 200

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    env = machine()
    doc: dict[str, Any] = {"machine": env}
    if args.only in (None, "store"):
        res = bench_store.run(
            args.observables,
            args.reports,
            obs_batch=args.batch,
            queries=args.queries,
            progress=progress,
        )
        print(render(res, env), flush=True)
        doc.update(res.as_dict())
    if args.only in (None, "feeds"):
        if args.only is None:
            print("\n", flush=True)
        feeds = bench_feeds.run(args.feed_items, args.pages, progress=progress)
        if isinstance(feeds, str):
            print(f"Feed ingestion benchmark {feeds}", flush=True)
            doc["feeds"] = {"skipped": feeds}
        else:
            print(render_feeds(feeds, env), flush=True)
            doc["feeds"] = feeds.as_dict()
    if args.only in (None, "extract"):
        if args.only is None:
            print("\n", flush=True)
        settings = bench_extract.Settings.quick() if args.quick else bench_extract.Settings()
        found = bench_extract.run(settings, progress=progress)
        if isinstance(found, str):
            print(f"Extraction benchmark {found}", flush=True)
            doc["extract"] = {"skipped": found}
        else:
            print(bench_extract.render(found, env), flush=True)
            doc["extract"] = found.as_dict()
    if args.only in (None, "analyse"):
        analysed = bench_analyse.run(args.quick)
        print(bench_analyse.render(analysed), flush=True)
        doc["analyse"] = analysed.as_dict()
    if args.only in (None, "lookup"):
        if args.only is None:
            print("\n", flush=True)
        lookup = bench_lookup.Settings.quick() if args.quick else bench_lookup.Settings()
        looked = bench_lookup.run(lookup, progress=progress)
        print(bench_lookup.render(looked, env), flush=True)
        doc["lookup"] = looked.as_dict()
    if args.only in (None, "search"):
        if args.only is None:
            print("\n", flush=True)
        searched = bench_search.run(args.quick, progress=progress)
        print(bench_search.render(searched, env), flush=True)
        doc["search"] = searched
    if args.only in (None, "rules"):
        if args.only is None:
            print("\n", flush=True)
        ruled = bench_rules.run(args.quick, progress=progress)
        print(bench_rules.render(ruled, env), flush=True)
        doc["rules"] = ruled.as_dict()
        ended = bench_rules_e2e.run(args.quick, progress=progress)
        print("\n" + bench_rules_e2e.render(ended), flush=True)
        doc["rules_end_to_end"] = ended.as_dict()
    if args.only in (None, "stats"):
        if args.only is None:
            print("\n", flush=True)
        counted = bench_stats.run(args.quick, progress=progress)
        print(bench_stats.render(counted), flush=True)
        doc["stats"] = counted.as_dict()
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
