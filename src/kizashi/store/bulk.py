"""Many-row inserts straight through the driver's ``executemany``.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert for
simple rows; the statement is compiled once for the connection's dialect and the rows
go to the DB-API cursor as they are (tuples for positional paramstyles, dicts for named).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect


@functools.lru_cache(maxsize=256)
def _statement(
    table: sa.Table, keys: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...] | None]:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return str(compiled), order


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    sql, order = _statement(table, tuple(rows[0]), conn.dialect)
    # Positional paramstyles (SQLite's qmark) take tuples in the compiled order.
    params = [tuple(r[k] for k in order) for r in rows] if order is not None else list(rows)
    conn.exec_driver_sql(sql, params)
