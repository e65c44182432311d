"""Auto-tagging rules end to end: what 10 to 1,000 rules add to the time a feed's new items
take to be stored, tagged and searchable (run with ``python -m bench --only rules``).

The rules benchmark (``bench_rules``) times the rules' two parts on the side: the analysis
of an item (Sudachi, the extractor) and the matching. The analysis is also what the search
index does to the item moments later, and the two share it (``analyse_shared``): with
rules, the index finds the analysis made; without, it makes it. So the time an item takes
to arrive, counted to where it can be found, is what the target is about, and this is
measured here, with nothing left out:

- a store per rule count (0, 10, 100, 1,000; SQLite in a temporary directory, the
  in-memory index, the rules of ``bench_rules.make_rules`` saved and enabled), warmed
  with one untimed batch (the rule set compiled, the dictionary loaded);
- the same items of ``bench.search_data`` (about 2 KB, Japanese with English and planted
  indicators) arrive at every store in batches of :data:`BATCH`, as a feed poll's new
  items do: ``objects.create_many_in(..., extract=True)`` in one transaction (what the
  feed pipeline calls: extraction, the mentions, the rules and their tags), then
  ``search.follower.catch_up()`` (the index taking them in);
- batch after batch, the stores take their turn in a rotating order, so machine load
  falls on all alike, and the shared analysis cache is emptied before each store's turn:
  no store finds another's work.

Added latency per item = (time per item with N rules) − (time per item with none), the
mean over every batch, with the spread of the per-batch differences. Target (rules
issue): under 2 ms at 1,000 rules.
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

BATCH = 20
FULL_ITEMS = 2_000
QUICK_ITEMS = 100
SIZES = (0, 10, 100, 1_000)
TARGET_ADDED_MS = 2.0

Progress = Callable[[str], None]


@dataclass
class Row:
    rules: int
    store_s: list[float] = field(default_factory=list)  # per batch
    index_s: list[float] = field(default_factory=list)
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

    def added(self, row: Row) -> tuple[float, float]:
        """Mean added ms per item, and the standard deviation of the per-batch values."""
        base = self.baseline()
        mine = [s + i for s, i in zip(row.store_s, row.index_s, strict=True)]
        theirs = [s + i for s, i in zip(base.store_s, base.index_s, strict=True)]
        per_batch = [(a - b) / self.batch * 1e3 for a, b in zip(mine, theirs, strict=True)]
        return row.per_item_ms - base.per_item_ms, statistics.pstdev(per_batch)

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
            added, spread = self.added(r)
            out["rows"].append(
                {
                    "rules": r.rules,
                    "ms_per_item": round(r.per_item_ms, 3),
                    "store_ms": round(r.store_ms, 3),
                    "index_ms": round(r.index_ms, 3),
                    "added_ms": round(added, 3),
                    "added_sd_ms": round(spread, 3),
                    "tagged": r.tagged,
                }
            )
        top = next(r for r in self.rows if r.rules == max(SIZES))
        added, _ = self.added(top)
        out["target"] = {"added_ms": round(added, 3), "target": TARGET_ADDED_MS}
        out["target"]["met"] = added < TARGET_ADDED_MS
        return out


def run(quick: bool, progress: Progress | None = None) -> Result:
    from bench.bench_rules import VOCAB_DOCS, make_rules, report_raw, vocabulary
    from bench.search_data import build_corpus
    from kizashi.model.actor import SYSTEM
    from kizashi.services import Kizashi
    from kizashi.text.analyse import analyse_shared

    say = progress or (lambda _msg: None)
    items = QUICK_ITEMS if quick else FULL_ITEMS
    try:
        docs = build_corpus(VOCAB_DOCS + items)
    except FileNotFoundError as exc:
        return Result(items, BATCH, [], skipped=str(exc))
    raws = make_rules(vocabulary(docs[:VOCAB_DOCS]))
    arriving = [report_raw(d) for d in docs[VOCAB_DOCS:]]
    warm = [report_raw(d) for d in docs[:BATCH]]
    gc_objects = _tracked_by(raws)
    tmp = Path(tempfile.mkdtemp(prefix="kizashi-bench-rules-e2e-"))
    stores: dict[int, Any] = {}
    rows = {n: Row(n) for n in SIZES}
    try:
        for n in SIZES:
            say(f"rules end to end: a store with {n:,} rules ...")
            kz = Kizashi.open(f"sqlite:///{tmp / f'rules-{n}.db'}", warninglists=False)
            for raw in raws[:n]:
                kz.rules.save(SYSTEM, raw)
            # Warm, untimed: the rule set is compiled once (a server does it once, then
            # serves every item), Sudachi's dictionary is loaded, the index exists.
            with kz.store.begin() as conn:
                kz.objects.create_many_in(conn, SYSTEM, warm, extract=True)
            kz.search.follower.catch_up()
            stores[n] = kz
        clock = time.perf_counter
        batches = [arriving[i : i + BATCH] for i in range(0, len(arriving), BATCH)]
        say(f"rules end to end: {len(arriving):,} items in batches of {BATCH} ...")
        for b, batch in enumerate(batches):
            k = b % len(SIZES)
            for n in [*SIZES[k:], *SIZES[:k]]:
                kz, row = stores[n], rows[n]
                analyse_shared.cache_clear()
                t0 = clock()
                with kz.store.begin() as conn:
                    kz.objects.create_many_in(conn, SYSTEM, batch, extract=True)
                t1 = clock()
                kz.search.follower.catch_up()
                t2 = clock()
                row.store_s.append(t1 - t0)
                row.index_s.append(t2 - t1)
                row.items += len(batch)
        for n, kz in stores.items():
            rows[n].tagged = _rule_links(kz)
    finally:
        for kz in stores.values():
            kz.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return Result(items, BATCH, [rows[n] for n in SIZES], gc_objects=gc_objects)


def _tracked_by(raws: list[dict[str, Any]]) -> int:
    """How many objects the collector tracks for the compiled rules."""
    import gc

    from bench.bench_rules import compile_rules

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
    from bench.__main__ import table, verdict

    head = "Auto-tagging rules end to end: a feed's new items stored, tagged and searchable"
    if res.skipped:
        return f"{head}\n  skipped: {res.skipped}"
    out = [
        head,
        f"{res.items:,} items of about 2 KB in batches of {res.batch} "
        "(create_many_in with extraction, then the index's catch_up), a SQLite store per",
        "rule count, the stores in turn batch after batch; ms per item; added = against 0 "
        "rules, with the spread (sd) over batches",
    ]
    rows: list[list[str]] = []
    for r in res.rows:
        added, spread = res.added(r)
        rows.append(
            [
                f"{r.rules:,}",
                f"{r.store_ms:.2f}",
                f"{r.index_ms:.2f}",
                f"{r.per_item_ms:.2f}",
                "-" if r.rules == 0 else f"{added:+.2f}",
                "-" if r.rules == 0 else f"{spread:.2f}",
                f"{r.tagged:,}",
            ]
        )
    out.append(table(["rules", "store", "index", "total", "added", "sd", "rule tags"], rows))
    out.append(
        f"  objects Python's collector walks for the compiled {max(SIZES):,} rules: "
        f"{res.gc_objects:,}"
    )
    t = res.as_dict()["target"]
    out.append(
        f"  1,000 rules add {t['added_ms']:.2f} ms per item end to end "
        f"(target < {TARGET_ADDED_MS:.0f} ms): {verdict(t['met'])}"
    )
    return "\n".join(out)
