"""Errors the domain and services raise; interfaces map ``code`` to a status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, and why, in words."""

    loc: str
    msg: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "msg": self.msg}


@dataclass
class KizashiError(Exception):
    """Base error: a machine-readable ``code`` and a human sentence."""

    message: str
    code: str = "error"
    problems: list[Problem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  {p.loc}: {p.msg}" for p in self.problems]
        return "\n".join(lines)


def invalid(message: str, problems: list[Problem] | None = None) -> KizashiError:
    return KizashiError(message, "validation_failed", problems or [])


def not_found(what: str) -> KizashiError:
    return KizashiError(f"{what} was not found.", "not_found")


def conflict(message: str) -> KizashiError:
    return KizashiError(message, "conflict")


def forbidden(message: str = "Your role does not allow this action.") -> KizashiError:
    return KizashiError(message, "forbidden")


def unauthenticated(message: str = "Log in or send an API token.") -> KizashiError:
    return KizashiError(message, "unauthenticated")
