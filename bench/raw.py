"""The peer: the same rows written with DB-API ``executemany`` into the same schema.

Everything the service computes (ids, validated STIX JSON, display names, tag rows,
primary keys) is computed here *before* the clock starts, with the same model
functions, so the timed part is only the inserts and one commit per batch: one
transaction per ``create_many`` call, as the service does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.data import Batch
from kizashi.model import stix as stix_model
from kizashi.model.actor import SYSTEM
from kizashi.model.tags import parse_tag
from kizashi.store.engine import Store

_OBJECTS = (
    "INSERT INTO objects (pk, id, type, name, value, created, modified, published, tlp, revoked,"
    " version, data, created_by, action, updated_by, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_REFS = "INSERT INTO object_refs (source_pk, property, target_ref) VALUES (?, ?, ?)"
_TAGS = (
    "INSERT INTO tags (pk, name, namespace, predicate, value, colour, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_LINKS = "INSERT INTO object_tags (tag_pk, object_pk, added_by, added_at) VALUES (?, ?, ?, ?)"
_AUDIT = "INSERT INTO audit_log (at, user_pk, action, target, detail) VALUES (?, ?, ?, ?, ?)"
_TLP_COLOURS = {"clear": "#ffffff", "green": "#33ff00", "amber": "#ffc000", "red": "#ff2b2b"}


@dataclass
class RawBatch:
    objects: list[tuple[Any, ...]]
    refs: list[tuple[Any, ...]]
    links: list[tuple[Any, ...]]
    audit: tuple[Any, ...]


@dataclass
class RawPlan:
    tags: list[tuple[Any, ...]]
    batches: list[RawBatch]

    @property
    def rows(self) -> int:
        return sum(len(b.objects) for b in self.batches)


def _stix(raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What ``ObjectService.create_many`` stores for one input (same functions)."""
    fast = stix_model.simple_observable(raw)
    if fast is not None:
        return fast
    raw = dict(raw)
    if raw.get("type") == "report" and not raw.get("object_refs"):
        raw["object_refs"] = [SYSTEM.identity_ref]
    return stix_model.validate(raw, now=now, author_ref=SYSTEM.identity_ref)


def _refs(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in data.items():
        if key in ("created_by_ref", "object_marking_refs"):
            continue
        if key.endswith("_refs") and isinstance(value, list):
            out += [(key, v) for v in value if isinstance(v, str)]
        elif key.endswith("_ref") and isinstance(value, str):
            out.append((key, value))
    return out


def plan(batches: list[Batch]) -> RawPlan:
    """Precompute every row (untimed)."""
    now = datetime.now(UTC)
    stamp = stix_model.format_timestamp(now)
    tag_pk: dict[str, int] = {}
    tag_rows: list[tuple[Any, ...]] = []
    out: list[RawBatch] = []
    pk = 0
    for batch in batches:
        names = [parse_tag(t) for t in batch.tags]
        level = next((t.predicate for t in names if t.namespace == "tlp"), None)
        for t in names:
            if t.name not in tag_pk:
                tag_pk[t.name] = len(tag_pk) + 1
                colour = _TLP_COLOURS.get(t.predicate or "") if t.namespace == "tlp" else None
                row = (tag_pk[t.name], t.name, t.namespace, t.predicate, t.value, colour, stamp)
                tag_rows.append(row)
        objs, refs, links = [], [], []
        for raw in batch.objects:
            pk += 1
            data = _stix(raw, now)
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            objs.append(
                (
                    pk,
                    data["id"],
                    data["type"],
                    stix_model.display_name(data),
                    stix_model.observable_value(data),
                    data.get("created"),
                    data.get("modified"),
                    data.get("published"),
                    level,
                    0,
                    1,
                    text,
                    None,
                    "create",
                    None,
                    stamp,
                )
            )
            refs += [(pk, prop, target) for prop, target in _refs(data)]
            links += [(tag_pk[t.name], pk, None, stamp) for t in names]
        detail = f"{len(objs)} created, 0 existing"
        out.append(RawBatch(objs, refs, links, (stamp, None, "create.bulk", None, detail)))
    return RawPlan(tag_rows, out)


def run(store: Store, raw_plan: RawPlan) -> float:
    """Write the plan; return the seconds spent in inserts and commits."""
    conn = store.engine.raw_connection()
    try:
        cur = conn.cursor()
        start = time.perf_counter()
        cur.execute("BEGIN")
        cur.executemany(_TAGS, raw_plan.tags)
        cur.execute("COMMIT")
        for b in raw_plan.batches:
            cur.execute("BEGIN")
            cur.executemany(_OBJECTS, b.objects)
            cur.executemany(_REFS, b.refs)
            cur.executemany(_LINKS, b.links)
            cur.execute(_AUDIT, b.audit)
            cur.execute("COMMIT")
        elapsed = time.perf_counter() - start
        cur.close()
    finally:
        conn.close()
    return elapsed
