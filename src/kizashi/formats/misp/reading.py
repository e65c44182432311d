"""Reading MISP events as STIX 2.1, the way misp-stix maps them.

The input is one event (``{"Event": {...}}`` or the event itself), a list of them, or a
REST answer (``{"response": [...]}``); a galaxy with its clusters (``GalaxyCluster``) is
read as :mod:`.galaxy` reads one. It is read one event at a time
(:func:`kizashi.formats.jsonstream.items`, within the limits), and each event goes
through misp-stix's ``MISPtoSTIX21Parser`` on its own: an event misp-stix cannot convert
is one :class:`Rejected` item, and the events after it go on. A record of an event that
cannot be imported (an attribute whose value does not fit its type, say) is one
Rejected item, with the record's uuid, type and why; the rest of the event is imported.

Where Kizashi departs from misp-stix, and why:

- **The same STIX every time.** misp-stix and pymisp fill what an event leaves out from
  the clock and the random generator. Kizashi fills it first: a uuid that is missing or
  is not a UUID (the PyMISP test files use ``"a"``) is a UUIDv5 of what the record
  holds (an event's of its whole content), and the references to it follow; a missing
  timestamp is the one of the record that holds it (an event's: its
  ``publish_timestamp``, else its ``date``, else 1970-01-01); a time misp-stix still
  takes from the clock is the event's. Importing an event twice changes nothing.
- **An event without ``info``** (pymisp refuses to load it) is named
  ``MISP event <uuid>``.
- **TLP.** A TLP tag in any case (``TLP:AMBER``) is read as the lower-case tag misp-stix
  knows, so it becomes the standard marking definition (TLP 1.0's for
  white/green/amber/red and 2.0's for clear/amber+strict, as misp-stix has them) and
  Kizashi sets the object's TLP. misp-stix marks only the event's report with the
  event's TLP; Kizashi marks everything the event holds that has no TLP of its own
  with it too, as MISP applies it, so an attribute of a TLP:RED event is never visible
  to all. Not marked: the event's organisation and a galaxy's own clusters
  (``default: true``), which are not the event's to restrict.
- **Galaxies.** Older MISP gives every cluster of a galaxy the galaxy's uuid: misp-stix
  would keep the first cluster of each galaxy only (``existing_event.json`` names four
  tools, it kept one); those clusters get a uuid derived from their type and value.
  Cluster objects are dated by their version and malware clusters are families (see
  :mod:`.galaxy`).
- **Nothing dropped without a word.** A record misp-stix leaves out without saying why
  is kept as the custom object misp-stix makes for what it cannot map
  (``x-misp-attribute``, ``x-misp-object``). What cannot be imported is reported:
  a value that is not text (misp-stix would write ``{'a': 1}`` as a URL), a value
  pymisp refuses for its type, a proposal (``ShadowAttribute``, not the event's until
  accepted in MISP), an expiration sighting (no STIX form), an event misp-stix cannot
  convert. misp-stix's remarks on how it mapped something (``type text not mapped``)
  and an event without an organisation (its objects just have no ``created_by_ref``)
  are not problems.
- **Deleted records** (``deleted: true``) are imported revoked, so that a copy imported
  before MISP deleted them is revoked too.

Not read: an event's ``RelatedEvent`` list (links to other events, which misp-stix does
not map either).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from kizashi.formats.contract import FormatError, Limits, Rejected
from kizashi.formats.jsonstream import items
from kizashi.formats.misp.convert import UnconvertibleError, convert
from kizashi.formats.misp.galaxy import clusters_of, galaxy_of
from kizashi.formats.misp.prepare import prepare
from kizashi.model.errors import Text

_EVENT_KEYS = ("info", "Attribute", "Object", "threat_level_id", "EventReport")
_BUNDLE = re.compile(rb'"type"\s*:\s*"bundle"')


def read(source: IO[bytes], limits: Limits) -> Iterator[Any]:
    """The STIX objects of each event of the input, and what could not be read."""
    found = 0
    refused: Rejected | None = None
    for index, item in enumerate(items(source, limits, under="response")):
        kind, content = _classify(item)
        if kind == "event":
            found += 1
            yield from _event(index, content)
        elif kind == "galaxy":
            found += 1
            yield from _galaxy(index, content)
        else:
            refused = refused or Rejected(index, content)
            yield Rejected(index, content)
    if not found:
        why = refused.why if refused else "it is empty"
        raise FormatError(f"The file holds no MISP event: {why}.")


def sniff(head: bytes) -> bool:
    """MISP event JSON: an ``Event``, an event's own fields, or a REST answer of events;
    never a STIX bundle."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith((b"{", b"[")):
        return False
    if _BUNDLE.search(text) or b'"spec_version"' in text:
        return False
    if b'"Event"' in text:
        return True
    has_info = b'"info"' in text
    if b'"response"' in text and (has_info or b'"Attribute"' in text):
        return True
    if has_info and any(k in text for k in (b'"threat_level_id"', b'"Attribute"', b'"analysis"')):
        return True
    # A bare event whose attributes come first: ``info`` may lie beyond the first bytes,
    # but MISP's attributes are recognisable (a category and to_ids), and a galaxy has
    # ``values``, not ``Attribute``.
    attributes = text.lstrip(b"{ \t\r\n").startswith(b'"Attribute"')
    return attributes and b'"to_ids"' in text and b'"category"' in text


def _classify(item: Any) -> tuple[str, Any]:
    """What an item of the input is: ("event", the event), ("galaxy", the galaxy), or
    ("refused", why not)."""
    if not isinstance(item, dict):
        return "refused", f"not a MISP event but a JSON {_kind(item)}"
    if "Event" in item:
        if isinstance(item["Event"], dict):
            return "event", item["Event"]
        return "refused", f"its 'Event' is a JSON {_kind(item['Event'])}, not an object"
    if "GalaxyCluster" in item:
        return "galaxy", item
    if "response" in item:
        return "refused", "a MISP answer that holds no list of events (an attribute search?)"
    if any(k in item for k in _EVENT_KEYS):
        return "event", item
    if not item:
        return "refused", "an empty JSON object, not a MISP event"
    if "values" in item and "uuid" in item:
        return "refused", "a galaxy's cluster file, which the misp-galaxy format reads"
    if "type" in item and "value" in item:
        return "refused", (
            "a single record with a type and a value but no event (a MISP sighting or "
            "attribute on its own); Kizashi imports them with the event they belong to"
        )
    keys = ", ".join(sorted(str(k) for k in item)[:6])
    return "refused", f"not a MISP event: it has none of Event, info, Attribute, Object ({keys})"


def _event(index: int, event: dict[str, Any]) -> Iterator[Any]:
    prepared = prepare(event)
    try:
        objects, problems = convert(prepared)
    except UnconvertibleError as exc:
        why = Text(
            "event %(uuid)s: misp-stix could not convert it: %(error)s",
            {"uuid": prepared.uuid, "error": str(exc)},
        )
        yield Rejected(index, why, where="Event")
        return
    for problem in problems:
        where = f"Event.{problem.where}" if problem.where else "Event"
        yield Rejected(index, problem.why, where=where)
    yield from objects


def _galaxy(index: int, item: dict[str, Any]) -> Iterator[Any]:
    """A galaxy among events: its clusters, or one refusal for the galaxy."""
    try:
        galaxy, clusters = galaxy_of(item)
        made = list(clusters_of(galaxy, clusters, index))
    except FormatError as exc:
        yield Rejected(index, exc.message, where="Galaxy")
        return
    yield from made


def _kind(value: Any) -> str:
    return {list: "list", str: "string", type(None): "null", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )
