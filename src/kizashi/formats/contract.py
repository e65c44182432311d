"""The contract every format plugin meets (``docs/plugins.md`` explains it for authors).

A format turns bytes into STIX 2.1 objects (``read``), STIX 2.1 objects into bytes
(``write``), or both. STIX is Kizashi's vocabulary: a MISP event, a CSV of indicators, a
vendor's JSON are read *into* STIX objects, and written *from* them. Everything else
(checking each object, versions, tags and TLP, extraction, rules, the index, who may read
what) is Kizashi's, the same for every format, so a plugin is small and cannot get any of
it wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from kizashi.model.errors import Text


class FormatError(Exception):
    """The input as a whole is unreadable (not JSON, truncated, past a limit): nothing of
    it is stored, and the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Rejected:
    """One item a reader could not make a STIX object of: reported and skipped, while
    the rest of the input goes on."""

    #: The item's position in the input (0-based), as the reader counts items.
    index: int
    #: Why, in words an analyst can act on: English, or a catalogue phrase
    #: (:class:`kizashi.model.errors.Text`) that a page says in its reader's language and
    #: the API in English (``str()``).
    why: str | Text
    #: Its id, if it has one.
    id: str | None = None
    #: Where in the item (a property path such as ``objects[3].pattern``), if known.
    where: str = ""


@dataclass(frozen=True)
class Limits:
    """What a reader may build from untrusted input. A reader that builds its items from
    a parser's events checks them as it goes (see :mod:`kizashi.formats.jsonstream`)."""

    max_depth: int = 64
    #: Characters in one string (a report's text may be long, never this long).
    max_string: int = 16_000_000
    #: JSON values (of any kind) in one item.
    max_item_events: int = 2_000_000
    #: Items in one input.
    max_items: int = 10_000_000


#: ``read(source, limits)``: the input's items, one at a time, each a STIX object (a
#: ``dict``) or a :class:`Rejected`; raises :class:`FormatError` when the input as a whole
#: cannot be read. It may be called twice on the same bytes (a preview, then the import).
Read = Callable[[IO[bytes], Limits], Iterator[Any]]
#: ``write(objects, out)``: the STIX objects, as this format's bytes.
Write = Callable[[Iterable[dict[str, Any]], IO[bytes]], None]
#: ``sniff(head)``: whether the input's first 4 KB look like this format.
Sniff = Callable[[bytes], bool]


@dataclass(frozen=True)
class Format:
    """What a plugin registers under the ``kizashi.formats`` entry-point group."""

    #: The key users name it by (``--format stix``, ``?format=stix``): lower-case.
    name: str
    #: How the UI names it.
    title: str
    media_type: str = "application/octet-stream"
    #: The file extension an export is named with (without the dot).
    extension: str = "bin"
    read: Read | None = None
    write: Write | None = None
    sniff: Sniff | None = None

    @property
    def can_read(self) -> bool:
        return self.read is not None

    @property
    def can_write(self) -> bool:
        return self.write is not None
