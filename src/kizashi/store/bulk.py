"""Many-row inserts straight through the driver's ``executemany``.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert for
simple rows; the statement is compiled once for the connection's dialect and the rows
go to the DB-API cursor as they are (tuples for positional paramstyles, dicts for named).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    params: list[Any]
    if compiled.positional:
        order = compiled.positiontup or []
        params = [tuple(r[k] for k in order) for r in rows]
    else:
        params = list(rows)
    conn.exec_driver_sql(str(compiled), params)
