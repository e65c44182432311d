"""Auto-tagging rules as data: conditions an item is tested against, actions when it matches.

A rule is plain data (what the API takes, what YAML export writes)::

    name: Ivanti
    order: 10
    enabled: true
    when:                      # one condition; all / any / not combine them
      any:
        - words: [Ivanti, CVE-2024-21887]        # any of these words (match: all for all)
        - query: 'tag:edge ランサムウェア NOT tag:test'
    then:
      add_tags: [product:ivanti]
      set_tlp: green           # never lowers a marking already there
      add_to_collection: Ivanti 2024
      relate: {relationship_type: related-to, target_ref: threat-actor--…}
      notify: true

Condition leaves: ``query`` (the search language), ``words`` (+ ``match: any|all``),
``phrase``, ``regex`` (+ ``ignore_case``), ``fuzzy`` (+ ``threshold`` 0–100), ``source``
(one of a list), ``language``, ``indicator`` (has an indicator of a kind), ``watchlist``
(literal values, thousands at once), ``auto`` (a model trained on analysts' tags proposes
the rule's tags as suggestions). Parsing checks everything and names the path of
what is wrong (``when.any[1].regex: …``); nothing half-valid is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kizashi.model import searchquery, tlp
from kizashi.model.errors import KizashiError, Problem, Text, invalid
from kizashi.model.observables import INDICATOR_KINDS
from kizashi.model.tags import parse_tag

LANGUAGES = ("ja", "en", "mixed")
MAX_WATCHLIST = 100_000
MAX_WORDS = 1_000
MAX_REGEX = 1_000
RELATIONSHIP_TYPE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
STIX_ID = re.compile(r"^[a-z0-9-]+--[0-9a-f-]{36}$")


@dataclass(frozen=True)
class Query:
    text: str
    expr: searchquery.Expr


@dataclass(frozen=True)
class Words:
    words: tuple[str, ...]
    all: bool = False


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class Regex:
    pattern: str
    ignore_case: bool = True


@dataclass(frozen=True)
class Fuzzy:
    text: str
    threshold: int = 85


@dataclass(frozen=True)
class Source:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Language:
    code: str


@dataclass(frozen=True)
class Indicator:
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Watchlist:
    values: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True)
class Auto:
    """Learned from how analysts tagged similar items: the rule's tags are proposed (as
    suggestions, never applied) when the model gives them at least ``threshold``."""

    threshold: float = 0.8


@dataclass(frozen=True)
class All:
    conds: tuple[Cond, ...]


@dataclass(frozen=True)
class AnyOf:
    conds: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    cond: Cond


Cond = (
    Query
    | Words
    | Phrase
    | Regex
    | Fuzzy
    | Source
    | Language
    | Indicator
    | Watchlist
    | Auto
    | All
    | AnyOf
    | Not
)


@dataclass(frozen=True)
class Relate:
    relationship_type: str
    target_ref: str


@dataclass(frozen=True)
class Actions:
    add_tags: tuple[str, ...] = ()
    set_tlp: str | None = None
    add_to_collection: str | None = None
    relate: Relate | None = None
    notify: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.add_tags or self.set_tlp or self.add_to_collection or self.relate or self.notify
        )


@dataclass(frozen=True)
class RuleSpec:
    name: str
    when: Cond
    then: Actions
    order: int = 100
    enabled: bool = True
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


class _Path:
    def __init__(self, parts: tuple[str, ...] = ()) -> None:
        self.parts = parts

    def __truediv__(self, part: str | int) -> _Path:
        if isinstance(part, int):
            return _Path(
                (*self.parts[:-1], f"{self.parts[-1]}[{part}]") if self.parts else (f"[{part}]",)
            )
        return _Path((*self.parts, part))

    def __str__(self) -> str:
        return ".".join(self.parts) or "rule"

    def fail(self, reason: Text) -> KizashiError:
        """The rule's error at this path (the problem repeats the reason, for the API)."""
        return invalid(
            "Rule: %(path)s: %(reason)s",
            [Problem.of(str(self), reason)],
            path=str(self),
            reason=reason,
        )


def _text(value: Any, path: _Path, *, limit: int = 10_000) -> str:
    if not isinstance(value, str) or not value.strip():
        raise path.fail(Text("must be non-empty text"))
    if len(value) > limit:
        raise path.fail(Text("is longer than %(n)s characters", {"n": limit}))
    return value


def _texts(value: Any, path: _Path, *, limit: int) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise path.fail(Text("must be a non-empty list of text"))
    if len(value) > limit:
        raise path.fail(Text("has more than %(n)s entries", {"n": limit}))
    return tuple(_text(v, path / i, limit=2_000) for i, v in enumerate(value))


