"""Object list cursors: opaque to callers, they say where a page starts in one order.

A cursor of the stored order, forward, is ``pk:<pk>`` (as lists always wrote them); any
other is ``[direction, sort, pk, key]`` as JSON. Both are base64url, unpadded. A cursor
is only good for the order it was made in: another order's would skip or repeat rows.
"""

from __future__ import annotations

import base64
import binascii
import json

from kizashi.model.errors import KizashiError, Problem, invalid
from kizashi.store.listing import SORTS, Keyset


def encode_cursor(at: Keyset, sort: str = "stored") -> str:
    if sort == "stored" and not at.backward:
        raw = f"pk:{at.pk}"
    else:
        direction = "b" if at.backward else "f"
        raw = json.dumps(
            [direction, sort, at.pk, at.key], ensure_ascii=False, separators=(",", ":")
        )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str = "stored") -> Keyset:
    """The place ``cursor`` names, for a list in order ``sort``; a cursor that is not
    one of ours, or one of another order, is refused (400 on the list page)."""
    made_for, at = _parse(cursor)
    if at is None:
        raise invalid("The cursor is not one this server gave out.", [Problem("cursor", cursor)])
    if made_for != sort:
        raise invalid(
            "This cursor belongs to another sort order; start again without it.",
            [Problem("cursor", cursor)],
        )
    return at


def is_cursor_error(exc: KizashiError) -> bool:
    """Whether ``exc`` refuses a cursor (a bad link, not a bad filter)."""
    return any(p.loc == "cursor" for p in exc.problems)


def _parse(cursor: str) -> tuple[str, Keyset | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw.startswith("pk:"):
            return "stored", Keyset(None, int(raw[3:]))
        direction, sort, pk, key = json.loads(raw)
    except (ValueError, UnicodeDecodeError, binascii.Error, TypeError):
        return "", None
    well_formed = (
        direction in ("f", "b")
        and sort in SORTS
        and isinstance(pk, int)
        and not isinstance(pk, bool)
        and (key is None if sort == "stored" else isinstance(key, str))
    )
    if not well_formed:
        return "", None
    return sort, Keyset(key, pk, backward=direction == "b")
