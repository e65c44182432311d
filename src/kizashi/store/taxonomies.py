"""Which MISP taxonomies an installation has enabled."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kizashi.store.schema import taxonomies


def states(conn: Connection) -> dict[str, bool]:
    return {
        ns: bool(en)
        for ns, en in conn.execute(sa.select(taxonomies.c.namespace, taxonomies.c.enabled))
    }


def set_enabled(conn: Connection, namespace: str, enabled: bool, at: str) -> None:
    done = conn.execute(
        taxonomies.update()
        .where(taxonomies.c.namespace == namespace)
        .values(enabled=enabled, changed_at=at)
    )
    if not done.rowcount:
        conn.execute(
            taxonomies.insert().values(namespace=namespace, enabled=enabled, changed_at=at)
        )