LEAVES = {
    "query",
    "words",
    "phrase",
    "regex",
    "fuzzy",
    "source",
    "language",
    "indicator",
    "watchlist",
    "auto",
}
COMBINERS = {"all", "any", "not"}


def parse_condition(raw: Any, path: _Path | None = None) -> Cond:
    path = path or _Path(("when",))
    if not isinstance(raw, dict) or not raw:
        raise path.fail(Text("must be a mapping with one condition"))
    kinds = set(raw) & (LEAVES | COMBINERS)
    if len(kinds) != 1:
        expected = ", ".join(sorted(LEAVES | COMBINERS))
        raise path.fail(Text("needs exactly one of: %(kinds)s", {"kinds": expected}))
    (kind,) = kinds
    extra = set(raw) - {kind} - _OPTIONS.get(kind, set())
    if extra:
        raise path.fail(
            Text(
                "unknown key(s) %(keys)s for %(kind)r",
                {"keys": ", ".join(sorted(map(str, extra))), "kind": kind},
            )
        )
    value = raw[kind]
    here = path / kind
    if kind in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise here.fail(Text("must be a non-empty list of conditions"))
        conds = tuple(parse_condition(c, here / i) for i, c in enumerate(value))
        return All(conds) if kind == "all" else AnyOf(conds)
    if kind == "not":
        return Not(parse_condition(value, here))
    return _leaf(kind, value, raw, path, here)


def _leaf(kind: str, value: Any, raw: dict[str, Any], path: _Path, here: _Path) -> Cond:
    if kind == "query":
        text = _text(value, here, limit=searchquery.MAX_LENGTH)
        try:
            expr = searchquery.parse(text)
        except KizashiError as exc:
            raise here.fail(Text(exc.template, exc.values)) from exc
        return Query(text, expr)
    if kind == "words":
        match = raw.get("match", "any")
        if match not in ("any", "all"):
            raise (path / "match").fail(Text("must be any or all"))
        return Words(_texts(value, here, limit=MAX_WORDS), all=match == "all")
    if kind == "phrase":
        return Phrase(_text(value, here, limit=2_000))
    if kind == "auto":
        threshold = value.get("threshold", 0.8) if isinstance(value, dict) else value
        if threshold is True:
            threshold = 0.8
        if not isinstance(threshold, int | float) or isinstance(threshold, bool):
            raise here.fail(Text("is true, or {threshold: 0.5–0.99}"))
        if not 0.5 <= threshold < 1:
            raise here.fail(Text("threshold must be from 0.5 to 0.99"))
        return Auto(float(threshold))
    if kind == "regex":
        pattern = _text(value, here, limit=MAX_REGEX)
        ignore_case = raw.get("ignore_case", True)
        if not isinstance(ignore_case, bool):
            raise (path / "ignore_case").fail(Text("must be true or false"))
        _check_regex(pattern, ignore_case, here)
        return Regex(pattern, ignore_case)
    if kind == "fuzzy":
        threshold = raw.get("threshold", 85)
        if not isinstance(threshold, int | float) or not 50 <= threshold <= 100:
            raise (path / "threshold").fail(Text("must be a number from 50 to 100"))
        return Fuzzy(_text(value, here, limit=500), int(threshold))
    if kind == "source":
        return Source(_texts(value, here, limit=1_000))
    if kind == "language":
        if value not in LANGUAGES:
            raise here.fail(Text("must be one of %(choices)s", {"choices": ", ".join(LANGUAGES)}))
        return Language(str(value))
    if kind == "indicator":
        kinds_asked = _texts(value, here, limit=50)
        unknown = [k for k in kinds_asked if k not in INDICATOR_KINDS]
        if unknown:
            raise here.fail(
                Text("unknown indicator kind(s) %(kinds)s", {"kinds": ", ".join(unknown)})
            )
        return Indicator(kinds_asked)
    # watchlist
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise (path / "name").fail(Text("must be text"))
    return Watchlist(_texts(value, here, limit=MAX_WATCHLIST), name)


_OPTIONS = {
    "words": {"match"},
    "regex": {"ignore_case"},
    "fuzzy": {"threshold"},
    "watchlist": {"name"},
}


def _check_regex(pattern: str, ignore_case: bool, path: _Path) -> None:
    import regex

    try:
        regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error as exc:
        raise path.fail(
            Text("is not a valid regular expression: %(reason)s", {"reason": str(exc)})
        ) from exc
    if regex.fullmatch(pattern, "", timeout=0.05) is not None:
        raise path.fail(Text("matches empty text, so it would match everything"))


