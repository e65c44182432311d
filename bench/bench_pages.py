"""Pages: the UI's main pages as a logged-in analyst, over HTTP, at 100,000 stored items;
and the size of the front-end bundle.

``python -m bench --only pages`` (``--quick``: 5,000 items, 5 requests per page). Target
(issue 20): every page answers in **under 200 ms at p95**; the bundle every page loads
(``app.js`` + ``app.css``) stays small.

1. **Store.** The embedded default (SQLite and the search index, in a temporary data
   directory), filled as a feed poll fills it: :func:`bench.search_data.build_corpus`
   documents (about 2 KB of Japanese security prose with English sentences and planted
   indicators; one TLP tag, 5 % of them TLP:RED, and a Zipf-like tail of free tags) stored
   as reports with ``create_many_in(..., extract=True)`` in batches of one tag set, so
   that extraction makes the observables and mentions and the name gazetteer links the
   reports that name a stored group or piece of software. Before the reports: the groups,
   malware and tools the corpus names, with relationships between them; after them,
   ``related-to`` relationships from extracted addresses and domains to the groups,
   :data:`RULES` rules (:func:`bench.bench_rules.make_rules`, each adding a tag of its own),
   20 feeds, an analyst with 5 digests and 5 saved searches. The index catches up
   (``follower.catch_up()``), the rules are applied to everything, the index catches up
   again until nothing is left, and the store is closed.
2. **Server.** ``python -m kizashi run`` on that data directory on 127.0.0.1 (a separate
   process: uvicorn, the whole middleware stack and the index follower thread, as a user
   runs it; ``KIZASHI_WORKERS=0``, so that no feed poll or digest runs in the background).
3. **Client.** One ``httpx.Client`` with keep-alive, logged in through the login form (its
   CSRF token, then the session cookie), ``Accept-Language: ja``. Every round requests
   each page once, in order (so that machine load falls on every page alike); the first
   :data:`WARMUP` rounds are not counted (the first request of each is kept as "first"),
   then :data:`FULL_RUNS` rounds (:data:`QUICK_RUNS` with ``--quick``). A sample is the
   wall time from sending the request to the last byte of the body.
4. **The floor.** In the same rounds, ``/login`` (a template rendered through the same
   stack, no data read) and a static file: the HTTP stack's own cost. Each page's p95 is
   given as a multiple of ``/login``'s.
5. **Bundle.** Every file of ``src/kizashi/web/static/dist``: raw bytes and gzip (level
   9) bytes. Kizashi serves them uncompressed (no gzip middleware): raw is what crosses
   the wire unless a proxy compresses.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from bench.common import pct, table, verdict

FULL_ITEMS = 100_000
#: A directory to build the store in once and reuse on later runs (it is kept): a full
#: build takes about 15 minutes, and a change to a page rarely changes the store.
KEEP_ENV = "KIZASHI_BENCH_PAGES_KEEP"
QUICK_ITEMS = 5_000
FULL_RUNS = 30
QUICK_RUNS = 5
#: The pages whose answers the search index keeps while it does not change
#: (kizashi.search.stats.kept), walked again with one new report stored before each
#: round: the first view after a commit, as under a steady flow of new items.
AFTER_CHANGE = ("home", "analytics", "graph (data)")
FULL_CHANGE_RUNS = 15
QUICK_CHANGE_RUNS = 3
#: Rounds before the counted ones (caches, the index's reader, the gazetteer, Jinja).
WARMUP = 2
TARGET_P95_MS = 200.0  # every page (and the data call a page draws from), p95
#: app.js + app.css, gzip -9: what every page loads. 31.9 KB when chosen: half again for
#: growth, and 0.25 s at 1.6 Mbit/s (a throttled mobile link); docs/benchmarks.md, Pages.
TARGET_BUNDLE_GZIP_KB = 50.0
#: Reports per ``create_many_in`` (one transaction, one tag set).
BATCH = 1_000
#: Auto-tagging rules, applied to every stored item before the walk: each adds a tag of
#: its own (the store's long tail of tags, and the tags' provenance on object pages).
RULES = 200
TABLES = ("mentions", "object_tags", "object_refs", "tags")
DIST = Path(__file__).resolve().parents[1] / "src" / "kizashi" / "web" / "static" / "dist"
#: The bundle every page loads; the rest are loaded only by the pages named.
EVERY_PAGE = ("app.js", "app.css")
LOADED_BY = {"charts.js": "/analytics", "graph.js": "/graph", "entity.js": "object pages"}
ANALYST, PASSWORD = "analyst", "bench-analyst-password"

#: Groups and software the corpus names (bench.search_data.ACTORS and others); a report
#: that names one refers to it (the name gazetteer).
GROUPS = {
    "Lazarus": ["Lazarus Group", "ラザルス"],
    "BlackTech": ["Palmerworm"],
    "APT10": ["menuPass", "Stone Panda"],
    "MirrorFace": ["Earth Kasha"],
    "Tick": ["Bronze Butler"],
    "APT41": ["Winnti Group"],
}
MALWARE = ["LockBit", "Emotet", "PlugX", "ShadowPad", "TSCookie", "PLEAD", "LODEINFO", "ANEL"]
TOOLS = ["Cobalt Strike", "Mimikatz"]
USES = {
    "Lazarus": ["Cobalt Strike", "Mimikatz"],
    "BlackTech": ["TSCookie", "PLEAD"],
    "APT10": ["ANEL", "PlugX", "LODEINFO"],
    "MirrorFace": ["LODEINFO", "ANEL"],
    "Tick": ["ShadowPad"],
    "APT41": ["ShadowPad", "PlugX", "Cobalt Strike"],
}
#: The lookup form's values: known (plain and defanged), and unknown.
LOOKUP = [
    "10.0.0.5",
    "evil-domain[.]com",
    "hxxp://evil-domain[.]com/dl/a.exe",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "CVE-2024-3400",
    "198.51.100.77",
    "never-seen.example",
]
SEARCH_WORD = "脆弱性"
TAG = "phishing"
TAG_FILTER = "phishing AND tlp:amber"

Progress = Callable[[str], None]


@dataclass
class Built:
    items: int
    store_s: float = 0.0
    index_s: float = 0.0
    rules_s: float = 0.0
    #: Objects by type, and rows of the tables in :data:`TABLES`.
    counts: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    #: A TLP:GREEN/AMBER report with 3+ tags, indicators and a named group.
    report_id: str = ""
    group_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "store_s": round(self.store_s, 1),
            "index_s": round(self.index_s, 1),
            "rules_s": round(self.rules_s, 1),
            "counts": self.counts,
            "rows": self.rows,
            "report_id": self.report_id,
            "group_id": self.group_id,
        }


@dataclass
class Page:
    name: str
    path: str
    method: str = "GET"
    form: dict[str, str] | None = None
    #: A floor (the HTTP stack alone), not a page judged by the target.
    floor: bool = False
    #: Walked after a change to the store (see :data:`AFTER_CHANGE`); shown, not judged.
    after_change: bool = False
    samples: list[float] = field(default_factory=list)
    first_ms: float = 0.0
    bytes: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def p(self, q: float) -> float:
        return pct(self.samples, q)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "method": self.method,
            "floor": self.floor,
            "after_change": self.after_change,
            "n": len(self.samples),
            "p50_ms": round(self.p(50), 2),
            "p95_ms": round(self.p(95), 2),
            "max_ms": round(max(self.samples, default=float("nan")), 2),
            "first_ms": round(self.first_ms, 2),
            "bytes": self.bytes,
            "statuses": dict(self.statuses),
        }


@dataclass
class Bundle:
    name: str
    raw: int
    gzip: int

    @property
    def loaded_by(self) -> str:
        return "every page" if self.name in EVERY_PAGE else LOADED_BY.get(self.name, "-")


@dataclass
class PagesResult:
    built: Built
    runs: int
    pages: list[Page]
    bundles: list[Bundle]
    load: list[float]
    skipped: str | None = None

    @property
    def judged(self) -> list[Page]:
        return [p for p in self.pages if not p.floor and not p.after_change]

    @property
    def floor(self) -> Page | None:
        return next((p for p in self.pages if p.floor and p.path == "/login"), None)

    @property
    def worst(self) -> Page | None:
        return max(self.judged, key=lambda p: p.p(95), default=None)

    @property
    def bundle_gzip(self) -> int:
        return sum(b.gzip for b in self.bundles if b.name in EVERY_PAGE)

    def as_dict(self) -> dict[str, Any]:
        worst = self.worst
        return {
            "skipped": self.skipped,
            "store": self.built.as_dict(),
            "runs": self.runs,
            "warmup": WARMUP,
            "pages": [p.as_dict() for p in self.pages],
            "bundles": [
                {"name": b.name, "raw": b.raw, "gzip": b.gzip, "loaded_by": b.loaded_by}
                for b in self.bundles
            ],
            "load_1min": self.load,
            "target": {
                "p95_ms": TARGET_P95_MS,
                "worst": worst.name if worst else None,
                "worst_p95_ms": round(worst.p(95), 2) if worst else None,
                "met": bool(worst and worst.p(95) < TARGET_P95_MS),
                "bundle_gzip_kb": TARGET_BUNDLE_GZIP_KB,
                "every_page_gzip_bytes": self.bundle_gzip,
                "bundle_met": self.bundle_gzip <= TARGET_BUNDLE_GZIP_KB * 1024,
            },
        }


# -- the store -----------------------------------------------------------------------------
def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def _settings(data: Path) -> Any:
    from kizashi.config import Settings

    return Settings(data_dir=data, admin_password="bench-admin-password", workers=0)


def _chosen(docs: Sequence[Any]) -> int:
    """The report the object page shows: readable by an analyst, three tags or more,
    planted indicators and a group it names (so: mentions, tag neighbours, a referrer)."""
    fallback = 0
    for i, d in enumerate(docs):
        if "tlp:red" in d.tags or len(d.tags) < 3:
            continue
        if "evil-domain" in d.body and any(g in d.body for g in GROUPS):
            return i
        fallback = fallback or i
    return fallback


def build_store(data: Path, n: int, say: Progress) -> Built:
    """The data directory ``kizashi run`` serves: reports, extraction, entities,
    relationships, rules, feeds, an analyst and theirs; the index caught up."""
    import sqlalchemy as sa

    from bench.bench_rules import make_rules, report_raw, vocabulary
    from bench.search_data import build_corpus
    from kizashi.ingest.feeds import FeedService
    from kizashi.jobs.queue import make_fetcher
    from kizashi.model.actor import SYSTEM
    from kizashi.services import Kizashi

    built = Built(n)
    settings = _settings(data)
    settings.ensure_data_dir()
    say(f"pages: generating {n:,} documents ...")
    docs = build_corpus(n)
    chosen = _chosen(docs)
    kz = Kizashi.open(settings.resolved_database_url, **settings.store_options())
    try:
        start = time.perf_counter()
        entities: list[dict[str, Any]] = [
            {"type": "intrusion-set", "name": name, "aliases": aliases}
            for name, aliases in GROUPS.items()
        ]
        entities += [{"type": "malware", "name": m, "is_family": True} for m in MALWARE]
        entities += [{"type": "tool", "name": t} for t in TOOLS]
        made = kz.objects.create_many(SYSTEM, entities, tags=["tlp:green"])
        by_name = {e["name"]: i for e, i in zip(entities, made.ids, strict=True)}
        kz.objects.create_many(
            SYSTEM,
            [
                {
                    "type": "relationship",
                    "relationship_type": "uses",
                    "source_ref": by_name[g],
                    "target_ref": by_name[s],
                }
                for g, used in USES.items()
                for s in used
            ],
        )
        built.group_id = by_name["Lazarus"]
        say(f"pages: storing {n:,} reports with extraction, in batches of one tag set ...")
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, d in enumerate(docs):
            groups.setdefault(tuple(sorted(d.tags)), []).append(i)
        done = 0
        for tags, members in sorted(groups.items()):
            for lo in range(0, len(members), BATCH):
                part = members[lo : lo + BATCH]
                with kz.store.begin() as conn:
                    res = kz.objects.create_many_in(
                        conn, SYSTEM, [report_raw(docs[i]) for i in part], tags=tags, extract=True
                    )
                if chosen in part:
                    built.report_id = res.ids[part.index(chosen)]
                done += len(part)
                if done // 10_000 != (done - len(part)) // 10_000:
                    say(f"  {done:,} reports, {time.perf_counter() - start:,.0f} s")
        # Infrastructure attributed to the groups: addresses and domains extraction made.
        with kz.store.read() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT id FROM objects WHERE type IN ('ipv4-addr', 'domain-name')"
                    " ORDER BY pk LIMIT :n"
                ),
                {"n": max(100, n // 50)},
            ).scalars()
            infra = list(found)
        ends = list(GROUPS)
        kz.objects.create_many(
            SYSTEM,
            [
                {
                    "type": "relationship",
                    "relationship_type": "related-to",
                    "source_ref": ref,
                    "target_ref": by_name[ends[k % len(ends)]],
                }
                for k, ref in enumerate(infra)
            ],
        )
        analyst = kz.users.create(SYSTEM, ANALYST, PASSWORD, "analyst")
        actor = kz.users.get_actor(analyst.username)
        for raw in make_rules(vocabulary(docs[:1000]), RULES):
            kz.rules.save(SYSTEM, raw)
        feeds = FeedService(kz, make_fetcher(settings))
        for k in range(20):
            feeds.add(SYSTEM, f"https://feeds{k}.example.org/rss.xml", tags=[f"source:feed{k}"])
        for k, q in enumerate(["ランサムウェア", "tag:phishing", "脆弱性 lang:ja", "ioc:cve", ""]):
            kz.digests.create(actor, f"digest {k}", query=q, days=7)
            kz.search.save(actor, f"saved {k}", q or "攻撃")
        built.store_s = time.perf_counter() - start
        say(f"pages: stored in {built.store_s:,.0f} s; the index catches up ...")
        start = time.perf_counter()
        kz.search.follower.catch_up()
        built.index_s = time.perf_counter() - start
        say(f"pages: indexed in {built.index_s:,.0f} s; {RULES} rules applied to everything ...")
        start = time.perf_counter()
        kz.rules.apply(SYSTEM, None)
        while kz.search.follower.catch_up():  # until nothing is left
            pass
        built.rules_s = time.perf_counter() - start
        with kz.store.read() as conn:
            rows = conn.execute(sa.text("SELECT type, count(*) FROM objects GROUP BY type"))
            built.counts = {str(t): int(c) for t, c in rows}
            for tbl in TABLES:
                counted = conn.execute(sa.text(f"SELECT count(*) FROM {tbl}"))
                built.rows[tbl] = int(counted.scalar_one())
        say(f"pages: rules applied and indexed in {built.rules_s:,.0f} s")
    finally:
        kz.close()
    return built


# -- the server and the client -------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(data: Path, log: Path) -> Iterator[str]:
    """``kizashi run`` on ``data``; yields its URL once the login page answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZASHI_")}
    env |= {
        "KIZASHI_DATA_DIR": str(data),
        "KIZASHI_PORT": str(port),
        "KIZASHI_ADMIN_PASSWORD": "bench-admin-password",
        "KIZASHI_WORKERS": "0",
        "KIZASHI_CONFIG": str(data / "absent.toml"),
    }
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kizashi", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data,
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(url + "/login", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"kizashi run did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(text: str) -> str:
    found = _CSRF.search(text)
    if not found:
        raise RuntimeError("no CSRF token in the page")
    return found.group(1)


def login(client: httpx.Client) -> None:
    token = _csrf(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": ANALYST, "password": PASSWORD, "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    if r.status_code != 303:
        raise RuntimeError(f"login failed: {r.status_code}")


def pages(client: httpx.Client, built: Built) -> list[Page]:
    """The walk, in order; the cursor, the relation map's data call and the CSRF token are
    read from the pages, as a browser finds them."""
    tagged = "/objects?" + urlencode({"tags": TAG_FILTER})
    first = client.get(tagged).text
    cursor = re.search(r"cursor=([^\"&]+)", first)
    if not cursor:
        raise RuntimeError("no next page on the tag filter")
    graph = re.search(r'data-api="([^"]+)"', client.get("/graph").text)
    if not graph:
        raise RuntimeError("no data-api on /graph")
    token = _csrf(client.get("/lookup").text)
    report, group = quote(built.report_id), quote(built.group_id)
    return [
        Page("home", "/"),
        Page("objects", "/objects"),
        Page(f"objects, tags {TAG_FILTER}", tagged),
        Page("objects, same, page 2", tagged + "&cursor=" + html.unescape(cursor.group(1))),
        Page("object: report", f"/objects/{report}"),
        Page("object: report's graph (data)", f"/api/v1/objects/{report}/graph"),
        Page("object: group (Lazarus)", f"/objects/{group}"),
        Page("object: group's graph (data)", f"/api/v1/objects/{group}/graph"),
        Page(f"tag {TAG}", f"/tags/{TAG}"),
        Page("tags", "/tags"),
        Page(f"search {SEARCH_WORD}", "/search?" + urlencode({"q": SEARCH_WORD})),
        Page(f"search tag:{TAG}", "/search?" + urlencode({"q": f"tag:{TAG}"})),
        Page("analytics", "/analytics"),
        Page("graph", "/graph"),
        Page("graph (data)", html.unescape(graph.group(1))),
        Page("feeds", "/feeds"),
        Page("rules", "/rules"),
        Page("digests", "/digests"),
        Page("import", "/import"),
        Page("lookup", "/lookup"),
        Page(
            f"lookup, POST {len(LOOKUP)} values",
            "/lookup",
            "POST",
            {"values": "\n".join(LOOKUP), "csrf": token},
        ),
        Page("settings", "/settings"),
        Page("floor: /login", "/login", floor=True),
        Page("floor: static file", "/static/favicon.svg", floor=True),
    ]


def walk(client: httpx.Client, walked: list[Page], runs: int, say: Progress) -> None:
    for rnd in range(WARMUP + runs):
        for pg in walked:
            start = time.perf_counter()
            r = client.request(pg.method, pg.path, data=pg.form)
            ms = (time.perf_counter() - start) * 1000
            pg.statuses[r.status_code] += 1
            pg.bytes = len(r.content)
            if rnd == 0:
                pg.first_ms = ms
            elif rnd >= WARMUP:
                pg.samples.append(ms)
        if (rnd + 1) % 10 == 0:
            say(f"  round {rnd + 1} of {WARMUP + runs}")


def after_change(client: httpx.Client, walked: list[Page], runs: int, say: Progress) -> list[Page]:
    """:data:`AFTER_CHANGE`'s pages, each requested once after a new report is stored and
    searchable (the index has committed it), ``runs`` times."""
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    if not token:
        raise RuntimeError("no csrf-token on the home page")
    out = [
        Page(f"{p.name}, after a change", p.path, after_change=True)
        for p in walked
        if p.name in AFTER_CHANGE
    ]
    for rnd in range(runs):
        word = f"kizashibench{rnd}z{int(time.time())}"
        made = client.post(
            "/api/v1/objects",
            json={
                "type": "report",
                "name": f"benchmark change {rnd}",
                "description": f"A new report, {word}, stored while the pages are read.",
                "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            headers={"X-CSRF-Token": html.unescape(token.group(1))},
        )
        if made.status_code != 201:
            raise RuntimeError(f"storing a report failed: {made.status_code} {made.text[:300]}")
        deadline = time.monotonic() + 60
        while client.get("/api/v1/search", params={"q": word}).json().get("total", 0) < 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the new report never became searchable")
            time.sleep(0.1)
        for pg in out:
            start = time.perf_counter()
            r = client.get(pg.path)
            pg.samples.append((time.perf_counter() - start) * 1000)
            pg.statuses[r.status_code] += 1
            pg.bytes = len(r.content)
            if rnd == 0:
                pg.first_ms = pg.samples[-1]
    say(f"  {runs} changes, {len(out)} pages after each")
    return out


def bundles(folder: Path = DIST) -> list[Bundle]:
    out = []
    for path in sorted(folder.glob("*")):
        if path.suffix in (".js", ".css") and path.is_file():
            body = path.read_bytes()
            out.append(Bundle(path.name, len(body), len(gzip.compress(body, 9))))
    order = {name: k for k, name in enumerate([*EVERY_PAGE, *LOADED_BY])}
    return sorted(out, key=lambda b: (order.get(b.name, 99), b.name))


def run(quick: bool, progress: Progress | None = None) -> PagesResult:
    say = progress or (lambda _m: None)
    n = QUICK_ITEMS if quick else FULL_ITEMS
    runs = QUICK_RUNS if quick else FULL_RUNS
    found = bundles()
    try:
        from bench.search_data import build_corpus

        build_corpus(1)
    except FileNotFoundError as exc:
        return PagesResult(Built(n), runs, [], found, [], skipped=str(exc))
    keep = os.environ.get(KEEP_ENV)
    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="kizashi-bench-pages-"))
    load = [_load()]
    try:
        data = tmp / "data"
        saved = tmp / f"built-{n}.json"
        if keep and saved.exists():
            built = Built(**json.loads(saved.read_text(encoding="utf-8")))
            say(f"pages: reusing the store in {data} ({KEEP_ENV})")
        else:
            built = build_store(data, n, say)
            if keep:
                saved.write_text(json.dumps(built.as_dict()), encoding="utf-8")
        load.append(_load())
        say("pages: starting kizashi run ...")
        with (
            server(data, tmp / "server.log") as url,
            httpx.Client(
                base_url=url, headers={"Accept-Language": "ja,en;q=0.8"}, timeout=120
            ) as client,
        ):
            login(client)
            walked = pages(client, built)
            say(f"pages: {len(walked)} pages, {WARMUP} + {runs} rounds ...")
            walk(client, walked, runs, say)
            say("pages: the kept answers' pages after each change ...")
            changes = FULL_CHANGE_RUNS if not quick else QUICK_CHANGE_RUNS
            walked += after_change(client, walked, changes, say)
        load.append(_load())
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return PagesResult(built, runs, walked, found, load)


# -- output --------------------------------------------------------------------------------
def _kb(n: int) -> str:
    return f"{n / 1024:,.1f}"


def render(res: PagesResult) -> str:
    if res.skipped:
        return f"Pages benchmark skipped: {res.skipped}"
    b = res.built
    reports = b.counts.get("report", 0)
    objects = sum(b.counts.values())
    lines = [
        "Kizashi benchmark: pages (kizashi run on 127.0.0.1, a logged-in analyst, httpx)",
        f"{reports:,} reports ({objects:,} objects, {b.counts.get('relationship', 0):,} "
        f"relationships, {b.rows.get('mentions', 0):,} mentions, {b.rows.get('tags', 0):,} "
        f"tags on {b.rows.get('object_tags', 0):,} links); stored in {b.store_s:,.0f} s, "
        f"indexed in {b.index_s:,.0f} s, {RULES} rules applied and indexed in "
        f"{b.rules_s:,.0f} s; {WARMUP} warm-up + {res.runs} rounds; load {res.load}",
        "",
    ]
    floor = res.floor
    base = floor.p(95) if floor else float("nan")
    rows = []
    for p in res.pages:
        bad = sum(c for s, c in p.statuses.items() if s != 200)
        rows.append(
            [
                p.name,
                p.method,
                f"{p.p(50):,.1f}",
                f"{p.p(95):,.1f}",
                f"{max(p.samples, default=float('nan')):,.1f}",
                f"{p.first_ms:,.1f}",
                _kb(p.bytes),
                f"{p.p(95) / base:,.1f}" if base else "-",
                "-"
                if p.floor
                else "(not judged)"
                if p.after_change
                else verdict(p.p(95) < TARGET_P95_MS and not bad),
                f"{bad}" if bad else "",
            ]
        )
    header = ["page", "", "p50 ms", "p95 ms", "max ms", "first ms", "KB", "p95/floor", "", "!200"]
    lines.append(table(header, rows, left=2))
    lines += ["", "Front-end bundle (src/kizashi/web/static/dist)"]
    lines.append(
        table(
            ["file", "raw KB", "gzip -9 KB", "loaded by"],
            [[x.name, _kb(x.raw), _kb(x.gzip), x.loaded_by] for x in res.bundles],
        )
    )
    worst = res.worst
    lines += ["", "Targets"]
    if worst is not None:
        missed = [p.name for p in res.judged if p.p(95) >= TARGET_P95_MS]
        lines.append(
            f"  worst page p95 {worst.p(95):,.1f} ms ({worst.name}; "
            f"{worst.p(95) / base:,.1f}x the floor's {base:,.1f} ms) "
            f"(target < {TARGET_P95_MS:,.0f} ms, every page): "
            f"{verdict(worst.p(95) < TARGET_P95_MS)}"
        )
        if missed:
            lines.append(f"  over the target: {', '.join(missed)}")
        errors = [p.name for p in res.pages if set(p.statuses) != {200}]
        if errors:
            lines.append(f"  answered other than 200: {', '.join(errors)}: FAIL")
    gz = res.bundle_gzip
    lines.append(
        f"  app.js + app.css gzip {_kb(gz)} KB (target <= {TARGET_BUNDLE_GZIP_KB:,.0f} KB): "
        f"{verdict(gz <= TARGET_BUNDLE_GZIP_KB * 1024)}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    from bench.common import progress as _progress

    print(render(run("--quick" in sys.argv, progress=_progress)))
