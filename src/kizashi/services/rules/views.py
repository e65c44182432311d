"""What the rule service answers: a stored rule, a test's result, a run's progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kizashi.store.rules import RuleRow


@dataclass(frozen=True)
class RuleView:
    name: str
    order: int
    enabled: bool
    version: int
    definition: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, r: RuleRow) -> RuleView:
        return cls(
            r.name, r.position, r.enabled, r.version, r.definition, r.created_at, r.updated_at
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "order": self.order,
            "enabled": self.enabled,
            "version": self.version,
            "when": self.definition.get("when"),
            "then": self.definition.get("then"),
            "description": self.definition.get("description", ""),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Sample:
    id: str
    title: str
    why: list[str]
    snippet_html: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "why": self.why, "snippet": self.snippet_html}


@dataclass(frozen=True)
class TestResult:
    matched: int
    sample: list[Sample]

    def as_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "sample": [s.as_dict() for s in self.sample]}


@dataclass(frozen=True)
class RunView:
    id: int
    rule: str | None
    status: str
    total: int
    done: int
    matched: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "status": self.status,
            "total": self.total,
            "done": self.done,
            "matched": self.matched,
            "error": self.error,
        }
