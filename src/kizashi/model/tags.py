"""Tag names: free tags and MISP-style machine tags.

A machine tag is ``namespace:predicate`` or ``namespace:predicate="value"``
(``tlp:amber``, ``admiralty-scale:source-reliability="b"``). Anything else that
is printable is a free tag (``ransomware``, ``ランサムウェア``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from kizashi.model.errors import Problem, invalid, problem
from kizashi.model.width import fold_width

MAX_TAG_LENGTH = 255
MAX_NAMESPACE_LENGTH = 100

_MACHINE = re.compile(
    r'^(?P<ns>[A-Za-z0-9][A-Za-z0-9_.\-]*):(?P<pred>[^\s="]+)(?:="(?P<value>[^"]*)")?$'
)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class TagName:
    name: str
    namespace: str | None = None
    predicate: str | None = None
    value: str | None = None

    @property
    def is_machine(self) -> bool:
        return self.namespace is not None


@lru_cache(maxsize=8192)
def parse_tag(raw: str) -> TagName:
    """Validate and canonicalise one tag name (remembered: rules add the same tags to
    item after item, and the result is frozen).

    ``TLP:AMBER`` becomes ``tlp:amber``; other tags are kept as typed after NFC
    normalisation (so Japanese round-trips exactly) and width folding (``ＡＰＴ４１`` is
    ``APT41``, ``ﾗﾝｻﾑｳｪｱ`` is ``ランサムウェア``: model/width.py), and a taxonomy's own
    spelling is applied by the tag service.
    """
    name = fold_width(unicodedata.normalize("NFC", raw)).strip()
    if not name:
        raise invalid("A tag name cannot be empty.", [Problem("tag", "empty")])
    if len(name) > MAX_TAG_LENGTH:
        raise invalid(
            "A tag name is at most %(n)s characters.",
            [problem("tag", "%(n)s characters", n=len(name))],
            n=MAX_TAG_LENGTH,
        )
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise invalid("A tag name cannot contain control characters.", [Problem("tag", repr(name))])
    m = _MACHINE.match(name)
    if not m:
        return TagName(name)
    ns, pred, value = m["ns"], m["pred"], m["value"]
    if len(ns) > MAX_NAMESPACE_LENGTH:
        raise invalid(
            "A tag namespace is at most %(n)s characters.",
            [problem("tag", "namespace of %(n)s characters", n=len(ns))],
            n=MAX_NAMESPACE_LENGTH,
        )
    if ns.lower() == "tlp":
        # TLP is everywhere and typed every way (TLP:AMBER, tlp:Amber): one spelling,
        # and TLP 1.0's white is TLP 2.0's clear.
        ns, pred = "tlp", pred.lower()
        if pred == "white":
            pred = "clear"
    canonical = f"{ns}:{pred}" + (f'="{value}"' if value is not None else "")
    return TagName(canonical, ns, pred, value)


def check_colour(colour: str | None) -> str | None:
    if colour is None or colour == "":
        return None
    if not _COLOUR.match(colour):
        raise invalid(
            "A colour is written #rrggbb.",
            [problem("colour", "%(colour)r is not #rrggbb", colour=colour)],
        )
    return colour.lower()
