"""What every benchmark shares: the machine description, progress on stderr, plain-text
tables, PASS/FAIL verdicts, the nearest-rank percentile, and calls run in a forked child
with a hard time limit.

Imports nothing from ``bench``: every benchmark module may import it, and ``python -m
bench`` (``bench/__main__.py``) only parses the arguments and calls the benchmarks.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import platform
import sqlite3
import sys
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any


def progress(msg: str) -> None:
    """One line of progress on stderr (the tables go to stdout)."""
    print(msg, file=sys.stderr, flush=True)


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


# -- tables and verdicts -------------------------------------------------------------------
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


def pct(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile, as every benchmark computes it (NaN without samples)."""
    s = sorted(samples)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


# -- forked, time-limited calls ------------------------------------------------------------
@dataclass
class Outcome:
    status: str  # "ok", "timeout" or "error"
    seconds: float
    value: Any = None

    def cell(self, timeout: float) -> str:
        if self.status == "timeout":
            return f"timeout >{timeout:g}s"
        if self.status == "error":
            return "error"
        return f"{self.seconds:.3f}"


def _worker(conn: Connection, fn: Callable[[Any], Any], items: list[Any], first: int) -> None:
    for item in items[first:]:
        start = time.perf_counter()
        try:
            value, status = fn(item), "ok"
        except Exception as exc:
            value, status = f"{type(exc).__name__}: {exc}"[:300], "error"
        conn.send(Outcome(status, time.perf_counter() - start, value))
    conn.close()


@dataclass
class _Job:
    key: str
    fn: Callable[[Any], Any]
    items: list[Any]
    timeout: float
    out: list[Outcome] = field(default_factory=list)
    proc: Any = None
    conn: Connection | None = None
    started: float = 0.0  # when the current item started

    def start(self) -> None:
        ctx = mp.get_context("fork")  # inherits the warm parent: no imports, no pickling
        recv, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_worker, args=(send, self.fn, self.items, len(self.out)))
        self.proc.daemon = True
        self.proc.start()
        send.close()
        self.conn, self.started = recv, time.perf_counter()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join()
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None

    @property
    def done(self) -> bool:
        return len(self.out) >= len(self.items)


def run_forked(
    jobs: Mapping[str, tuple[Callable[[Any], Any], list[Any], float]], parallel: int = 1
) -> dict[str, list[Outcome]]:
    """``fn(item)`` for every item of every job ``key -> (fn, items, timeout)``, each job
    in a forked child, ``parallel`` jobs at a time. An item still running after its job's
    timeout is killed and recorded as a timeout; the job goes on with its next item in a
    fresh child."""
    everything = [_Job(key, fn, list(items), timeout) for key, (fn, items, timeout) in jobs.items()]
    todo, running = list(everything), list[_Job]()
    # Freeze what the parent has: a collection in a child then neither walks nor copies it.
    gc.collect()
    gc.freeze()
    try:
        while todo or running:
            while todo and len(running) < max(1, parallel):
                job = todo.pop(0)
                if not job.done:
                    job.start()
                    running.append(job)
            if not running:
                break
            deadline = min(j.started + j.timeout for j in running)
            ready = wait(
                [j.conn for j in running if j.conn], max(0.0, deadline - time.perf_counter())
            )
            now = time.perf_counter()
            for job in list(running):
                if job.conn is not None and job.conn in ready:
                    try:
                        job.out.append(job.conn.recv())
                        job.started = now
                    except EOFError:  # the child died without a word (killed, crashed)
                        job.out.append(Outcome("error", now - job.started, "child died"))
                        job.stop()
                        if not job.done:
                            job.start()
                elif now - job.started >= job.timeout:
                    job.stop()
                    job.out.append(Outcome("timeout", job.timeout))
                    if not job.done:
                        job.start()
                if job.done:
                    job.stop()
                    running.remove(job)
    finally:
        for job in running:
            job.stop()
        gc.unfreeze()
    return {job.key: job.out for job in everything}
