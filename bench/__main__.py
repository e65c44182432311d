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
with ``--quick``), with ``--only stats``; a ninth, exchange (STIX import of ATT&CK against
python-stix2's MemoryStore, and the memory of a 200 MB bundle; 5 MB with ``--quick``),
with ``--only exchange``; a tenth, pages (the UI's main pages over HTTP as a logged-in
analyst at 100,000 stored items, and the front-end bundle's size; 5,000 with
``--quick``), with ``--only pages``.

A measurement, not a test: it always exits 0 and says PASS/FAIL against the targets.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import (
    bench_analyse,
    bench_exchange,
    bench_extract,
    bench_feeds,
    bench_lookup,
    bench_pages,
    bench_rules,
    bench_rules_e2e,
    bench_search,
    bench_stats,
    bench_store,
)
from bench.common import machine, progress


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--observables", type=int, default=1_000_000)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="20,000 observables, 2,000 reports, batches of 1,000; 2,000 feed items, 200 pages; "
        "a 2 MB extraction corpus, peers on 128 KB; 5,000 search documents, no million; "
        "rules over 300 sampled and 200 stored items; analytics over 5,000 documents; "
        "pages over 5,000 items, 5 requests each",
    )
    ap.add_argument("--batch", type=int, default=10_000, help="observables per create_many call")
    ap.add_argument("--queries", type=int, default=200, help="samples per filter")
    ap.add_argument("--feed-items", type=int, default=20_000, help="feed items to ingest")
    ap.add_argument("--pages", type=int, default=2_000, help="article pages for full text")
    ap.add_argument(
        "--only",
        choices=[
            "store",
            "feeds",
            "extract",
            "lookup",
            "analyse",
            "search",
            "rules",
            "stats",
            "exchange",
            "pages",
        ],
        help="run one benchmark only",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        # Smaller batches too, so that rare tags stay rare at this size.
        args.observables, args.reports, args.batch = 20_000, 2_000, 1_000
        args.feed_items, args.pages = 2_000, 200

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
        print(bench_store.render(res, env), flush=True)
        doc.update(res.as_dict())
    if args.only in (None, "feeds"):
        if args.only is None:
            print("\n", flush=True)
        feeds = bench_feeds.run(args.feed_items, args.pages, progress=progress)
        if isinstance(feeds, str):
            print(f"Feed ingestion benchmark {feeds}", flush=True)
            doc["feeds"] = {"skipped": feeds}
        else:
            print(bench_feeds.render(feeds, env), flush=True)
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
    if args.only in (None, "exchange"):
        if args.only is None:
            print("\n", flush=True)
        exchanged = bench_exchange.run(args.quick, progress=progress)
        print(bench_exchange.render(exchanged), flush=True)
        doc["exchange"] = exchanged.as_dict()
    if args.only in (None, "pages"):
        if args.only is None:
            print("\n", flush=True)
        paged = bench_pages.run(args.quick, progress=progress)
        print(bench_pages.render(paged), flush=True)
        doc["pages"] = paged.as_dict()
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
