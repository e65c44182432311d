"""What rules do once they matched: compiled actions, and acting on the store.

The rule set (:class:`Compiled`) is what :class:`~kizashi.services.rules.ruleset.RuleSets`
keeps between items: the matching nodes, each rule's definition and version, and its
actions read once. :class:`RuleActions` carries out the matches of incoming items and
of runs over stored ones alike, in the caller's transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from kizashi.model import rules as rm
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.tags import TagName, parse_tag
from kizashi.services.common import Context
from kizashi.services.tags import tag_level
from kizashi.store import objects as object_repo
from kizashi.store import rules as repo
from kizashi.store import search as docs_repo
from kizashi.store.search import DocRow
from kizashi.text import rulematch

if TYPE_CHECKING:
    from kizashi.services.objects import ObjectService
    from kizashi.services.tags import TagService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Actions:
    """What a rule does, read once when the rule set is compiled (not per item)."""

    tags: tuple[TagName, ...]  # plain tags to add (not TLP)
    tlp: str | None  # the marking to raise to, if any
    auto: bool  # a learned rule: it proposes, an analyst decides
    #: The tags an item holds once this rule acted (the rules after it see them).
    names: frozenset[str]

    @classmethod
    def of(cls, spec: rm.RuleSpec) -> Actions:
        then = spec.then
        parsed = [parse_tag(t) for t in then.add_tags]  # ``TLP:AMBER`` is ``tlp:amber``
        levels = [lv for t in parsed if (lv := tag_level(t))]
        plain = tuple(t for t in parsed if t.namespace != "tlp")
        level = then.set_tlp or next((lv for lv in levels if lv), None)
        names = {t.name for t in plain} | ({f"tlp:{level}"} if level else set())
        return cls(plain, level, rm.uses_auto(spec.when), frozenset(names))


@dataclass(frozen=True)
class Compiled:
    """The enabled rules as one :class:`rulematch.RuleSet`, with each rule's definition,
    version and actions by rule pk, and the stamp they were compiled at."""

    stamp: Any
    ruleset: rulematch.RuleSet
    specs: dict[int, rm.RuleSpec]
    versions: dict[int, int]
    #: Whom each rule reads and acts as: the user who last saved it (None: the system).
    owners: dict[int, int | None]
    actions: dict[int, Actions] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", {pk: Actions.of(s) for pk, s in self.specs.items()})

    @classmethod
    def one(cls, pk: int, version: int, spec: rm.RuleSpec, owner: int | None) -> Compiled:
        """One rule, enabled or not, to act with (a run of that rule alone)."""
        return cls(None, rulematch.RuleSet([]), {pk: spec}, {pk: version}, {pk: owner})


class RuleActions:
    """Acting on matches, shared by incoming items and runs over stored ones."""

    def __init__(self, ctx: Context, tags: TagService, objects: ObjectService) -> None:
        self.ctx = ctx
        self.tags = tags
        self.objects = objects

    def act(
        self,
        conn: Connection,
        actor: Actor,
        acted: Sequence[tuple[int, rulematch.Hit]],
        compiled: Compiled,
        rows: Mapping[int, DocRow] | None = None,
    ) -> None:
        """Do what each matched rule says, for every item it matched: tags (recording
        the rule and its version; a tag an analyst removed stays removed), TLP (raised,
        never lowered), collections, relationships, events; an auto rule proposes."""
        if not acted:
            return
        specs, versions = compiled.specs, compiled.versions
        by_rule: dict[int, list[tuple[int, rulematch.Hit]]] = {}
        for pk, hit in acted:
            by_rule.setdefault(hit.key[0], []).append((pk, hit))
        all_pks = sorted({pk for pk, _ in acted})
        blocked = repo.suppressed(conn, all_pks)
        now = self.ctx.stamp()
        events: list[dict[str, Any]] = []
        if rows is None:
            # Only collections, relations and events read the items themselves.
            needs_rows = any(
                specs[r].then.add_to_collection or specs[r].then.relate or specs[r].then.notify
                for r in by_rule
            )
            rows = docs_repo.documents(conn, all_pks) if needs_rows else {}
        # Every plain tag of these rules, made (or found) at once.
        wanted = {
            t.name: t
            for rule_pk in by_rule
            if not (a := compiled.actions[rule_pk]).auto
            for t in a.tags
        }
        tag_pks = self.tags.ensure(conn, list(wanted.values())) if wanted else {}
        links: list[tuple[int, int, int, int]] = []
        for rule_pk, hits in by_rule.items():
            spec = specs[rule_pk]
            action = compiled.actions[rule_pk]
            version = versions[rule_pk]
            pks = sorted({pk for pk, _ in hits})
            then = spec.then
            if action.auto:
                self._suggest(conn, rule_pk, hits, now)
                continue
            ids = [tag_pks[t.name] for t in action.tags]
            links += [
                (pk, tag_pk, rule_pk, version)
                for pk in pks
                for tag_pk in ids
                if (pk, tag_pk) not in blocked
            ]
            if action.tlp:
                self._raise_tlp(conn, actor, pks, action.tlp, rule_pk, version, blocked)
            if then.add_to_collection:
                self._collect(
                    conn, actor, then.add_to_collection, [rows[p].id for p in pks if p in rows]
                )
            if then.relate:
                self._relate(conn, actor, [rows[p].id for p in pks if p in rows], then.relate)
            if then.notify:
                already = repo.notified(conn, rule_pk, pks)
                events += [
                    {
                        "at": now,
                        "kind": "rule.matched",
                        "object_pk": pk,
                        "rule_pk": rule_pk,
                        "payload": json.dumps(
                            {
                                "rule": hit.name,
                                "version": version,
                                "object_id": rows[pk].id if pk in rows else None,
                                "title": rows[pk].name if pk in rows else None,
                                "why": hit.why,
                            },
                            ensure_ascii=False,
                        ),
                    }
                    for pk, hit in hits
                    if pk not in already
                ]
        # In rule order: where two rules add one tag to an item, the first is its source.
        repo.link_many_from_rules(conn, links, at=now)
        repo.add_events(conn, events)

    def _suggest(
        self, conn: Connection, rule_pk: int, hits: Sequence[tuple[int, rulematch.Hit]], now: str
    ) -> None:
        """An auto rule proposes; an analyst decides (see :meth:`decide`)."""
        proposed: list[tuple[int, str, float]] = []
        for pk, hit in hits:
            for w in hit.why:
                if w.startswith("auto:"):
                    tag, _, score = w[5:].rpartition("=")
                    proposed.append((pk, tag, float(score)))
        if not proposed:
            return
        tag_pks = self.tags.ensure(conn, [parse_tag(t) for t in {t for _, t, _ in proposed}])
        blocked = repo.suppressed(conn, sorted({pk for pk, _, _ in proposed}))
        repo.suggest(
            conn,
            [
                {
                    "object_pk": pk,
                    "tag_pk": tag_pks[parse_tag(tag).name],
                    "rule_pk": rule_pk,
                    "score": score,
                    "status": "pending",
                    "created_at": now,
                }
                for pk, tag, score in proposed
                if (pk, tag_pks[parse_tag(tag).name]) not in blocked
            ],
        )

    def _raise_tlp(
        self,
        conn: Connection,
        actor: Actor,
        pks: Sequence[int],
        level: str,
        rule_pk: int,
        version: int,
        blocked: set[tuple[int, int]],
    ) -> None:
        """Mark with ``level`` where the marking is lower or absent; never lower one."""
        tag = parse_tag(f"tlp:{level}")
        tag_pk = self.tags.ensure(conn, [tag])[tag.name]
        current = {r.pk: r.tlp for r in object_repo.get_many_by_pk(conn, pks)}
        rank = tlp_model.rank(level)
        raise_pks = [
            pk
            for pk in pks
            if (pk, tag_pk) not in blocked
            and (current.get(pk) is None or tlp_model.rank(current[pk] or "clear") < rank)
        ]
        if not raise_pks:
            return
        self.tags.attach(conn, actor, raise_pks, [tag])
        repo.mark_rule_links(conn, raise_pks, tag_pk, rule_pk=rule_pk, version=version)

    def _collect(self, conn: Connection, actor: Actor, name: str, ids: Sequence[str]) -> None:
        """Add items to the STIX grouping with this name (made on first use)."""
        if not ids:
            return
        found = object_repo.by_type_and_name(conn, "grouping", name)
        if found is None:
            self.objects.create_in(
                conn,
                actor,
                {
                    "type": "grouping",
                    "name": name,
                    "context": "suspicious-activity",
                    "object_refs": list(ids),
                },
                extract=False,
            )
            return
        refs = json.loads(found.data).get("object_refs", [])
        merged = list(dict.fromkeys([*refs, *ids]))
        if len(merged) != len(refs):
            self.objects.update_in(conn, actor, found.id, {"object_refs": merged}, relink=False)

    def _relate(
        self, conn: Connection, actor: Actor, ids: Sequence[str], relate: rm.Relate
    ) -> None:
        target = object_repo.get(conn, relate.target_ref)
        if target is None or target.revoked:
            log.warning("rule: relate target %s is not a stored object; skipped", relate.target_ref)
            return
        have = {
            (s, t)
            for _, kind, s, t in object_repo.relationship_edges(conn, [relate.target_ref])
            if kind == relate.relationship_type
        }
        for source in ids:
            if source == relate.target_ref or (source, relate.target_ref) in have:
                continue
            self.objects.create_in(
                conn,
                actor,
                {
                    "type": "relationship",
                    "relationship_type": relate.relationship_type,
                    "source_ref": source,
                    "target_ref": relate.target_ref,
                },
                extract=False,
            )
