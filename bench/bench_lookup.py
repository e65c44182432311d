"""Indicator lookup on a large store: ``IndicatorService.lookup`` against plain ``sqlite3``.

1. Build (timed, for information): ``Kizashi.open`` creates a fresh SQLite file (real
   migrations, Kizashi's identity), then the observables, reports and ``mentions`` rows go
   in through one plain ``sqlite3`` connection: ``executemany`` in big batches inside one
   transaction, journal and sync off, a large page cache, the secondary indexes of
   ``objects`` and ``mentions`` dropped before the load and re-created, with their own
   ``CREATE INDEX`` text, after it (the unique index on ``objects.id`` stays, it is part of
   the table). The rows are exactly what the service writes: the observables' rows come
   from a fast formatter, checked against ``object_views.row_values`` of
   ``stix.simple_observable`` / ``stix.validate`` on a sample of rows (any difference
   aborts the run); reports go through ``stix.validate`` and ``row_values`` themselves.
   The file is set back to WAL and opened again with ``Kizashi.open`` for the queries.
2. Single-value lookups: ``kz.indicators.lookup(SYSTEM, [query])`` per query (half known,
   half unknown; plain, defanged and re-cased spellings) against the raw peer on the same
   file: one ``sqlite3`` connection, per value ``BEGIN``, the objects query and the
   mentions aggregate (the service's two queries, as SQL text), ``COMMIT``. Service and
   peer alternate which goes first. The peer is handed the already normalised value: it
   does not refang, so the ratio includes Kizashi's normalisation. Calls over the target
   are counted, with those spent mostly off the CPU (another process on the cores), and
   so are Python's collections.
3. Bulk lookup: one ``lookup`` call with every query against the peer's two honest
   approaches (``IN`` lists of 900 values like the service; the values in a temporary
   table joined to both tables); the faster one is the baseline. Best of a few passes,
   alternating which goes first; ``normalise_query`` over the same queries is timed apart.
   An untimed round compares the answers of service and peers.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing as mp
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, NamedTuple

from bench.bench_store import Latency
from bench.common import table, verdict
from kizashi.model import stix as stix_model
from kizashi.model.actor import SYSTEM
from kizashi.services.app import Kizashi
from kizashi.services.indicators import LookupResult, normalise_query, report_source
from kizashi.services.objects.views import row_values

Progress = Callable[[str], None]

TARGET_SINGLE_P99_MS = 2.0
TARGET_BULK_S = 3.0
SEED = 20261128
#: Bulk queries per ``IN (...)``, as ``kizashi.store.mentions.CHUNK``.
IN_CHUNK = 900

#: Share of the observables per type (percent) and the extractor's kind for each.
MIX: list[tuple[str, str, int]] = [
    ("ipv4-addr", "ipv4", 35),
    ("domain-name", "domain", 25),
    ("url", "url", 20),
    ("file", "sha256", 10),
    ("file", "md5", 5),
    ("file", "sha1", 5),
]
_BUCKETS = [(t, k) for t, k, share in MIX for _ in range(share)]
_HASH = {"sha256": ("SHA-256", hashlib.sha256), "md5": ("MD5", hashlib.md5)}
_HASH["sha1"] = ("SHA-1", hashlib.sha1)
_WORDS = ["secure", "login", "update", "mail", "cdn", "portal", "account", "verify", "cloud", "pay"]
_TLDS = ["com", "net", "jp", "co.jp", "info", "xyz", "top", "ru", "cn", "io"]
_PATHS = ["wp-admin/upd.php", "login", "invoice.zip", "gate.php", "dl/payload.bin", "index.html"]
_SOURCES = [
    "JPCERT/CC",
    "NISC",
    "IPA",
    "Trend Micro",
    "LAC",
    "NTT Security",
    "Macnica",
    "Cisco Talos",
    "Mandiant",
    "Unit 42",
    "Microsoft",
    "Kaspersky",
    "ESET",
    "Secureworks",
    "Recorded Future",
]
_M64 = (1 << 64) - 1
_SCO_NS = stix_model.SCO_NAMESPACE.bytes
#: An observable's created, modified, published, tlp, revoked and version columns.
_SCO_DEFAULTS = (None, None, None, None, 0, 1)

_OBJECT_COLUMNS = (
    "pk, id, type, name, value, created, modified, published, tlp, revoked, version, data,"
    " created_by, action, updated_by, updated_at"
)
_ROW_KEYS = [c.strip() for c in _OBJECT_COLUMNS.split(",")][1:]
_INSERT_OBJECT = f"INSERT INTO objects ({_OBJECT_COLUMNS}) VALUES ({', '.join('?' * 16)})"
_INSERT_MENTION = (
    "INSERT INTO mentions (report_pk, object_pk, kind, value, occurrences, context,"
    " context_start, context_end, flags, seen_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The service's two queries (kizashi.store.mentions.objects_by_value and .seen) as SQL text.
_RAW_OBJECTS_ONE = "SELECT value, id, type FROM objects WHERE value = ? AND revoked IS 0"
_RAW_SEEN_ONE = (
    "SELECT value, count(DISTINCT report_pk), count(DISTINCT source), min(seen_at), max(seen_at)"
    " FROM mentions WHERE value = ? GROUP BY value"
)


@dataclass
class Settings:
    observables: int = 10_000_000
    reports: int = 300
    mentions: int = 1_000_000
    single: int = 2_000
    warmup: int = 100
    bulk: int = 100_000
    passes: int = 3  # bulk: best of
    chunk: int = 100_000  # rows per executemany while building
    check_every: int = 4_999  # build: every n-th row checked against the service's row_values

    @classmethod
    def quick(cls) -> Settings:
        """For CI: well under a minute."""
        return cls(
            observables=200_000,
            mentions=20_000,
            single=500,
            warmup=50,
            bulk=20_000,
            passes=2,
            chunk=50_000,
            check_every=499,
        )


# -- values ---------------------------------------------------------------------------------
def _mix(i: int) -> int:
    """splitmix64: the per-index choices (type, words) without a random generator."""
    z = (i + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def observable(i: int) -> tuple[str, str, str]:
    """(STIX type, extractor kind, stored value) of observable number ``i``; unique per ``i``
    (for ``i < 2**32``), so indexes past the stored range give unknown values."""
    z = _mix(i)
    stix_type, kind = _BUCKETS[z % 100]
    w = _WORDS
    if kind == "ipv4":
        # An odd multiplier is a bijection on 32 bits: unique addresses, scattered.
        n = (i * 2654435761 + 0x0A000001) & 0xFFFFFFFF
        return stix_type, kind, f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
    if kind == "domain":
        zone = f"{w[(z >> 12) % 10]}-{w[(z >> 16) % 10]}.{_TLDS[(z >> 20) % 10]}"
        return stix_type, kind, f"{w[(z >> 8) % 10]}-{i:x}.{zone}"
    if kind == "url":
        scheme = "https" if (z >> 24) & 1 else "http"
        host = f"{w[(z >> 8) % 10]}-{i:x}.{_TLDS[(z >> 20) % 10]}"
        return stix_type, kind, f"{scheme}://{host}/{_PATHS[(z >> 28) % 6]}?id={(z >> 32) % 10**6}"
    return stix_type, kind, _HASH[kind][1](f"kizashi-bench:{i}".encode()).hexdigest()


def _sco_id(stix_type: str, contributing: str) -> str:
    """``uuid.uuid5(SCO_NAMESPACE, contributing)`` as an id, without the UUID object."""
    d = bytearray(hashlib.sha1(_SCO_NS + contributing.encode()).digest()[:16])
    d[6] = (d[6] & 0x0F) | 0x50
    d[8] = (d[8] & 0x3F) | 0x80
    x = d.hex()
    return f"{stix_type}--{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def object_rows(lo: int, hi: int, first_pk: int, stamp: str) -> list[tuple[Any, ...]]:
    """Rows of observables ``lo..hi`` as the service writes them (ASCII values, no escapes)."""
    out: list[tuple[Any, ...]] = []
    add = out.append
    for i in range(lo, hi):
        t, kind, v = observable(i)
        if t == "file":
            hashes = f'{{"{_HASH[kind][0]}":"{v}"}}'
            sid = _sco_id("file", f'{{"hashes":{hashes}}}')
            data = f'{{"type":"file","spec_version":"2.1","id":"{sid}","hashes":{hashes}}}'
        else:
            sid = _sco_id(t, f'{{"value":"{v}"}}')
            data = f'{{"type":"{t}","spec_version":"2.1","id":"{sid}","value":"{v}"}}'
        add((first_pk + i, sid, t, v, v, *_SCO_DEFAULTS, data, None, "create", None, stamp))
    return out


def _object_chunk(args: tuple[int, int, int, str]) -> list[tuple[Any, ...]]:
    return object_rows(*args)


def _ahead(jobs: list[tuple[int, int, int, str]]) -> Iterator[list[tuple[Any, ...]]]:
    """The batches in order, formatted in a child process at most two batches ahead of
    the inserts (``Pool.imap`` would run ahead without bound and hold them all)."""
    with mp.get_context("fork").Pool(1) as pool:
        pending: deque[AsyncResult[list[tuple[Any, ...]]]] = deque()
        for job in jobs:
            pending.append(pool.apply_async(_object_chunk, (job,)))
            if len(pending) > 2:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def service_row(i: int, first_pk: int, stamp: str) -> tuple[Any, ...]:
    """The same row through the service's own functions (slow: for checking)."""
    t, kind, v = observable(i)
    if t == "file":
        raw = {"type": "file", "hashes": {_HASH[kind][0]: v}}
        data = stix_model.validate(raw, now=datetime.now(UTC))
    else:
        fast = stix_model.simple_observable({"type": t, "value": v})
        assert fast is not None
        data = fast
    row = row_values(data, None, SYSTEM, stamp)
    row["revoked"] = int(row["revoked"])  # what SQLAlchemy's Boolean binds
    return (first_pk + i, *(row[k] for k in _ROW_KEYS))


