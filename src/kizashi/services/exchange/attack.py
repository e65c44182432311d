"""ATT&CK releases: loading one, and upgrading in place to the next.

A release is a STIX 2.1 bundle and goes through the importer like any other
(:mod:`.importing`): versions follow ``modified``, the stored JSON is MITRE's, a revoked
object is marked revoked (``revoked: true`` sets the ``revoked`` column: hidden from
non-admins, as a deletion is) and a deprecated one keeps ``x_mitre_deprecated: true``
(:func:`kizashi.services.names.deprecated`; it is not linked by name). Nothing is skipped:
revoked and deprecated objects, relationships and mitigations are stored too.

What this module adds runs after each batch any import writes (:meth:`after_write`), so
``kizashi import`` does it as ``kizashi attack load`` does:

- the names reports are linked by are built again when named objects changed;
- ``revoked-by`` is followed. When an object is revoked and a relationship names its
  replacement (in this batch or an earlier one, in either order), what Kizashi's people
  attached to the old object reaches the new one, and the old one keeps it all:

  - their tags (not its producer's labels, not TLP, not a rule's: rules tag the new one
    themselves), unless the replacement has a tag of that namespace already;
  - mentions: reports that named it, by id or by name, now name the replacement, so
    lookups and indicator pages lead there;
  - notes, opinions and reports written in Kizashi (by a user, a feed or Kizashi itself)
    that refer to it refer to the replacement too (a new version; the old ref stays);
  - relationships they made with it are copied to the replacement (the copy's id is
    derived from the original's and the replacement's; ``x_kizashi_carried_from`` names
    the original). A TLP:RED one of someone else stays theirs alone, not copied.

  What a producer sent (their reports, their relationships) is left as they wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from kizashi import formats
from kizashi.formats import Limits
from kizashi.model import stix as stix_model
from kizashi.model.actor import SYSTEM_IDENTITY, Actor
from kizashi.model.errors import KizashiError
from kizashi.model.observables import deterministic_id
from kizashi.model.tags import parse_tag
from kizashi.services.common import Context
from kizashi.services.exchange.importing import ImportReport
from kizashi.services.exchange.service import ExchangeService
from kizashi.services.names import REVOKED_BY, NameLinker, deprecated, successors
from kizashi.services.objects import ObjectService
from kizashi.services.objects.views import ObjectView
from kizashi.services.tags import TagService, canonical
from kizashi.store import feeds as feed_repo
from kizashi.store import mentions as mention_repo
from kizashi.store import objects as object_repo
from kizashi.store import rules as rule_repo
from kizashi.store import tags as tag_repo
from kizashi.store import users as user_repo
from kizashi.store.rows import ObjectRow

#: The property a carried relationship names its original by.
CARRIED_FROM = "x_kizashi_carried_from"


@dataclass
class Release:
    """What a load did, and what the release holds."""

    report: ImportReport
    #: The release's name and version (its ``x-mitre-collection``), if it says.
    name: str | None = None
    version: str | None = None
    by_type: dict[str, int] = field(default_factory=dict)
    revoked: int = 0
    #: Revoked objects whose replacement is stored.
    replaced: int = 0
    deprecated: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "by_type": self.by_type,
            "revoked": self.revoked,
            "replaced": self.replaced,
            "deprecated": self.deprecated,
            "import": self.report.as_dict(),
        }


class AttackReleases:
    def __init__(
        self,
        ctx: Context,
        objects: ObjectService,
        tags: TagService,
        exchange: ExchangeService,
        names: NameLinker,
    ) -> None:
        self.ctx = ctx
        self.objects = objects
        self.tags = tags
        self.exchange = exchange
        self.names = names

    def load(self, actor: Actor, path: Path) -> Release:
        """Import the release in ``path`` (new, or newer than what is stored) and say
        what it holds. Raises :class:`KizashiError` for a file that is not a bundle."""
        report = self.exchange.import_(actor, lambda: path.open("rb"), format="stix")
        release = Release(report)
        revoked: list[str] = []
        with path.open("rb") as stream:
            fmt = formats.get("stix", reading=True)
            assert fmt.read is not None
            for obj in fmt.read(stream, Limits()):
                if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
                    continue
                release.by_type[obj["type"]] = release.by_type.get(obj["type"], 0) + 1
                if obj.get("revoked") is True:
                    revoked.append(str(obj.get("id")))
                release.deprecated += deprecated(obj)
                if obj["type"] == "x-mitre-collection":
                    release.name = obj.get("name")
                    release.version = obj.get("x_mitre_version")
        release.revoked = len(revoked)
        with self.ctx.store.read() as conn:
            release.replaced = len(successors(conn, revoked))
        return release

    def replacement(self, actor: Actor, stix_id: str) -> ObjectView | None:
        """The live object that replaced a revoked one (if ``actor`` may read it)."""
        with self.ctx.store.read() as conn:
            new = successors(conn, [stix_id]).get(stix_id)
        return self.objects.get_many(actor, [new]).get(new) if new else None

    # -- after each batch an import writes -----------------------------------------
    def after_write(
        self,
        conn: Connection,
        actor: Actor,
        new: Sequence[dict[str, Any]],
        newer: Sequence[dict[str, Any]],
    ) -> None:
        written = [*new, *newer]
        self.names.touched(written)
        pairs = self._to_follow(conn, written, new)
        if not pairs:
            return
        ours = _kizashi_identities(conn)
        for old, new_id in pairs:
            self._carry(conn, actor, old, new_id, ours)

    def _to_follow(
        self, conn: Connection, written: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]
    ) -> list[tuple[ObjectRow, str]]:
        """(revoked object, replacement) for the revocations this batch completes: the
        revoked object, its ``revoked-by`` or its replacement was written in it."""
        old = {o["id"] for o in written if o.get("revoked") is True}
        old |= {
            o["source_ref"]
            for o in written
            if o["type"] == "relationship" and o.get("relationship_type") == REVOKED_BY
        }
        arrived = {
            o["id"]
            for o in new
            if o["type"] != "relationship" and not stix_model.is_observable(o["type"])
        }
        if arrived:
            for _rel, rtype, source, target in object_repo.relationship_edges(
                conn, sorted(arrived)
            ):
                if rtype == REVOKED_BY and target in arrived:
                    old.add(source)
        if not old:
            return []
        rows = object_repo.get_many(conn, old)
        revoked = sorted(i for i, row in rows.items() if row.revoked)
        replaced = successors(conn, revoked) if revoked else {}
        return [(rows[i], replaced[i]) for i in revoked if i in replaced]

    def _carry(
        self, conn: Connection, actor: Actor, old: ObjectRow, new_id: str, ours: set[str]
    ) -> None:
        new = object_repo.get(conn, new_id)
        if new is None:
            return
        tags = self._carry_tags(conn, actor, old, new)
        mention_repo.repoint(conn, old.pk, new.pk)
        refs = relationships = 0
        referrers = object_repo.referrers(conn, old.id, limit=100_000)
        rows = object_repo.get_many(conn, [i for i, _ in referrers])
        for source_id, prop in referrers:
            row = rows.get(source_id)
            if row is None or not actor.may_read(row.tlp, row.created_by):
                continue
            data = json.loads(row.data)
            if data.get("created_by_ref") not in ours:
                continue  # a producer's object: as they wrote it
            if prop == "object_refs":
                held = [r for r in data.get("object_refs") or [] if isinstance(r, str)]
                if new_id not in held:
                    changes = {"object_refs": [*held, new_id]}
                    self.objects.update_in(conn, actor, source_id, changes, relink=False)
                    refs += 1
            elif row.type == "relationship" and data.get("relationship_type") != REVOKED_BY:
                relationships += self._copy(conn, actor, row, data, old.id, new_id)
        if tags or refs or relationships:
            detail = f"to {new_id}: {tags} tag(s), {refs} ref(s), {relationships} relationship(s)"
            self.ctx.audit(conn, actor, "revoked-by.carry", old.id, detail)

    def _carry_tags(self, conn: Connection, actor: Actor, old: ObjectRow, new: ObjectRow) -> int:
        """The old object's tags that someone added, on the new one too."""
        labels = json.loads(old.data).get("labels")
        own = set(_canonical_all(labels if isinstance(labels, list) else []))
        by_rule = rule_repo.provenance(conn, old.pk)
        theirs = tag_repo.object_tag_rows(conn, new.pk)
        names = {t.name for t in theirs}
        spaces = {t.namespace for t in theirs if t.namespace}
        wanted = [
            t.name
            for t in tag_repo.object_tag_rows(conn, old.pk)
            if t.namespace != "tlp"
            and by_rule.get(t.name, (None, None))[0] is None
            and t.name not in own
            and t.name not in names
            and (t.namespace is None or t.namespace not in spaces)
        ]
        if wanted:
            self.tags.attach(conn, actor, [new.pk], [parse_tag(n) for n in sorted(wanted)])
        return len(wanted)

    def _copy(
        self,
        conn: Connection,
        actor: Actor,
        row: ObjectRow,
        data: dict[str, Any],
        old_id: str,
        new_id: str,
    ) -> int:
        """A relationship with the old object, made again with the new one."""
        copy_id = deterministic_id("relationship", f"{row.id}>{new_id}")
        if row.tlp == "red" and row.created_by != actor.user_pk:
            return 0  # the copy would be the importer's to read, not its author's
        if object_repo.get(conn, copy_id) is not None:
            return 0
        raw = {k: v for k, v in data.items() if k not in ("id", "created", "modified")}
        for end in ("source_ref", "target_ref"):
            if raw.get(end) == old_id:
                raw[end] = new_id
        raw |= {"id": copy_id, CARRIED_FROM: row.id}
        self.objects.create_in(conn, actor, raw, tlp=row.tlp)
        return 1


def _canonical_all(labels: Iterable[Any]) -> Iterable[str]:
    for label in labels:
        if isinstance(label, str):
            try:
                yield canonical(label)
            except KizashiError:
                continue


def _kizashi_identities(conn: Connection) -> set[str]:
    """The authors whose objects are written in Kizashi: its users, its feeds, itself."""
    found = {SYSTEM_IDENTITY}
    found |= {str(u.identity_id) for u in user_repo.list_all(conn)}
    found |= {f.identity_id for f in feed_repo.list_all(conn)}
    return found
