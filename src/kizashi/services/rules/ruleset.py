"""The enabled rules, compiled once and kept until one of them (or the learned model)
changes: what every incoming item and every run is matched against."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Connection

from kizashi.model import rules as rm
from kizashi.services.rules.actions import Compiled
from kizashi.store import rules as repo
from kizashi.text import rulematch

#: The name the learned tag model is stored under (its stamp is part of the rule set's).
MODEL = "tags"


class RuleSets:
    def __init__(self) -> None:
        self.scorer = rulematch.Scorer()
        self._compiled: Compiled | None = None
        self._lock = threading.Lock()

    def current(self, conn: Connection) -> Compiled:
        """Enabled rules, compiled; recompiled only when a rule (or the learned model)
        changed, which one indexed query per batch tells."""
        stamp = repo.stamp(conn, MODEL)
        with self._lock:
            if self._compiled is None or self._compiled.stamp != stamp:
                self._load_model(conn)
                specs: dict[int, rm.RuleSpec] = {}
                compiled = []
                rows = repo.all_rules(conn, enabled_only=True)
                for r in rows:
                    spec = rm.parse_rule(r.definition | {"order": r.position, "enabled": r.enabled})
                    specs[r.pk] = spec
                    compiled.append(rulematch.Compiled((r.pk, r.version), r.name, self.node(spec)))
                versions = {r.pk: r.version for r in rows}
                owners = {r.pk: r.updated_by for r in rows}
                self._compiled = Compiled(
                    stamp, rulematch.RuleSet(compiled), specs, versions, owners
                )
            return self._compiled

    def node(self, spec: rm.RuleSpec) -> rulematch.Node:
        """One rule's condition, compiled (its ``auto`` parts score with the learned model)."""
        return rulematch.compile_condition(
            spec.when, spec.name, auto=(self.scorer, spec.then.add_tags)
        )

    def _load_model(self, conn: Connection) -> None:
        from kizashi.text.classify import TagModel

        found = repo.model(conn, MODEL)
        self.scorer.model = TagModel.loads(found[0]) if found else None