class Query(NamedTuple):
    """A tuple, so that the garbage collector stops tracking the 100,000 of them."""

    text: str
    value: str  # the stored (normalised) value
    kind: str
    known: bool
    mentioned: bool
    spelling: str


def spell(value: str, kind: str, rng: random.Random) -> tuple[str, str]:
    """A way an analyst pastes the value: mostly plain, some defanged, some re-cased."""
    r = rng.random()
    if r < 0.65:
        return value, "plain"
    if r < 0.90:
        if kind in ("md5", "sha1", "sha256"):
            return value.upper(), "upper-case"
        if kind == "ipv4":
            head, _, last = value.rpartition(".")
            if rng.random() < 0.5:
                return f"{head}[.]{last}", "defanged"
            return value.replace(".", "[.]"), "defanged"
        if kind == "domain":
            return value.replace(".", "[.]"), "defanged"
        scheme, _, rest = value.partition("://")
        host, _, path = rest.partition("/")
        return f"{scheme.replace('tt', 'xx')}://{host.replace('.', '[.]')}/{path}", "defanged"
    if kind == "ipv4":
        return f" {value}\t", "whitespace"
    if kind == "url":
        scheme, _, rest = value.partition("://")
        host, _, path = rest.partition("/")
        return f"{scheme}://{host.upper()}/{path}", "upper-case host"
    return value.upper(), "upper-case"


