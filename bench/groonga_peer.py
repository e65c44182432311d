"""Groonga, the specialist Japanese engine, as the search benchmark's latency bar.

Runs only where Debian's ``groonga-bin`` is installed (``groonga`` on the PATH); otherwise
:func:`run_groonga` returns None and the benchmark reports :data:`SKIPPED`.

What it does, as the research did (``../shared/research/search.md``): in a temporary
directory, ``groonga -s --protocol http`` on 127.0.0.1 and a free port; a ``Docs`` table
(``title`` ShortText, ``body`` Text, ``published`` Time) loaded with bulk ``load`` commands
(JSON, 5,000 documents a chunk); then a ``Terms`` lexicon (``TokenBigram`` +
``NormalizerAuto``) whose index column covers title and body, built offline over the loaded
table (Groonga's fast path for bulk data). Build time is the loads plus the index; the index
size is the lexicon's and the index column's files on disk (allocated blocks), the whole
database beside it.

Each query then runs ``runs`` times in three modes: ``count`` (``--limit 0``),
``relevance`` (top 20 by ``-_score``, ``--match_columns title*3||body``) and ``newest``
(top 20 by ``-published``). Latency is wall-clock from request to the last byte of the
response, client side, over ``http.client`` (Groonga's HTTP server answers
``Connection: close``, so each request opens a loopback connection: no process start-up per
query). Groonga's query cache is off (``--cache no``) unless asked for, or runs 2 and 3
would measure the cache; :data:`WARM_UP` untimed selects go first (the first select on
each of the server's threads costs 20-30 ms). Per query: p50/p95 over its runs; per mode:
p50/p95 over every run of every query. The server is shut down and the directory removed
whatever happens. Offline index construction measured 2.5x faster than indexing during the
load (2,429 against 965 docs/s at 20,000 documents).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import pct
from bench.search_data import Doc, Query

SKIPPED = "skipped: groonga-bin not installed"
MATCH_COLUMNS = "title*3||body"
CHUNK = 5_000
#: Untimed selects before measuring: one or more lands on each of the server's threads.
WARM_UP = 8
#: Mode name -> select parameters besides the query.
MODES: dict[str, dict[str, str]] = {
    "count": {"limit": "0", "output_columns": "_id"},
    "relevance": {"sort_keys": "-_score", "output_columns": "_id,_score", "limit": "20"},
    "newest": {"sort_keys": "-published", "output_columns": "_id,published", "limit": "20"},
}


def available() -> bool:
    return shutil.which("groonga") is not None


def _summary(ms: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Server:
    """One ``groonga -s --protocol http`` process over a new database in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.db = folder / "db" / "kizashi.db"
        self.db.parent.mkdir()
        self.port = _free_port()
        self.stderr = folder / "stderr.log"
        argv = ["groonga", "-s", "--protocol", "http", "--bind-address", "127.0.0.1"]
        argv += ["--port", str(self.port), "--log-path", str(folder / "groonga.log")]
        with self.stderr.open("wb") as err:  # a file, not a pipe nobody drains
            self.proc = subprocess.Popen(
                [*argv, "-n", str(self.db)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            self.version = self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self, seconds: float = 15) -> str:
        deadline = time.monotonic() + seconds
        while True:
            try:
                return str(self.call("status")["version"])
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.stderr.read_text(errors="replace").strip()
                    raise RuntimeError(f"groonga did not start: {err}") from None
                self.conn.close()
                time.sleep(0.05)

    def raw(self, command: str, params: dict[str, str], body: bytes | None = None) -> bytes:
        path = f"/d/{command}?{urllib.parse.urlencode(params)}"
        if body is None:
            self.conn.request("GET", path)
        else:
            self.conn.request("POST", path, body, {"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.conn.close()
        return data

    def call(self, command: str, body: bytes | None = None, **params: str) -> Any:
        header, *rest = json.loads(self.raw(command, params, body))
        if header[0] != 0:
            raise RuntimeError(
                f"groonga {command} {params}: {header[3] if len(header) > 3 else header}"
            )
        return rest[0] if rest else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.raw("shutdown", {})
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.conn.close()


def _disk_bytes(paths: list[Path]) -> int:
    return sum(p.stat().st_blocks * 512 for p in paths if p.is_file())


def _build(srv: _Server, docs: Sequence[Doc]) -> dict[str, Any]:
    srv.call("table_create", name="Docs", flags="TABLE_NO_KEY")
    for name, kind in (("title", "ShortText"), ("body", "Text"), ("published", "Time")):
        srv.call("column_create", table="Docs", name=name, flags="COLUMN_SCALAR", type=kind)
    chunks = [
        json.dumps(
            [
                {"title": d.title, "body": d.body, "published": _epoch(d.published)}
                for d in docs[i : i + CHUNK]
            ],
            ensure_ascii=False,
        ).encode()
        for i in range(0, len(docs), CHUNK)
    ]
    start = time.perf_counter()
    loaded = sum(int(srv.call("load", chunk, table="Docs")) for chunk in chunks)
    load_s = time.perf_counter() - start
    if loaded != len(docs):
        raise RuntimeError(f"groonga loaded {loaded} of {len(docs)} documents")
    start = time.perf_counter()
    srv.call(
        "table_create",
        name="Terms",
        flags="TABLE_PAT_KEY",
        key_type="ShortText",
        default_tokenizer="TokenBigram",
        normalizer="NormalizerAuto",
    )
    srv.call(
        "column_create",
        table="Terms",
        name="docs_index",
        flags="COLUMN_INDEX|WITH_POSITION|WITH_SECTION",
        type="Docs",
        source="title,body",
    )
    index_s = time.perf_counter() - start
    objects = srv.call("object_list")
    index_files: list[Path] = []
    for name in ("Terms", "Terms.docs_index"):
        base = Path(objects[name]["path"])
        index_files += base.parent.glob(base.name + "*")
    n = max(1, len(docs))
    index_bytes = _disk_bytes(index_files)
    db_bytes = _disk_bytes(list(srv.db.parent.iterdir()))
    return {
        "load_s": load_s,
        "index_s": index_s,
        "build_s": load_s + index_s,
        "docs_per_s": len(docs) / (load_s + index_s),
        "index_bytes": index_bytes,
        "index_bytes_per_doc": index_bytes / n,
        "db_bytes": db_bytes,
        "db_bytes_per_doc": db_bytes / n,
    }


def _epoch(published: str) -> float:
    return datetime.fromisoformat(published).timestamp()  # "...Z" is UTC (Python 3.11)


def _measure(srv: _Server, queries: Sequence[Query], runs: int, cache: bool) -> dict[str, Any]:
    per_query: list[dict[str, Any]] = []
    every: dict[str, list[float]] = {mode: [] for mode in MODES}
    for q in queries[:WARM_UP]:  # each server thread's first select costs 20-30 ms
        srv.raw("select", {"table": "Docs", "match_columns": MATCH_COLUMNS, "query": q.groonga})
    for q in queries:
        row: dict[str, Any] = {"text": q.text, "kind": q.kind, "groonga": q.groonga}
        for mode, extra in MODES.items():
            params = {"table": "Docs", "match_columns": MATCH_COLUMNS, "query": q.groonga}
            params |= {**extra, "cache": "yes" if cache else "no"}
            ms: list[float] = []
            for _ in range(runs):
                start = time.perf_counter()
                data = srv.raw("select", params)
                ms.append((time.perf_counter() - start) * 1000)
                header, *rest = json.loads(data)
                if header[0] != 0:
                    raise RuntimeError(f"groonga select {q.groonga!r}: {header[3]}")
                if mode == "count":
                    row["matches"] = int(rest[0][0][0][0])
            row[mode] = _summary(ms)
            every[mode] += ms
        per_query.append(row)
    return {"modes": {mode: _summary(ms) for mode, ms in every.items()}, "queries": per_query}


def run_groonga(
    docs: Sequence[Doc], queries: Sequence[Query], runs: int = 3, *, cache: bool = False
) -> dict[str, Any] | None:
    """Build, index and query Groonga over ``docs``; None when groonga is not installed.

    ``cache=True`` leaves Groonga's query cache on: runs after the first of a query are
    then cache hits (about 1 ms at 100,000 documents, whatever the query).

    The figures: ``engine``, ``version``, ``documents``, ``runs``, ``cache``; build:
    ``load_s``, ``index_s``, ``build_s``, ``docs_per_s``, ``index_bytes``,
    ``index_bytes_per_doc``, ``db_bytes``, ``db_bytes_per_doc``; ``modes``:
    {count|relevance|newest: {p50_ms, p95_ms}} over every run of every query;
    ``queries``: per query ``text``, ``kind``, ``groonga``, ``matches`` and the three
    modes' {p50_ms, p95_ms} over its runs.
    """
    if not available():
        return None
    folder = Path(tempfile.mkdtemp(prefix="kizashi-groonga-"))
    srv: _Server | None = None
    try:
        srv = _Server(folder)
        built = _build(srv, docs)
        measured = _measure(srv, queries, runs, cache)
        return {
            "engine": "Groonga TokenBigram + NormalizerAuto (HTTP)",
            "version": srv.version,
            "documents": len(docs),
            "runs": runs,
            "cache": cache,
            **built,
            **measured,
        }
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(folder, ignore_errors=True)


def render(res: dict[str, Any] | None) -> str:
    """A few lines for the benchmark's report (or :data:`SKIPPED`)."""
    if res is None:
        return f"Groonga: {SKIPPED}"
    lines = [
        f"Groonga {res['version']} ({res['engine']}), {res['documents']:,} documents: "
        f"build {res['build_s']:.1f} s ({res['docs_per_s']:,.0f} docs/s: load "
        f"{res['load_s']:.1f} s, index {res['index_s']:.1f} s), index "
        f"{res['index_bytes'] / 1e6:.0f} MB ({res['index_bytes_per_doc']:,.0f} B/doc), "
        f"database {res['db_bytes'] / 1e6:.0f} MB",
    ]
    for mode, s in res["modes"].items():
        lines.append(f"  {mode:<10} p50 {s['p50_ms']:.2f} ms  p95 {s['p95_ms']:.2f} ms")
    return "\n".join(lines)
