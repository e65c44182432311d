"""Feed ingestion and full-text extraction against their bare libraries, in one run.

1. Ingestion: feed documents (``feed_data``) served from a loopback HTTP server in this
   process; a fresh *spawned* process opens a fresh SQLite store, adds one feed per
   document (untimed) and times ``FeedService.poll`` over all of them, then a second
   pass where every item is a duplicate. Its peak RSS is its own ``VmHWM``.
2. Peer: bare ``feedparser.parse(body)`` over the same bytes, in memory, timed before
   and after the ingestion; the ratio uses the faster pass.
3. Full text: ``kizashi.ingest.fulltext.extract`` vs bare ``trafilatura.extract`` on the
   same pages, alternating which goes first, after a warm-up of both.
4. Information only: ingestion with full text on, article pages from the same server.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import sqlalchemy as sa
import trafilatura

from bench import feed_data
from bench.common import table, verdict
from kizashi.ingest.feeds import FeedService
from kizashi.ingest.fetch import Fetcher
from kizashi.ingest.fulltext import ExtractionError, extract
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from kizashi.model.actor import SYSTEM
from kizashi.services.app import Kizashi
from kizashi.text.extract import extract as extract_indicators

TARGET_FEED_RATIO = 0.5  # ingestion / bare feedparser
TARGET_RSS_MB = 300.0  # peak RSS of the ingesting process
TARGET_EXTRACT_RATIO = 0.8  # full text / bare trafilatura

Progress = Callable[[str], None]


@dataclass
class Rate:
    n: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "per_s": self.rate}


@dataclass
class FeedResult:
    config: dict[str, Any]
    ingest: Rate
    duplicates: Rate
    bare_passes: list[Rate]
    counts: dict[str, int]
    second_counts: dict[str, int]
    errors: list[str]
    stored_rows: int
    rss: dict[str, Any]
    fulltext: Rate
    bare_extract: Rate
    extract_check: dict[str, Any]
    pipeline_fulltext: Rate
    pipeline_check: dict[str, int]

    @property
    def bare(self) -> Rate:
        return max(self.bare_passes, key=lambda r: r.rate)

    @property
    def ratio(self) -> float:
        return self.ingest.rate / self.bare.rate if self.bare.rate else 0.0

    @property
    def extract_ratio(self) -> float:
        return self.fulltext.rate / self.bare_extract.rate if self.bare_extract.rate else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = {k: v.as_dict() if isinstance(v, Rate) else v for k, v in self.__dict__.items()}
        out["bare_passes"] = [r.as_dict() for r in self.bare_passes]
        return {**out, "ratio": self.ratio, "extract_ratio": self.extract_ratio}


# -- loopback server ----------------------------------------------------------------------
class Server:
    """Documents by path (query ignored) on 127.0.0.1, HTTP/1.1 keep-alive, no validators."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[bytes, str]] = {}
        docs = self.docs

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs

            def do_GET(self) -> None:
                found = docs.get(self.path.split("?", 1)[0])
                body, ctype = found or (b"not found", "text/plain")
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- ingestion, in a fresh process ---------------------------------------------------------
def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _poll_all(feeds: FeedService, ids: list[int], label: str) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    errors: list[str] = []
    spent, curve = 0.0, []
    step = max(1, len(ids) // 10)
    for i, feed_id in enumerate(ids, 1):
        start = time.perf_counter()
        res = feeds.poll(feed_id)
        spent += time.perf_counter() - start
        counts.update(res.counts)
        if res.error or res.rejections:
            errors.append(f"feed {feed_id}: {res.error or res.rejections[:2]}")
        if i % step == 0 or i == len(ids):
            items = sum(counts.values())
            curve.append((items, _status_kib("VmRSS") / 1024))
            print(f"  {label}: {items:,} items, {spent:.1f} s ({items / spent:,.0f}/s), "
                  f"RSS {curve[-1][1]:.0f} MB", file=sys.stderr, flush=True)  # fmt: skip
    return {"seconds": spent, "counts": dict(counts), "errors": errors[:10], "curve": curve}


def ingest_child(conn: Any, urls: list[str], db: str) -> None:
    """Runs in a spawned process: nothing of the parent's memory is counted."""
    rss_start, hwm_start = _status_kib("VmRSS") / 1024, _status_kib("VmHWM") / 1024
    kz = Kizashi.open(f"sqlite:///{db}")
    fetcher = Fetcher(AddressPolicy(parse_allowlist("127.0.0.1/32")))
    feeds = FeedService(kz, fetcher)
    ids = [feeds.add(SYSTEM, url, full_text=False).id for url in urls]
    # Startup, not ingestion: MISP's warning lists load once per process, on first use.
    start = time.perf_counter()
    extract_indicators("8.8.8.8", warninglists=True)
    warninglists_s = time.perf_counter() - start
    rss_ready = _status_kib("VmRSS") / 1024
    gc.collect()
    first = _poll_all(feeds, ids, "ingest")
    hwm_first = _status_kib("VmHWM") / 1024
    with kz.store.read() as c:
        rows = int(c.execute(sa.text("SELECT count(*) FROM feed_items")).scalar_one())
    second = _poll_all(feeds, ids, "second poll (duplicates)")
    kz.close()
    fetcher.close()
    peak, maxrss = _status_kib("VmHWM"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sizes = {"rss_start_mb": rss_start, "rss_ready_mb": rss_ready, "peak_first_mb": hwm_first}
    sizes["warninglists_load_s"] = warninglists_s
    sizes["peak_imports_mb"] = hwm_start  # the peak before any work: importing Kizashi
    sizes |= {"peak_mb": peak / 1024, "maxrss_mb": maxrss / 1024}
    conn.send({"first": first, "second": second, "rows": rows, **sizes})
    conn.close()


def run_ingest(urls: list[str], db: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=ingest_child, args=(child, urls, db))
    proc.start()
    child.close()
    try:
        out: dict[str, Any] = parent.recv()
    finally:
        proc.join()
    return out


def bare_parse(docs: list[feed_data.Doc]) -> Rate:
    feedparser.parse(docs[0].body)  # warm-up: lazy imports, regex compilation
    gc.collect()
    n, spent = 0, 0.0
    for d in docs:
        start = time.perf_counter()
        parsed = feedparser.parse(d.body)
        spent += time.perf_counter() - start
        n += len(parsed.entries)
    return Rate(n, spent)


# -- full text -------------------------------------------------------------------------------
def compare_extract(pages: list[feed_data.Page], base: str) -> tuple[Rate, Rate, dict[str, Any]]:
    """Kizashi's extract vs bare trafilatura, alternating which runs first on each page."""
    urls, bodies = [base + p.path for p in pages], [p.body for p in pages]
    for body, url in list(zip(bodies, urls, strict=True))[:5]:  # warm both up
        extract(body, url)
        trafilatura.extract(body)
    gc.collect()
    mine = bare = 0.0
    failed = empty = chars_mine = chars_bare = 0
    for i, (body, url) in enumerate(zip(bodies, urls, strict=True)):
        for which in (0, 1) if i % 2 else (1, 0):
            start = time.perf_counter()
            if which == 0:
                try:
                    chars_mine += len(extract(body, url).text)
                except ExtractionError:
                    failed += 1
                mine += time.perf_counter() - start
            else:
                text = trafilatura.extract(body)
                bare += time.perf_counter() - start
                chars_bare += len(text or "")
                empty += not text
    n = max(1, len(pages))
    check = {"kizashi_failed": failed, "bare_empty": empty, "kizashi_mean_chars": chars_mine // n}
    check |= {"bare_mean_chars": chars_bare // n, "mean_page_bytes": sum(map(len, bodies)) // n}
    return Rate(len(pages), mine), Rate(len(pages), bare), check


def pipeline_fulltext(urls: list[str], db: str) -> tuple[Rate, dict[str, int]]:
    """Information: items with full text on (an article page fetched and extracted each)."""
    kz = Kizashi.open(f"sqlite:///{db}")
    fetcher = Fetcher(AddressPolicy(parse_allowlist("127.0.0.1/32")))
    try:
        feeds = FeedService(kz, fetcher)
        ids = [feeds.add(SYSTEM, url, full_text=True).id for url in urls]
        counts: Counter[str] = Counter()
        start = time.perf_counter()
        for feed_id in ids:
            counts.update(feeds.poll(feed_id).counts)
        spent = time.perf_counter() - start
        with kz.store.read() as c:
            q = "SELECT count(*), count(html), count(extraction_error) FROM article_content"
            row = c.execute(sa.text(q)).one()
    finally:
        kz.close()
        fetcher.close()
    check = {**counts, "content_rows": row[0], "with_html": row[1], "extraction_errors": row[2]}
    return Rate(sum(counts.values()), spent), check


def run(
    feed_items: int, pages: int, *, per_doc: int = 100, ft_items: int = 300, progress: Progress
) -> FeedResult | str:
    """The results, or a sentence saying why the benchmark was skipped."""
    prose = feed_data.load_prose()
    if prose is None:
        return f"skipped: the Japanese prose corpus is missing ({feed_data.PROSE})"
    ft_items = min(ft_items, pages)
    load_start = os.getloadavg()[0]
    progress(f"generating {feed_items:,} feed items and {pages:,} article pages ...")
    with Server() as server, tempfile.TemporaryDirectory(prefix="kizashi-bench-feeds-") as tmp:
        docs = feed_data.feed_documents(prose, feed_items, per_doc=per_doc)
        server.docs.update((d.path, (d.body, d.content_type)) for d in docs)
        page_list = feed_data.article_pages(prose, pages)
        html = "text/html; charset=utf-8"
        server.docs.update((p.path, (p.body, html)) for p in page_list)
        ft_docs = feed_data.feed_documents(
            prose, ft_items, per_doc=per_doc, link_base=server.base + "/articles/", seed=7
        )
        server.docs.update((f"/ft{d.path}", (d.body, d.content_type)) for d in ft_docs)
        config: dict[str, Any] = {
            "feed_items": feed_items,
            "documents": len(docs),
            "items_per_document": per_doc,
        }
        config |= {"atom_documents": sum(d.kind == "atom" for d in docs), "pages": pages}
        config |= {"feed_bytes": sum(len(d.body) for d in docs), "fulltext_items": ft_items}
        config["page_bytes"] = sum(len(p.body) for p in page_list)
        progress("bare feedparser.parse, first pass ...")
        bare_passes = [bare_parse(docs)]
        progress(f"  {bare_passes[0].n:,} items, {bare_passes[0].rate:,.0f}/s")
        progress(f"ingestion: {len(docs)} feeds from {server.base}, in a spawned process")
        child = run_ingest([server.base + d.path for d in docs], str(Path(tmp) / "feeds.db"))
        progress("bare feedparser.parse, second pass ...")
        bare_passes.append(bare_parse(docs))
        progress(f"  {bare_passes[1].n:,} items, {bare_passes[1].rate:,.0f}/s")
        progress(f"full text: {pages:,} pages, kizashi extract vs bare trafilatura.extract ...")
        mine, bare, check = compare_extract(page_list, "https://www.example.co.jp")
        progress(f"  kizashi {mine.rate:,.1f}/s, bare {bare.rate:,.1f}/s")
        progress(f"pipeline with full text on: {ft_items} items ...")
        ft_rate, ft_check = pipeline_fulltext(
            [server.base + "/ft" + d.path for d in ft_docs], str(Path(tmp) / "fulltext.db")
        )
        progress(f"  {ft_rate.rate:,.1f} items/s")
    config["load_1min"] = [load_start, os.getloadavg()[0]]  # other work on the machine?
    first, second = child["first"], child["second"]
    rss = {k: v for k, v in child.items() if k.endswith(("_mb", "_s"))}
    rss["curve"] = first["curve"]
    return FeedResult(
        config=config,
        ingest=Rate(sum(first["counts"].values()), first["seconds"]),
        duplicates=Rate(sum(second["counts"].values()), second["seconds"]),
        bare_passes=bare_passes,
        counts=first["counts"],
        second_counts=second["counts"],
        errors=first["errors"] + second["errors"],
        stored_rows=child["rows"],
        rss=rss,
        fulltext=mine,
        bare_extract=bare,
        extract_check=check,
        pipeline_fulltext=ft_rate,
        pipeline_check=ft_check,
    )


# -- the report -----------------------------------------------------------------------------
def render(res: FeedResult, env: dict[str, Any]) -> str:
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


def _rate(r: Rate) -> list[str]:
    return [f"{r.n:,}", f"{r.seconds:.1f}", f"{r.rate:,.1f}"]