def queries(n: int, observables: int, mentioned: Sequence[int], rng: random.Random) -> list[Query]:
    """Half known (of those, half mentioned in reports), half unknown, shuffled."""
    out = []
    stop = 2**32
    for j in range(n):
        if j % 2 == 0:
            i = rng.choice(mentioned) if j % 4 == 0 else rng.randrange(observables)
        else:
            i = rng.randrange(observables + 1_000_000, stop)
        _, kind, value = observable(i)
        text, how = spell(value, kind, rng)
        out.append(Query(text, value, kind, j % 2 == 0, j % 4 == 0, how))
    rng.shuffle(out)
    return out


# -- build ----------------------------------------------------------------------------------
@dataclass
class Build:
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    db_bytes: int = 0
    checked_rows: int = 0
    mentioned_objects: int = 0
    max_reports_per_value: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "steps_s": self.steps,
            "counts": self.counts,
            "db_mb": self.db_bytes / 1e6,
            "checked_rows": self.checked_rows,
            "mentioned_objects": self.mentioned_objects,
            "max_reports_per_value": self.max_reports_per_value,
        }


def _reports(n: int, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    out = []
    for r in range(n):
        day = rng.randrange(2190)  # six years from 2020-01-01
        published = datetime(2020, 1, 1, rng.randrange(24), tzinfo=UTC).timestamp() + day * 86400
        stamp = stix_model.format_timestamp(datetime.fromtimestamp(published, UTC))
        raw = {
            "type": "report",
            "name": f"{rng.choice(_WORDS).title()} campaign infrastructure (#{r})",
            "published": stamp,
            "description": "Indicators observed in the campaign are attached.",
            "object_refs": [SYSTEM.identity_ref],
            "external_references": [
                {"source_name": rng.choice(_SOURCES), "url": f"https://example.org/r/{r}"}
            ],
        }
        out.append(stix_model.validate(raw, now=now, author_ref=SYSTEM.identity_ref))
    return out


def _reports_per_value(rng: random.Random, reports: int) -> int:
    """A long tail: most values in one or two reports, a few in most of them."""
    return max(1, min(reports, int(rng.paretovariate(1.3))))


def _mention_rows(
    s: Settings, first_pk: int, report_pks: list[int], reports: list[dict[str, Any]],
    rng: random.Random,
) -> tuple[list[tuple[Any, ...]], list[int], int]:  # fmt: skip
    """Rows per report (as extraction writes them), the mentioned observables, the most
    reports one value is in."""
    ks: list[int] = []
    total = 0
    while total < s.mentions:
        k = min(_reports_per_value(rng, len(reports)), s.mentions - total)
        ks.append(k)
        total += k
    chosen = rng.sample(range(s.observables), len(ks))
    per_report: list[list[tuple[Any, ...]]] = [[] for _ in reports]
    meta = [(str(r.get("published")), report_source(r)) for r in reports]
    for i, k in zip(chosen, ks, strict=True):
        _, kind, value = observable(i)
        for r in rng.sample(range(len(reports)), k):
            lead = "通信先として " if r % 2 else "The loader contacted "
            context = f"{lead}{value} を確認しました。" if r % 2 else f"{lead}{value} over HTTPS."
            start = rng.randrange(20_000)
            seen_at, source = meta[r]
            row = (report_pks[r], first_pk + i, kind, value, rng.randint(1, 3), context, start,
                   start + len(context), None, seen_at, source)  # fmt: skip
            per_report[r].append(row)
    rows = [row for rs in per_report for row in rs]
    return rows, chosen, max(ks, default=0)


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def build(path: Path, s: Settings, progress: Progress) -> tuple[Build, list[int]]:
    """The store at ``path``; returns the build report and the mentioned observables."""
    res = Build()
    start = time.perf_counter()
    app = Kizashi.open(f"sqlite:///{path}")
    app.close()
    res.steps["open_and_migrate"] = time.perf_counter() - start
    now = datetime.now(UTC)
    stamp = stix_model.format_timestamp(now)
    rng = random.Random(SEED)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-3000000",
                       "temp_store=MEMORY", "threads=2"):  # fmt: skip
            conn.execute(f"PRAGMA {pragma}")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name IN ('objects', 'mentions') AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
        first_pk = int(conn.execute("SELECT coalesce(max(pk), 0) + 1 FROM objects").fetchone()[0])
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")

        t0 = time.perf_counter()
        conn.execute("BEGIN")
        jobs = [(lo, hi, first_pk, stamp) for lo, hi in _chunks(s.observables, s.chunk)]
        step = max(1, len(jobs) // 10)
        done = 0
        for n, rows in enumerate(_ahead(jobs), 1):
            lo = rows[0][0] - first_pk
            for j in range(0, len(rows), s.check_every):
                want = service_row(lo + j, first_pk, stamp)
                if rows[j] != want:
                    raise AssertionError(f"row {lo + j}: {rows[j]!r} != {want!r}")
                res.checked_rows += 1
            conn.executemany(_INSERT_OBJECT, rows)
            done += len(rows)
            if n % step == 0 or n == len(jobs):
                spent = time.perf_counter() - t0
                progress(f"  objects: {done:,} rows, {spent:.0f} s ({done / spent:,.0f}/s)")
        res.steps["objects"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        reports = _reports(s.reports, rng, now)
        report_pks = list(range(first_pk + s.observables, first_pk + s.observables + s.reports))
        rows = []
        for pk, data in zip(report_pks, reports, strict=True):
            row = row_values(data, "green", SYSTEM, stamp)
            row["revoked"] = int(row["revoked"])
            rows.append((pk, *(row[k] for k in _ROW_KEYS)))
        conn.executemany(_INSERT_OBJECT, rows)
        mention_rows, mentioned, res.max_reports_per_value = _mention_rows(
            s, first_pk, report_pks, reports, rng
        )
        res.mentioned_objects = len(mentioned)
        for lo, hi in _chunks(len(mention_rows), s.chunk):
            conn.executemany(_INSERT_MENTION, mention_rows[lo:hi])
        conn.execute("COMMIT")
        del mention_rows
        res.steps["reports_and_mentions"] = time.perf_counter() - t0
        progress(f"  reports and mentions: {res.steps['reports_and_mentions']:.0f} s")

        t0 = time.perf_counter()
        for name, sql in indexes:
            t1 = time.perf_counter()
            conn.execute(sql)
            res.steps[f"index {name}"] = time.perf_counter() - t1
        res.steps["indexes"] = time.perf_counter() - t0
        progress(f"  indexes: {res.steps['indexes']:.0f} s")
        bad = conn.execute("PRAGMA foreign_key_check(mentions)").fetchall()
        if bad:
            raise AssertionError(f"mentions point at missing objects: {bad[:5]}")
        for table in ("objects", "mentions"):
            res.counts[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        res.counts["reports"] = int(
            conn.execute("SELECT count(*) FROM objects WHERE type = 'report'").fetchone()[0]
        )
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    res.seconds = time.perf_counter() - start
    res.db_bytes = sum(
        p.stat().st_size for p in path.parent.iterdir() if p.name.startswith(path.name)
    )
    return res, mentioned


# -- the raw peer ---------------------------------------------------------------------------
Answer = tuple[str, list[tuple[str, str]], tuple[Any, ...] | None]


def raw_single(conn: sqlite3.Connection, value: str) -> Answer:
    conn.execute("BEGIN")
    objs = [(i, t) for _, i, t in conn.execute(_RAW_OBJECTS_ONE, (value,))]
    seen = conn.execute(_RAW_SEEN_ONE, (value,)).fetchone()
    conn.execute("COMMIT")
    return value, objs, seen


def raw_bulk_in(conn: sqlite3.Connection, values: Sequence[str]) -> list[Answer]:
    """``IN`` lists of 900 values, the service's chunking."""
    unique = sorted(set(values))
    objs: dict[str, list[tuple[str, str]]] = {}
    seen: dict[str, tuple[Any, ...]] = {}
    conn.execute("BEGIN")
    for lo in range(0, len(unique), IN_CHUNK):
        chunk = unique[lo : lo + IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in conn.execute(
            "SELECT value, count(DISTINCT report_pk), count(DISTINCT source), min(seen_at),"
            f" max(seen_at) FROM mentions WHERE value IN ({marks}) GROUP BY value",
            chunk,
        ):
            seen[row[0]] = row
        for value, i, t in conn.execute(
            f"SELECT value, id, type FROM objects WHERE value IN ({marks}) AND revoked IS 0",
            chunk,
        ):
            objs.setdefault(value, []).append((i, t))
    conn.execute("COMMIT")
    return [(v, objs.get(v, []), seen.get(v)) for v in values]


def raw_bulk_temp(conn: sqlite3.Connection, values: Sequence[str]) -> list[Answer]:
    """The values in a temporary table, joined to ``objects`` and ``mentions``; ``CROSS
    JOIN`` keeps the small table outside (without statistics SQLite may scan ``objects``)."""
    objs: dict[str, list[tuple[str, str]]] = {}
    seen: dict[str, tuple[Any, ...]] = {}
    conn.execute("BEGIN")
    conn.execute("CREATE TEMP TABLE q (value TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.executemany("INSERT OR IGNORE INTO q VALUES (?)", ((v,) for v in values))
    for row in conn.execute(
        "SELECT m.value, count(DISTINCT m.report_pk), count(DISTINCT m.source), min(m.seen_at),"
        " max(m.seen_at) FROM q CROSS JOIN mentions m ON m.value = q.value GROUP BY m.value"
    ):
        seen[row[0]] = row
    for value, i, t in conn.execute(
        "SELECT o.value, o.id, o.type FROM q CROSS JOIN objects o ON o.value = q.value"
        " WHERE o.revoked IS 0"
    ):
        objs.setdefault(value, []).append((i, t))
    conn.execute("DROP TABLE q")
    conn.execute("COMMIT")
    return [(v, objs.get(v, []), seen.get(v)) for v in values]


RAW_BULK: dict[str, Callable[[sqlite3.Connection, Sequence[str]], list[Answer]]] = {
    "IN lists of 900": raw_bulk_in,
    "temp table + join": raw_bulk_temp,
}


def same(res: LookupResult, ans: Answer) -> bool:
    value, objs, seen = ans
    return (
        res.value == value
        and sorted(res.objects) == sorted(objs)
        and res.reports == (seen[1] if seen else 0)
        and res.sources == (seen[2] if seen else 0)
        and res.first_seen == (seen[3] if seen else None)
    )


# -- measurements ---------------------------------------------------------------------------
def _stats(samples: list[float]) -> dict[str, Any]:
    lat = Latency("", "", "", samples)
    return {
        "n": len(samples),
        "p50_ms": lat.pct(50),
        "p95_ms": lat.pct(95),
        "p99_ms": lat.pct(99),
        "max_ms": max(samples, default=float("nan")),
        "mean_ms": statistics.fmean(samples) if samples else float("nan"),
    }


@dataclass
class Single:
    service: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    #: The same lookups as an analyst: counts only from reports they may read (a join
    #: of each mention to its report's marking), where an admin's need none.
    analyst: list[float] = field(default_factory=list)
    by_group: dict[str, list[float]] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)
    #: Calls over the p99 target, and of those the ones mostly spent off the CPU.
    slow: dict[str, int] = field(default_factory=dict)
    gc: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        svc, raw, ana = _stats(self.service), _stats(self.raw), _stats(self.analyst)
        return {
            "service": svc,
            "raw": raw,
            "analyst": ana,
            "ratio_analyst_p50": ana["p50_ms"] / svc["p50_ms"] if svc["p50_ms"] else None,
            "ratio_p50": svc["p50_ms"] / raw["p50_ms"] if raw["p50_ms"] else None,
            "ratio_p99": svc["p99_ms"] / raw["p99_ms"] if raw["p99_ms"] else None,
            "service_by_group": {k: _stats(v) for k, v in self.by_group.items()},
            "checks": self.checks,
            "calls_over_target": self.slow,
            "gc_during_single": self.gc,
        }


def _check(checks: dict[str, int], q: Query, res: LookupResult) -> None:
    checks["value as stored"] = checks.get("value as stored", 0) + (res.value == q.value)
    checks["known as expected"] = checks.get("known as expected", 0) + (res.known == q.known)
    checks["kind as generated"] = checks.get("kind as generated", 0) + (res.kind == q.kind)
    if q.mentioned:
        checks["mentioned: reports > 0"] = checks.get("mentioned: reports > 0", 0) + (
            res.reports > 0
        )


class GcPauses:
    """Python's collections while a measurement runs: count and milliseconds per generation."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.ms = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.count[info["generation"]] += 1
            self.ms[info["generation"]] += (time.perf_counter() - self._start) * 1000

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def as_dict(self) -> dict[str, Any]:
        return {f"gen{g}": {"count": self.count[g], "ms": self.ms[g]} for g in range(3)}


def measure_single(app: Kizashi, conn: sqlite3.Connection, qs: list[Query], warmup: int) -> Single:
    out = Single()
    app.users.create(SYSTEM, "bench-analyst", "bench-analyst-password", "analyst")
    analyst = app.users.get_actor("bench-analyst")
    for q in qs[:warmup]:
        app.indicators.lookup(SYSTEM, [q.text])
        app.indicators.lookup(analyst, [q.text])
        raw_single(conn, q.value)
    gc.collect()
    agree = 0
    with GcPauses() as pauses:
        for n, q in enumerate(qs[warmup:]):
            order = (0, 1) if n % 2 == 0 else (1, 0)
            for which in order:
                t, cpu = time.perf_counter(), time.thread_time()
                if which == 0:
                    [res] = app.indicators.lookup(SYSTEM, [q.text])
                else:
                    ans = raw_single(conn, q.value)
                ms = (time.perf_counter() - t) * 1000
                cpu_ms = (time.thread_time() - cpu) * 1000
                key = "service" if which == 0 else "raw"
                (out.service if which == 0 else out.raw).append(ms)
                if which == 0:
                    group = f"{'known' if q.known else 'unknown'}, {q.kind}"
                    out.by_group.setdefault(group, []).append(ms)
                if ms > TARGET_SINGLE_P99_MS:
                    out.slow[key] = out.slow.get(key, 0) + 1
                    if cpu_ms < ms / 2:  # mostly off the CPU: preempted, or waiting on I/O
                        out.slow[f"{key} off-CPU"] = out.slow.get(f"{key} off-CPU", 0) + 1
            t = time.perf_counter()
            [as_analyst] = app.indicators.lookup(analyst, [q.text])
            out.analyst.append((time.perf_counter() - t) * 1000)
            _check(out.checks, q, res)
            agree += same(res, ans)
            # Nothing in this store is TLP:RED: an analyst is told what an admin is.
            out.checks["analyst == admin"] = out.checks.get("analyst == admin", 0) + (
                as_analyst == res
            )
    out.gc = pauses.as_dict()
    out.checks["service == raw"] = agree
    out.checks["queries"] = len(qs) - warmup
    out.checks["mentioned queries"] = sum(q.mentioned for q in qs[warmup:])
    return out


@dataclass
class Bulk:
    n: int
    service: list[float] = field(default_factory=list)
    raw: dict[str, list[float]] = field(default_factory=dict)
    normalise: list[float] = field(default_factory=list)
    service_gc_ms: list[float] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=dict)
    #: The same call as an analyst (counts from the reports they may read).
    analyst: list[float] = field(default_factory=list)

    @property
    def best_raw(self) -> tuple[str, float]:
        name = min(self.raw, key=lambda k: min(self.raw[k]))
        return name, min(self.raw[name])

    @property
    def ratio(self) -> float:
        return min(self.service) / self.best_raw[1]

    def as_dict(self) -> dict[str, Any]:
        name, best = self.best_raw
        return {
            "values": self.n,
            "service_s": min(self.service),
            "service_passes_s": self.service,
            "analyst_s": min(self.analyst) if self.analyst else None,
            "service_gc_ms": self.service_gc_ms,
            "normalise_only_s": min(self.normalise),
            "raw_s": {k: min(v) for k, v in self.raw.items()},
            "raw_passes_s": self.raw,
            "raw_baseline": name,
            "raw_baseline_s": best,
            "ratio": self.ratio,
            "checks": self.checks,
        }


def measure_bulk(app: Kizashi, conn: sqlite3.Connection, qs: list[Query], passes: int) -> Bulk:
    """Timed passes keep nothing of their answers (no path pays to collect another's
    garbage); one more, untimed, round checks them."""
    texts = [q.text for q in qs]
    values = [q.value for q in qs]
    out = Bulk(len(qs), raw={k: [] for k in RAW_BULK})
    analyst = app.users.get_actor("bench-analyst")  # made by measure_single
    for p in range(passes):
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("service", lambda: app.indicators.lookup(SYSTEM, texts)),
            ("analyst", lambda: app.indicators.lookup(analyst, texts)),
            *((name, lambda fn=fn: fn(conn, values)) for name, fn in RAW_BULK.items()),
        ]
        if p % 2:
            steps.reverse()
        for name, fn in steps:
            gc.collect()
            with GcPauses() as pauses:
                t = time.perf_counter()
                fn()
                spent = time.perf_counter() - t
            if name == "service":
                out.service.append(spent)
                out.service_gc_ms.append(sum(pauses.ms))
            elif name == "analyst":
                out.analyst.append(spent)
            else:
                out.raw[name].append(spent)
        gc.collect()
        t = time.perf_counter()
        for text in texts:
            normalise_query(text)
        out.normalise.append(time.perf_counter() - t)
    results = app.indicators.lookup(SYSTEM, texts)
    out.checks = {
        "values": len(qs),
        "value as stored": sum(r.value == q.value for r, q in zip(results, qs, strict=True)),
        "known as expected": sum(r.known == q.known for r, q in zip(results, qs, strict=True)),
        "with reports": sum(r.reports > 0 for r in results),
    }
    for name, peer in RAW_BULK.items():
        got = peer(conn, values)
        out.checks[f"service == raw {name}"] = sum(
            same(r, a) for r, a in zip(results, got, strict=True)
        )
    return out


@dataclass
class LookupBench:
    config: dict[str, Any]
    build: Build
    single: Single
    bulk: Bulk

    def as_dict(self) -> dict[str, Any]:
        single = self.single.as_dict()
        bulk = self.bulk.as_dict()
        return {
            "config": self.config,
            "build": self.build.as_dict(),
            "single": single,
            "bulk": bulk,
            "targets": {
                "single_p99_ms": TARGET_SINGLE_P99_MS,
                "single_p99_ok": single["service"]["p99_ms"] < TARGET_SINGLE_P99_MS,
                "bulk_s": TARGET_BULK_S,
                "bulk_ok": bulk["service_s"] < TARGET_BULK_S,
            },
        }


def run(s: Settings, *, progress: Progress = print) -> LookupBench:
    config: dict[str, Any] = {
        "observables": s.observables,
        "mix_percent": {k: share for _, k, share in MIX},
        "reports": s.reports,
        "mentions": s.mentions,
        "single_lookups": s.single,
        "warmup": s.warmup,
        "bulk_values": s.bulk,
        "bulk_passes": s.passes,
        "load_1min": [os.getloadavg()[0]],
    }
    with tempfile.TemporaryDirectory(prefix="kizashi-bench-lookup-") as tmp:
        path = Path(tmp) / "lookup.db"
        progress(f"lookup: {s.observables:,} observables, {s.mentions:,} mentions into {path}")
        built, mentioned = build(path, s, progress)
        progress(f"  built in {built.seconds:.0f} s, {built.db_bytes / 1e6:,.0f} MB")
        rng = random.Random(SEED + 1)
        single_qs = queries(s.single + s.warmup, s.observables, mentioned, rng)
        bulk_qs = queries(s.bulk, s.observables, mentioned, rng)
        config["spellings"] = dict(sorted(_count(q.spelling for q in single_qs + bulk_qs).items()))
        app = Kizashi.open(f"sqlite:///{path}")
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            progress(f"  single lookups: {s.single:,} (+{s.warmup} warm-up) ...")
            single = measure_single(app, conn, single_qs, s.warmup)
            progress(f"  bulk lookup: {s.bulk:,} values, {s.passes} passes ...")
            bulk = measure_bulk(app, conn, bulk_qs, s.passes)
        finally:
            conn.close()
            app.close()
    config["load_1min"].append(os.getloadavg()[0])
    return LookupBench(config, built, single, bulk)


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


# -- the report -----------------------------------------------------------------------------
def render(res: LookupBench, env: dict[str, Any]) -> str:
    c, b = res.config, res.build
    d = res.as_dict()
    single, bulk = d["single"], d["bulk"]
    mix = ", ".join(f"{k} {v}%" for k, v in c["mix_percent"].items())
    out = [
        "Kizashi benchmark: indicator lookup on SQLite",
        f"machine: {env['cpus']} CPUs ({env['cpu']}), {env['memory_gib']} GiB, {env['platform']}",
        f"python {env['python']}, SQLite {env['sqlite']}, SQLAlchemy {env['sqlalchemy']}",
        f"data: {b.counts['objects']:,} objects ({c['observables']:,} observables: {mix}; "
        f"{b.counts['reports']:,} reports), {b.counts['mentions']:,} mentions of "
        f"{b.mentioned_objects:,} observables (1 to {b.max_reports_per_value} reports each)",
        f"build: {b.seconds:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in b.steps.items() if not k.startswith("index "))
        + f"), database {b.db_bytes / 1e6:,.0f} MB; {b.checked_rows:,} rows checked against "
        "the service's row_values",
        "load average (1 min) at start and end: " + " / ".join(f"{v:.2f}" for v in c["load_1min"]),
        "spellings of the queries: " + ", ".join(f"{k} {v:,}" for k, v in c["spellings"].items()),
        "",
        f"Single-value lookup: {single['service']['n']:,} queries, half known "
        "(a quarter mentioned in reports), alternating service / raw",
    ]
    rows = []
    for label, key in [("IndicatorService.lookup([value])", "service"),
                       ("raw sqlite3: objects + mentions aggregate", "raw")]:  # fmt: skip
        st = single[key]
        rows.append([label, *(f"{st[p]:.3f}" for p in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))])
    rows.append(
        ["ratio service / raw", f"{single['ratio_p50']:.2f}", "", f"{single['ratio_p99']:.2f}", ""]
    )
    if single.get("analyst", {}).get("n"):
        st = single["analyst"]
        rows.append(
            [
                "the same, as an analyst (TLP: mentions joined to their reports)",
                *(f"{st[p]:.3f}" for p in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            ]
        )
        rows.append(["ratio analyst / admin", f"{single['ratio_analyst_p50']:.2f}", "", "", ""])
    out.append(table(["path", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows))
    groups = [
        [g, str(st["n"]), f"{st['p50_ms']:.3f}", f"{st['p99_ms']:.3f}"]
        for g, st in sorted(single["service_by_group"].items())
    ]
    out += ["", "service by group", table(["group", "n", "p50 ms", "p99 ms"], groups)]
    out.append("checks: " + ", ".join(f"{k} {v:,}" for k, v in single["checks"].items()))
    slow = single["calls_over_target"]
    out.append(
        f"calls over {TARGET_SINGLE_P99_MS:g} ms (off-CPU: thread CPU time under half the wall "
        "time): " + (", ".join(f"{k} {v:,}" for k, v in slow.items()) or "none")
    )
    gcs = single["gc_during_single"]
    out.append(
        "Python GC during the single lookups: "
        + ", ".join(f"{g} {v['count']:,} ({v['ms']:.1f} ms)" for g, v in gcs.items())
    )
    out += ["", f"Bulk lookup: {bulk['values']:,} values in one call, best of {c['bulk_passes']}"]
    rows = [["IndicatorService.lookup(values)", f"{bulk['service_s']:.3f}"]]
    alone = f"{bulk['normalise_only_s']:.3f}"
    rows.append(["  of which normalise_query alone (measured apart)", alone])
    rows += [[f"raw sqlite3, {k}", f"{v:.3f}"] for k, v in bulk["raw_s"].items()]
    rows.append([f"ratio service / raw ({bulk['raw_baseline']})", f"{bulk['ratio']:.2f}"])
    if bulk.get("analyst_s"):
        rows.append(["the same call as an analyst (TLP)", f"{bulk['analyst_s']:.3f}"])
        rows.append(["ratio analyst / admin", f"{bulk['analyst_s'] / bulk['service_s']:.2f}"])
    out.append(table(["path", "seconds"], rows))
    out.append("checks: " + ", ".join(f"{k} {v:,}" for k, v in bulk["checks"].items()))
    out.append(
        "Python GC inside the service calls (ms per pass): "
        + ", ".join(f"{ms:.0f}" for ms in bulk["service_gc_ms"])
    )
    t = d["targets"]
    p99 = single["service"]["p99_ms"]
    out += [
        "",
        "Targets",
        f"  single lookup p99 {p99:.3f} ms (target < {TARGET_SINGLE_P99_MS:.0f} ms): "
        + verdict(t["single_p99_ok"]),
        f"  bulk lookup of {bulk['values']:,} values {bulk['service_s']:.2f} s "
        f"(target < {TARGET_BULK_S:.0f} s): " + verdict(t["bulk_ok"]),
    ]
    return "\n".join(out)
