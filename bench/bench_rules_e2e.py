"""Auto-tagging rules end to end: what 10 to 1,000 rules add to the time a feed's new items
take to be stored, tagged and searchable (run with ``python -m bench --only rules``).

The rules benchmark (``bench_rules``) times the rules' two parts on the side: the analysis
of an item (Sudachi, the extractor) and the matching. The analysis is also what the search
index does to the item moments later, and the two share it (``analyse_shared``): with
rules, the index finds the analysis made; without, it makes it. So the time an item takes
to arrive, counted to where it can be found, is what the target is about, and this is
measured here, with nothing left out:

- a store per rule count (0, 10, 100, 1,000; SQLite in a temporary directory, the
  in-memory index, the rules of ``bench_rules.make_rules`` saved and enabled), **each in a
  process of its own**, warmed with one untimed batch (the rule set compiled, the
  dictionary loaded);
- the same items of ``bench.search_data`` (about 2 KB, Japanese with English and planted
  indicators) arrive at every store in batches of :data:`BATCH`, as a feed poll's new
  items do: ``objects.create_many_in(..., extract=True)`` in one transaction (what the
  feed pipeline calls: extraction, the mentions, the rules and their tags), then
  ``search.follower.catch_up()`` (the index taking them in);
- batch after batch, the stores take their turn in a rotating order, one at a time, so
  machine load falls on all alike.

Two clocks. **CPU**: each store's process's CPU time (every thread: Python, SQLite and
tantivy's indexing and merging threads) from its first timed batch until its index is
closed, which waits for the last merge. A store is charged exactly its own work, however
the turns interleave. **Wall**: each batch's elapsed time, store and index. tantivy
merges segments in background threads, and a merge one store started may still run
while the next store is timed; an untimed pause between turns (:data:`SETTLE_S`) lets it
end, so that each store's wall time is its own. The two agree within the spread.

Added latency per item = (per item with N rules) − (per item with none). Target (rules
issue): under 2 ms at 1,000 rules, judged on CPU, the wall mean shown beside it.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import table, verdict

BATCH = 20
FULL_ITEMS = 2_000
QUICK_ITEMS = 100
SIZES = (0, 10, 100, 1_000)
TARGET_ADDED_MS = 2.0
#: A pause between turns, untimed, in which the last store's background merges end, so
#: that the next store's wall time is its own.
SETTLE_S = 0.1

Progress = Callable[[str], None]


@dataclass
class Row:
    rules: int
    store_s: list[float] = field(default_factory=list)  # per batch, wall
    index_s: list[float] = field(default_factory=list)
    cpu_s: float = 0.0  # the store's process, every thread, timed batches to index closed
    items: int = 0
    tagged: int = 0  # rule-added (tag, item) links

    @property
    def per_item_ms(self) -> float:
        return (sum(self.store_s) + sum(self.index_s)) / self.items * 1e3

    @property
    def store_ms(self) -> float:
        return sum(self.store_s) / self.items * 1e3

    @property
    def index_ms(self) -> float:
        return sum(self.index_s) / self.items * 1e3

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s / self.items * 1e3


@dataclass
class Result:
    items: int
    batch: int
    rows: list[Row]
    skipped: str | None = None
    #: Objects Python's cyclic collector walks on each full collection, added by the
    #: compiled 1,000 rules (every item's analysis allocates enough to trigger some).
    gc_objects: int = 0

    def baseline(self) -> Row:
        return next(r for r in self.rows if r.rules == 0)

    def added(self, row: Row) -> tuple[float, float, float]:
        """Added wall ms per item: the mean, the median of the per-batch values, and
        their standard deviation."""
        base = self.baseline()
        mine = [s + i for s, i in zip(row.store_s, row.index_s, strict=True)]
        theirs = [s + i for s, i in zip(base.store_s, base.index_s, strict=True)]
        per_batch = [(a - b) / self.batch * 1e3 for a, b in zip(mine, theirs, strict=True)]
        return (
            row.per_item_ms - base.per_item_ms,
            statistics.median(per_batch),
            statistics.pstdev(per_batch),
        )

    def added_cpu(self, row: Row) -> float:
        return row.cpu_ms - self.baseline().cpu_ms

    def as_dict(self) -> dict[str, Any]:
        if self.skipped:
            return {"skipped": self.skipped}
        out: dict[str, Any] = {
            "items": self.items,
            "batch": self.batch,
            "gc_objects_of_1000_rules": self.gc_objects,
            "rows": [],
        }
        for r in self.rows:
            added, median, spread = self.added(r)
            out["rows"].append(
                {
                    "rules": r.rules,
                    "cpu_ms_per_item": round(r.cpu_ms, 3),
                    "added_cpu_ms": round(self.added_cpu(r), 3),
                    "ms_per_item": round(r.per_item_ms, 3),
                    "store_ms": round(r.store_ms, 3),
                    "index_ms": round(r.index_ms, 3),
                    "added_ms": round(added, 3),
                    "added_median_ms": round(median, 3),
                    "added_sd_ms": round(spread, 3),
                    "tagged": r.tagged,
                }
            )
        top = next(r for r in self.rows if r.rules == max(SIZES))
        added, _, _ = self.added(top)
        cpu = self.added_cpu(top)
        out["target"] = {
            "added_cpu_ms": round(cpu, 3),
            "added_wall_ms": round(added, 3),
            "target": TARGET_ADDED_MS,
            "met": cpu < TARGET_ADDED_MS,
        }
        return out


def run(quick: bool, progress: Progress | None = None) -> Result:
    import multiprocessing

    from bench.bench_rules import VOCAB_DOCS, make_rules, report_raw, vocabulary
    from bench.search_data import build_corpus

    say = progress or (lambda _msg: None)
    items = QUICK_ITEMS if quick else FULL_ITEMS
    try:
        docs = build_corpus(VOCAB_DOCS + items)
    except FileNotFoundError as exc:
        return Result(items, BATCH, [], skipped=str(exc))
    raws = make_rules(vocabulary(docs[:VOCAB_DOCS]))
    arriving = [report_raw(d) for d in docs[VOCAB_DOCS:]]
    warm = [report_raw(d) for d in docs[:BATCH]]
    batches = [arriving[i : i + BATCH] for i in range(0, len(arriving), BATCH)]
    gc_objects = _tracked_by(raws)
    tmp = Path(tempfile.mkdtemp(prefix="kizashi-bench-rules-e2e-"))
    rows = {n: Row(n) for n in SIZES}
    # Spawned, not forked: each store's process starts clean (no threads, caches or
    # collector state of this one).
    ctx = multiprocessing.get_context("spawn")
    workers: dict[int, tuple[Any, Any]] = {}
    try:
        for n in SIZES:
            say(f"rules end to end: a store with {n:,} rules, in its own process ...")
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=_store_process,
                args=(theirs, str(tmp / f"rules-{n}.db"), raws[:n], warm, batches),
                daemon=True,
            )
            proc.start()
            workers[n] = (proc, mine)
        for n in SIZES:  # ready: rules saved and compiled, store warmed
            _answer(workers[n][1], n)
        say(f"rules end to end: {len(arriving):,} items in batches of {BATCH} ...")
        for b, batch in enumerate(batches):
            k = b % len(SIZES)
            for n in [*SIZES[k:], *SIZES[:k]]:
                time.sleep(SETTLE_S)  # the last store's background merges end, untimed
                workers[n][1].send(b)
                store_s, index_s = _answer(workers[n][1], n)
                rows[n].store_s.append(store_s)
                rows[n].index_s.append(index_s)
                rows[n].items += len(batch)
        for n in SIZES:
            workers[n][1].send(None)
            rows[n].cpu_s, rows[n].tagged = _answer(workers[n][1], n)
    finally:
        for proc, pipe in workers.values():
            pipe.close()
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return Result(items, BATCH, [rows[n] for n in SIZES], gc_objects=gc_objects)


def _answer(pipe: Any, n: int) -> Any:
    kind, value = pipe.recv()
    if kind == "error":
        raise RuntimeError(f"the store with {n:,} rules failed:\n{value}")
    return value


def _store_process(
    pipe: Any,
    db: str,
    raws: list[dict[str, Any]],
    warm: list[dict[str, Any]],
    batches: list[list[dict[str, Any]]],
) -> None:
    """One store, in a process of its own: set up, then a batch per request (its wall
    times back), then, asked with None, its CPU time since the first batch."""
    import traceback

    try:
        from kizashi.model.actor import SYSTEM
        from kizashi.services import Kizashi

        kz = Kizashi.open(f"sqlite:///{db}", warninglists=False)
        for raw in raws:
            kz.rules.save(SYSTEM, raw)
        # Warm, untimed: the rule set is compiled once (a server does it once, then
        # serves every item), Sudachi's dictionary is loaded, the index exists.
        with kz.store.begin() as conn:
            kz.objects.create_many_in(conn, SYSTEM, warm, extract=True)
        kz.search.follower.catch_up()
        pipe.send(("ok", None))
        clock, cpu = time.perf_counter, time.process_time
        started: float | None = None
        while (b := pipe.recv()) is not None:
            if started is None:
                started = cpu()
            t0 = clock()
            with kz.store.begin() as conn:
                kz.objects.create_many_in(conn, SYSTEM, batches[b], extract=True)
            t1 = clock()
            kz.search.follower.catch_up()
            pipe.send(("ok", (t1 - t0, clock() - t1)))
        kz.search.index.close()  # waits for tantivy's last merge: its CPU is counted
        spent = cpu() - (started if started is not None else cpu())
        tagged = _rule_links(kz)
        kz.close()
        pipe.send(("ok", (spent, tagged)))
    except BaseException:  # reported to the parent, which raises it
        pipe.send(("error", traceback.format_exc()))


def _tracked_by(raws: list[dict[str, Any]]) -> int:
    """How many objects the collector tracks for the compiled rules."""
    import gc

    from bench.bench_rules import compile_rules
    from kizashi.text.rulematch import term

    term.cache_clear()  # terms another bench compiled would not be counted
    gc.collect()
    before = len(gc.get_objects())
    ruleset = compile_rules(raws)
    gc.collect()
    added = len(gc.get_objects()) - before
    del ruleset
    return added


def _rule_links(kz: Any) -> int:
    import sqlalchemy as sa

    with kz.store.read() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM object_tags WHERE rule_pk IS NOT NULL")
            ).scalar_one()
        )


def render(res: Result) -> str:
    head = "Auto-tagging rules end to end: a feed's new items stored, tagged and searchable"
    if res.skipped:
        return f"{head}\n  skipped: {res.skipped}"
    out = [
        head,
        f"{res.items:,} items of about 2 KB in batches of {res.batch} "
        "(create_many_in with extraction, then the index's catch_up), a SQLite store per",
        "rule count, each in its own process, the stores in turn batch after batch; ms per "
        "item. cpu: the store's process,",
        "every thread (tantivy's merges too); wall: per batch, store + index; added: against "
        "0 rules (wall: mean, median, sd over batches)",
    ]
    rows: list[list[str]] = []
    for r in res.rows:
        added, median, spread = res.added(r)
        none = r.rules == 0
        rows.append(
            [
                f"{r.rules:,}",
                f"{r.cpu_ms:.2f}",
                "-" if none else f"{res.added_cpu(r):+.2f}",
                f"{r.store_ms:.2f}",
                f"{r.index_ms:.2f}",
                f"{r.per_item_ms:.2f}",
                "-" if none else f"{added:+.2f}",
                "-" if none else f"{median:+.2f}",
                "-" if none else f"{spread:.2f}",
                f"{r.tagged:,}",
            ]
        )
    out.append(
        table(
            [
                "rules",
                "cpu",
                "added cpu",
                "wall store",
                "wall index",
                "wall",
                "added",
                "median",
                "sd",
                "rule tags",
            ],
            rows,
        )
    )
    out.append(
        f"  objects Python's collector walks for the compiled {max(SIZES):,} rules: "
        f"{res.gc_objects:,}"
    )
    t = res.as_dict()["target"]
    out.append(
        f"  1,000 rules add {t['added_cpu_ms']:.2f} ms of CPU per item end to end "
        f"(wall: {t['added_wall_ms']:+.2f}) (target < {TARGET_ADDED_MS:.0f} ms): "
        f"{verdict(t['met'])}"
    )
    return "\n".join(out)