def parse_actions(raw: Any) -> Actions:
    path = _Path(("then",))
    if not isinstance(raw, dict):
        raise path.fail(Text("must be a mapping of actions"))
    extra = set(raw) - {"add_tags", "set_tlp", "add_to_collection", "relate", "notify"}
    if extra:
        raise path.fail(
            Text("unknown action(s) %(keys)s", {"keys": ", ".join(sorted(map(str, extra)))})
        )
    tags: tuple[str, ...] = ()
    if "add_tags" in raw:
        tags = _texts(raw["add_tags"], path / "add_tags", limit=100)
        for i, t in enumerate(tags):
            try:
                parse_tag(t)
            except KizashiError as exc:
                raise (path / "add_tags" / i).fail(Text(exc.template, exc.values)) from exc
    level = None
    if raw.get("set_tlp") is not None:
        level = tlp.normalise(str(raw["set_tlp"]))
        if level is None:
            raise (path / "set_tlp").fail(
                Text("must be one of %(choices)s", {"choices": ", ".join(tlp.LEVELS)})
            )
    collection = None
    if raw.get("add_to_collection") is not None:
        collection = _text(raw["add_to_collection"], path / "add_to_collection", limit=200)
    relate = None
    if raw.get("relate") is not None:
        r = raw["relate"]
        rp = path / "relate"
        if not isinstance(r, dict):
            raise rp.fail(Text("must be a mapping with relationship_type and target_ref"))
        rtype = r.get("relationship_type", "related-to")
        target = r.get("target_ref")
        if not isinstance(rtype, str) or not RELATIONSHIP_TYPE.match(rtype):
            raise (rp / "relationship_type").fail(
                Text("must be lower-case words joined by hyphens")
            )
        if not isinstance(target, str) or not STIX_ID.match(target):
            raise (rp / "target_ref").fail(Text("must be a STIX id (type--uuid)"))
        relate = Relate(rtype, target)
    notify = raw.get("notify", False)
    if not isinstance(notify, bool):
        raise (path / "notify").fail(Text("must be true or false"))
    actions = Actions(tags, level, collection, relate, notify)
    if actions.empty:
        raise path.fail(Text("needs at least one action"))
    return actions


def parse_rule(raw: Any) -> RuleSpec:
    """A rule from its data (API body, YAML entry); raises ``invalid`` naming the path."""
    root = _Path(())
    if not isinstance(raw, dict):
        raise root.fail(Text("must be a mapping"))
    extra = set(raw) - {"name", "order", "enabled", "description", "when", "then"}
    if extra:
        raise root.fail(
            Text("unknown key(s) %(keys)s", {"keys": ", ".join(sorted(map(str, extra)))})
        )
    name = _text(raw.get("name"), _Path(("name",)), limit=200).strip()
    order = raw.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        raise _Path(("order",)).fail(Text("must be a whole number"))
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _Path(("enabled",)).fail(Text("must be true or false"))
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise _Path(("description",)).fail(Text("must be text"))
    if "when" not in raw:
        raise _Path(("when",)).fail(Text("is required"))
    if "then" not in raw:
        raise _Path(("then",)).fail(Text("is required"))
    when = parse_condition(raw["when"])
    then = parse_actions(raw["then"])
    if uses_auto(when) and not then.add_tags:
        raise _Path(("then", "add_tags")).fail(Text("an auto rule needs the tags it proposes"))
    clean = {
        "name": name,
        "order": order,
        "enabled": enabled,
        "description": description,
        "when": raw["when"],
        "then": raw["then"],
    }
    return RuleSpec(name, when, then, order, enabled, description, clean)


def uses_auto(cond: Cond) -> bool:
    match cond:
        case Auto():
            return True
        case All(conds=conds) | AnyOf(conds=conds):
            return any(uses_auto(c) for c in conds)
        case Not(cond=inner):
            return uses_auto(inner)
    return False


def unreadable_yaml(exc: Exception) -> KizashiError:
    """A YAML parser's error (PyYAML's ``MarkedYAMLError``) as the page says it: the line
    and column (1-based) where the parser stopped, then its own words (English)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    reason = str(getattr(exc, "problem", None) or exc).strip()
    if mark is None:
        return invalid("Not readable YAML: %(reason)s", [Problem("yaml", reason)], reason=reason)
    line, column = int(mark.line) + 1, int(mark.column) + 1
    error = invalid(
        "Not readable YAML: line %(line)s, column %(column)s: %(reason)s",
        [Problem("yaml", reason)],
        line=line,
        column=column,
        reason=reason,
    )
    error.extra["line"] = line
    return error
