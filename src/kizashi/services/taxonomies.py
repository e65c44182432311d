"""MISP taxonomies (TLP 2.0, PAP, admiralty scale, …) from the ``pytaxonomies`` package.

The package ships every taxonomy's ``machinetag.json``, so nothing is fetched. An
admin enables the namespaces a team uses; a machine tag in an enabled namespace must
be one of its values, one in a known but disabled namespace is refused with a hint,
and one in a namespace no taxonomy defines is a team's own machine tag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytaxonomies

from kizashi.model.errors import Problem, invalid, not_found, problem
from kizashi.model.tags import TagName


@dataclass(frozen=True)
class Taxonomy:
    namespace: str
    description: str
    version: int
    exclusive: bool
    #: Every valid machine tag, with its expanded (human) text.
    tags: dict[str, str]


def _data_dir() -> Path:
    return Path(pytaxonomies.__file__).parent / "data" / "misp-taxonomies"


def _load_one(path: Path) -> Taxonomy:
    raw = json.loads(path.read_text(encoding="utf-8"))
    ns = raw["namespace"]
    values: dict[str, list[dict[str, str]]] = {
        v["predicate"]: v.get("entry", []) for v in raw.get("values", [])
    }
    tags: dict[str, str] = {}
    for pred in raw.get("predicates", []):
        p = pred["value"]
        entries = values.get(p)
        if entries:
            for e in entries:
                tags[f'{ns}:{p}="{e["value"]}"'] = e.get("expanded") or e["value"]
        else:
            tags[f"{ns}:{p}"] = pred.get("expanded") or p
    return Taxonomy(
        namespace=ns,
        description=raw.get("description", ""),
        version=int(raw.get("version", 0)),
        exclusive=bool(raw.get("exclusive", False)),
        tags=tags,
    )


@cache
def catalogue() -> dict[str, Taxonomy]:
    """Every taxonomy the package ships, by namespace (read once per process)."""
    out: dict[str, Taxonomy] = {}
    for path in sorted(_data_dir().glob("*/machinetag.json")):
        tax = _load_one(path)
        out[tax.namespace] = tax
    return out


@cache
def _by_lower() -> dict[str, Taxonomy]:
    return {ns.lower(): tax for ns, tax in catalogue().items()}


def find(namespace: str) -> Taxonomy | None:
    """A taxonomy by namespace, in any case (``pap`` finds ``PAP``)."""
    return _by_lower().get(namespace.lower())


def get(namespace: str) -> Taxonomy:
    tax = find(namespace)
    if tax is None:
        raise not_found("Taxonomy %(namespace)r was not found.", namespace=namespace)
    return tax


def spell(tag: TagName) -> TagName:
    """The tag as its taxonomy spells it (``pap:amber`` → ``PAP:AMBER``), else unchanged."""
    if tag.namespace is None:
        return tag
    tax = find(tag.namespace)
    if tax is None:
        return tag
    spelled = _spellings(tax.namespace).get(tag.name.lower())
    if spelled is None:
        return tag
    return TagName(spelled, tax.namespace, tag.predicate, tag.value)


@cache
def _spellings(namespace: str) -> dict[str, str]:
    return {t.lower(): t for t in catalogue()[namespace].tags}


def check(tag: TagName, enabled: set[str]) -> TagName:
    """The tag in its taxonomy's spelling; refuse one a known taxonomy does not define."""
    if tag.namespace is None:
        return tag
    tax = find(tag.namespace)
    if tax is None:
        return tag
    if tax.namespace not in enabled:
        raise invalid(
            "The %(taxonomy)r taxonomy is not enabled; an admin can enable it.",
            [Problem("tag", tag.name)],
            taxonomy=tax.namespace,
        )
    spelled = spell(tag)
    if spelled.name in tax.tags:
        return spelled
    prefix = f"{tax.namespace}:{tag.predicate}".lower()
    close = [t for t in tax.tags if t.lower().startswith(prefix)][:10]
    choices = close or list(tax.tags)[:10]
    raise invalid(
        "%(tag)r is not a value of the %(taxonomy)r taxonomy. Valid values include: %(choices)s",
        [
            problem(
                "tag",
                "%(tag)s is not in taxonomy %(taxonomy)s",
                tag=tag.name,
                taxonomy=tax.namespace,
            )
        ],
        tag=tag.name,
        taxonomy=tax.namespace,
        choices=", ".join(choices),
    )
