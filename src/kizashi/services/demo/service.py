"""Loading the demo set through the importer, and removing it.

- **The same path as any bundle.** The set goes through :class:`ExchangeService`'s import
  (checks, versions, labels as tags, TLP markings, extraction, rules, the search index),
  so what a newcomer sees is what their own data will do.
- **Dated at load time.** The bundle's dates are a template: every timestamp is moved by
  the same whole number of days, so that the newest falls within the last 24 hours and
  the trends and "new this week" have something to show. The shift of the first load is
  read back from the stored ``created`` of one object (:data:`ANCHOR`; ``created`` never
  changes between versions), so a later load, on any day, builds the same objects and
  changes nothing.
- **Marked.** Every domain object of the set carries the label ``kizashi:demo`` (a tag
  once imported); observables, which STIX gives no labels, get the tag after the import.
  ``remove`` revokes what has the tag; loading again restores it.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from kizashi.model import stix as stix_model
from kizashi.model.actor import Actor
from kizashi.model.tags import parse_tag
from kizashi.services.common import Context
from kizashi.services.exchange import ExchangeService, ImportReport
from kizashi.services.objects import ObjectService
from kizashi.services.tags import TagService
from kizashi.store import objects as object_repo

#: The tag every demo object carries.
DEMO_TAG = "kizashi:demo"
BUNDLE = "demo-bundle.json"
#: The demo set's author: its stored ``created`` tells how an earlier load was dated.
ANCHOR = "identity--ebf05eda-843b-545c-82a8-5ccd2cf84b71"
#: The properties that hold a point in time in the set (all at the top of an object).
TIMESTAMPS = (
    "created",
    "modified",
    "published",
    "first_seen",
    "last_seen",
    "valid_from",
    "valid_until",
)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class DemoLoad:
    """What a load did: the import's report, the revoked demo objects it restored, and
    by how many days the bundle's dates were moved."""

    report: ImportReport
    restored: int
    shift_days: int

    @property
    def added(self) -> int:
        """Objects stored or changed by this load (0 when the set was already there)."""
        return self.report.counts["new"] + self.report.counts["updated"] + self.restored

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "restored": self.restored,
            "shift_days": self.shift_days,
            "import": self.report.as_dict(),
        }


def read_bundle() -> dict[str, Any]:
    """The demo bundle as shipped (dates not moved)."""
    text = resources.files("kizashi.services.demo").joinpath(BUNDLE).read_text(encoding="utf-8")
    bundle: dict[str, Any] = json.loads(text)
    return bundle


def newest(bundle: dict[str, Any]) -> datetime:
    """The latest point in time anywhere in the bundle."""
    return max(
        stix_model.parse_timestamp(obj[key])
        for obj in bundle["objects"]
        for key in TIMESTAMPS
        if isinstance(obj.get(key), str)
    )


def shifted(bundle: dict[str, Any], days: int) -> dict[str, Any]:
    """The bundle with every timestamp ``days`` later (earlier when negative)."""
    delta = timedelta(days=days)
    objects = []
    for obj in bundle["objects"]:
        moved = dict(obj)
        for key in TIMESTAMPS:
            if isinstance(obj.get(key), str):
                when = stix_model.parse_timestamp(obj[key]) + delta
                moved[key] = stix_model.format_timestamp(when)
        objects.append(moved)
    return {**bundle, "objects": objects}


class DemoService:
    def __init__(
        self, ctx: Context, exchange: ExchangeService, objects: ObjectService, tags: TagService
    ) -> None:
        self.ctx = ctx
        self.exchange = exchange
        self.objects = objects
        self.tags = tags

    def load(self, actor: Actor) -> DemoLoad:
        """Import the demo set (admins): new objects are stored, what an earlier load
        stored is left as it is, and demo objects revoked since are restored."""
        actor.require_admin()
        template = read_bundle()
        days = self.shift_days(template)
        bundle = shifted(template, days)
        restored = self._restore(actor)
        data = json.dumps(bundle, ensure_ascii=False).encode()
        report = self.exchange.import_(actor, lambda: io.BytesIO(data), format="stix")
        self._tag_observables(actor, bundle)
        return DemoLoad(report, restored, days)

    def shift_days(self, template: dict[str, Any]) -> int:
        """The days to move the bundle's dates by: those of the first load when there
        was one, else so that the newest point falls within the last 24 hours."""
        with self.ctx.store.read() as conn:
            row = object_repo.get(conn, ANCHOR)
        if row is not None:
            stored = json.loads(row.data).get("created")
            mine = next(o.get("created") for o in template["objects"] if o["id"] == ANCHOR)
            if isinstance(stored, str) and isinstance(mine, str):
                gap = stix_model.parse_timestamp(stored) - stix_model.parse_timestamp(mine)
                return round(gap / DAY)
        return math.floor((self.ctx.clock() - newest(template)) / DAY)

    def remove(self, actor: Actor) -> int:
        """Revoke every live object tagged :data:`DEMO_TAG` (admins); returns how many.
        They stay in the store, revoked, as anything revoked does; loading the set
        again restores them."""
        actor.require_admin()
        ids = self._tagged(actor, revoked=False)
        with self.ctx.store.begin() as conn:
            for stix_id in ids:
                self.objects.revoke_in(conn, actor, stix_id)
        return len(ids)

    def _tagged(self, actor: Actor, *, revoked: bool) -> list[str]:
        """The ids of the objects tagged as demo: the live ones, or the revoked ones."""
        found: list[str] = []
        cursor: str | None = None
        while True:
            page = self.objects.list(
                actor, tags=DEMO_TAG, include_revoked=revoked, limit=500, cursor=cursor
            )
            found += [v.id for v in page.items if v.revoked == revoked]
            cursor = page.next_cursor
            if cursor is None:
                return found

    def _restore(self, actor: Actor) -> int:
        ids = self._tagged(actor, revoked=True)
        for stix_id in ids:
            self.objects.restore(actor, stix_id)
        return len(ids)

    def _tag_observables(self, actor: Actor, bundle: dict[str, Any]) -> None:
        """Observables have no labels: the demo tag is put on them here."""
        ids = [o["id"] for o in bundle["objects"] if stix_model.is_observable(o["type"])]
        with self.ctx.store.begin() as conn:
            pks = [row.pk for row in object_repo.get_many(conn, ids).values()]
            self.tags.attach(conn, actor, pks, [parse_tag(DEMO_TAG)])
