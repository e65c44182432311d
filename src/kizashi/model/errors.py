"""Errors the domain and services raise; interfaces map ``code`` to a status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, eq=False)
class Text:
    """A phrase put into another message (a parser's reason inside "Search query: …"),
    said in the reader's language as the message is: ``template`` is its catalogue id
    (``pybabel extract`` finds ``Text("…")``), ``values`` what goes into it. ``str()``
    gives the English, which the API and the logs say. Put in with ``%(name)s``."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % dict(self.values) if self.values else self.template


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, and why, in words.

    ``msg`` is English; ``template`` and ``values`` are what it was made of, for the UI
    to say it in the reader's language (see :func:`problem`; a literal ``msg`` is its
    own template)."""

    loc: str
    msg: str
    template: str = ""
    values: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.template:
            object.__setattr__(self, "template", self.msg)

    @classmethod
    def of(cls, loc: str, reason: Text) -> Problem:
        """The problem at ``loc`` whose reason is ``reason``."""
        return cls(loc, str(reason), reason.template, reason.values)

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "msg": self.msg}


def problem(loc: str, template: str, **values: Any) -> Problem:
    """A problem whose reason is ``template`` with ``values`` put in (``%(n)s``)."""
    return Problem.of(loc, Text(template, values))


@dataclass
class KizashiError(Exception):
    """Base error: a machine-readable ``code`` and a human sentence.

    ``message`` is English (the API and the logs say it). ``template`` is the message
    before ``values`` were put in (``"Unknown time zone %(zone)r."``): the id the UI looks
    up in its catalogue to say it in the reader's language (``web/i18n.error_message``).
    The factories below set both; ``pybabel extract`` finds their literal messages.
    """

    message: str
    code: str = "error"
    problems: list[Problem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    template: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.template:
            self.template = self.message

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  {p.loc}: {p.msg}" for p in self.problems]
        return "\n".join(lines)


def failure(
    template: str, code: str, problems: list[Problem] | None = None, **values: Any
) -> KizashiError:
    """An error whose message is ``template`` with ``values`` put in (``%(name)s``; a
    template without values is taken as it is, ``%`` included)."""
    message = template % values if values else template
    return KizashiError(message, code, problems or [], template=template, values=values)


def invalid(message: str, problems: list[Problem] | None = None, **values: Any) -> KizashiError:
    return failure(message, "validation_failed", problems, **values)


def not_found(message: str, **values: Any) -> KizashiError:
    """Something asked for is not there (or not for this reader): ``message`` is the
    whole sentence, ``"Tag %(name)r was not found."``."""
    return failure(message, "not_found", **values)


def conflict(message: str, **values: Any) -> KizashiError:
    return failure(message, "conflict", **values)


def forbidden(
    message: str = "Your role does not allow this action.", **values: Any
) -> KizashiError:
    return failure(message, "forbidden", **values)


def unauthenticated(message: str = "Log in or send an API token.", **values: Any) -> KizashiError:
    return failure(message, "unauthenticated", **values)
