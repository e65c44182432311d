"""The orders an object list can be read in, and keyset paging over each of them.

Each order is a sort key and the row's pk after it, so two rows never tie: a page
starts strictly after the (key, pk) of the last row of the one before (or, walking back,
strictly before the first row of the one after). No offsets: a row stored or changed
while someone pages moves at most itself, never a row into a page twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kizashi.store.rows import ObjectRow
from kizashi.store.schema import objects

#: Sort name → whether it runs newest (largest) first. ``stored`` is the pk alone.
DESCENDING = {"stored": True, "modified": True, "oldest": False, "created": True, "name": False}
SORTS = tuple(DESCENDING)


def sort_key(sort: str) -> sa.ColumnElement[str] | None:
    """The SQL sort key of ``sort`` (None: the pk alone). The column the list shows as
    "modified" is ``modified``, else the time Kizashi stored the change (observables
    have no ``modified``): :func:`key_of` says the same in Python."""
    c = objects.c
    if sort in ("modified", "oldest"):
        return sa.func.coalesce(c.modified, c.updated_at)
    if sort == "created":
        return sa.func.coalesce(c.created, c.updated_at)
    if sort == "name":
        return c.name
    return None


def key_of(sort: str, row: ObjectRow) -> str | None:
    """The sort key of a row read, as :func:`sort_key` computes it in SQL."""
    if sort in ("modified", "oldest"):
        return row.modified or row.updated_at
    if sort == "created":
        return row.created or row.updated_at
    if sort == "name":
        return row.name
    return None


@dataclass(frozen=True)
class Keyset:
    """Where a page starts: past the row with this sort key and pk, in the list's order,
    or (``backward``) before it, for the page before."""

    key: str | None
    pk: int
    backward: bool = False


def ordered(
    q: sa.Select[Any],
    conds: list[sa.ColumnElement[bool]],
    sort: str,
    pk: sa.ColumnElement[int],
    at: Keyset | None,
) -> sa.Select[Any]:
    """``q`` filtered by ``conds``, ordered by ``sort`` then ``pk``, from ``at`` on.
    Walking backward reads in the reverse order: the caller turns the rows round."""
    key = sort_key(sort)
    down = DESCENDING[sort] != (at is not None and at.backward)
    conds = list(conds)
    if at is not None:
        past_pk = pk < at.pk if down else pk > at.pk
        if key is None:
            conds.append(past_pk)
        else:
            past_key = key < at.key if down else key > at.key
            conds.append(sa.or_(past_key, sa.and_(key == at.key, past_pk)))
    order: list[sa.UnaryExpression[Any]] = [pk.desc() if down else pk.asc()]
    if key is not None:
        order.insert(0, key.desc() if down else key.asc())
    return q.where(*conds).order_by(*order)
