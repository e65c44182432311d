"""Storing rules: create, edit (a new version), delete (optionally with their tags), and
the YAML form they are exported and imported in."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from kizashi.model import rules as rm
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, conflict, invalid, not_found
from kizashi.services.common import Context
from kizashi.services.rules.views import RuleView
from kizashi.store import objects as object_repo
from kizashi.store import rules as repo
from kizashi.text import rulematch

if TYPE_CHECKING:
    from kizashi.services.tags import TagService


class RuleDefinitions:
    def __init__(self, ctx: Context, tags: TagService) -> None:
        self.ctx = ctx
        self.tags = tags

    def list(self) -> builtins.list[RuleView]:
        with self.ctx.store.read() as conn:
            return [RuleView.of(r) for r in repo.all_rules(conn)]

    def get(self, name: str) -> RuleView:
        with self.ctx.store.read() as conn:
            row = repo.get(conn, name)
        if row is None:
            raise not_found("No rule named %(name)r.", name=name)
        return RuleView.of(row)

    def save(self, actor: Actor, raw: Mapping[str, Any], *, name: str | None = None) -> RuleView:
        """Create a rule, or (with ``name``) replace that rule's definition: version + 1."""
        actor.require_write()
        spec = rm.parse_rule(dict(raw))
        rulematch.compile_condition(spec.when, spec.name)  # compiles, or says why not
        now = self.ctx.stamp()
        with self.ctx.store.begin() as conn:
            values = {
                "name": spec.name,
                "position": spec.order,
                "enabled": spec.enabled,
                "definition": json.dumps(spec.raw, ensure_ascii=False),
                "updated_at": now,
                "updated_by": actor.user_pk,
            }
            if name is None:
                if repo.get(conn, spec.name) is not None:
                    raise conflict("A rule named %(name)r exists; edit it instead.", name=spec.name)
                repo.insert(conn, {**values, "created_at": now, "version": 1})
            else:
                row = repo.get(conn, name)
                if row is None:
                    raise not_found("No rule named %(name)r.", name=name)
                if spec.name != name and repo.get(conn, spec.name) is not None:
                    raise conflict("A rule named %(name)r exists.", name=spec.name)
                repo.update(conn, row.pk, {**values, "version": row.version + 1})
            self.ctx.audit(conn, actor, "rule.save", spec.name)
            saved = repo.get(conn, spec.name)
        assert saved is not None
        return RuleView.of(saved)

    def delete(self, actor: Actor, name: str, *, remove_tags: bool = False) -> int:
        """Delete a rule; with ``remove_tags``, also the tags it added. Returns how many
        objects lost a tag."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            row = repo.get(conn, name)
            if row is None:
                raise not_found("No rule named %(name)r.", name=name)
            touched, lost_tlp = repo.remove_tags_added_by(conn, row.pk) if remove_tags else ([], [])
            self.tags.refresh_tlp(conn, lost_tlp)
            repo.delete(conn, row.pk)
            self.ctx.audit(
                conn, actor, "rule.delete", name, "tags removed" if remove_tags else None
            )
            # Counted over what the asker may read: a count is an answer too.
            shown = object_repo.get_many_by_pk(conn, sorted(set(touched)))
            return sum(1 for r in shown if actor.may_read(r.tlp, r.created_by))

    def export_yaml(self) -> str:
        rules = [r.definition | {"order": r.order, "enabled": r.enabled} for r in self.list()]
        ordered = [
            {k: r[k] for k in ("name", "description", "order", "enabled", "when", "then") if k in r}
            for r in rules
        ]
        return str(yaml.safe_dump({"rules": ordered}, allow_unicode=True, sort_keys=False))

    def import_yaml(self, actor: Actor, text: str, *, replace: bool = False) -> dict[str, int]:
        """Rules from YAML (``rules:`` list, or a bare list). Every rule is checked before
        any is stored; existing names are skipped, or replaced with ``replace``."""
        actor.require_write()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise rm.unreadable_yaml(exc) from exc
        items = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(items, builtins.list):
            raise invalid("Expected a list of rules (or a mapping with 'rules:').")
        specs = []
        for i, raw in enumerate(items):
            try:
                specs.append((raw, rm.parse_rule(raw)))
            except KizashiError as exc:
                raise invalid(
                    "Rule %(n)s: %(reason)s", exc.problems, n=i + 1, reason=exc.message
                ) from exc
        counts = {"created": 0, "replaced": 0, "skipped": 0}
        for raw, spec in specs:
            try:
                self.get(spec.name)
                exists = True
            except KizashiError:
                exists = False
            if exists and not replace:
                counts["skipped"] += 1
            elif exists:
                self.save(actor, raw, name=spec.name)
                counts["replaced"] += 1
            else:
                self.save(actor, raw)
                counts["created"] += 1
        return counts
