"""Alembic creates exactly the tables the code declares, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import FakeClock
from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from kizashi.store.engine import Store, alembic_config
from kizashi.store.schema import metadata


def test_migrated_schema_matches_the_declared_one(db_url: str) -> None:
    store = Store.open(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.dispose()
    assert diff == []


def test_opening_twice_is_harmless(db_url: str) -> None:
    Store.open(db_url).dispose()
    Store.open(db_url).dispose()


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(f"sqlite:///{tmp_path / 'k.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    store.dispose()


def test_the_search_outbox_triggers_survive_every_migration(db_url: str) -> None:
    # On SQLite a "batch" migration copies a table into a new one, without its triggers:
    # the search index would silently stop seeing changes. Every write of an object, its
    # tags and its edits must still leave outbox rows after all migrations.
    import sqlalchemy as sa

    from kizashi.model.actor import SYSTEM
    from kizashi.services import Kizashi
    from kizashi.store.schema import objects, search_outbox

    kz = Kizashi.open(db_url)
    try:
        view, _ = kz.objects.create(
            SYSTEM,
            {
                "type": "note",
                "content": "outbox",
                "object_refs": ["identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"],
            },
        )
        with kz.store.read() as conn:
            pk = conn.execute(sa.select(objects.c.pk).where(objects.c.id == view.id)).scalar_one()

        def rows() -> int:
            with kz.store.read() as conn:
                q = sa.select(sa.func.count()).where(search_outbox.c.object_pk == pk)
                return int(conn.execute(q).scalar_one())

        created = rows()
        kz.objects.update(SYSTEM, view.id, {"content": "outbox, edited"})
        edited = rows()
        kz.tags.tag(SYSTEM, view.id, ["seen"])
        assert 0 < created < edited < rows()
    finally:
        kz.close()


def test_indicators_stored_before_pattern_values_are_looked_up_after_it(kz: Kizashi) -> None:
    made, *_ = kz.objects.create(
        SYSTEM,
        {
            "type": "indicator",
            "pattern": "[domain-name:value = 'old.example'] OR [ipv4-addr:value = '192.0.2.9']",
            "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
        },
    )
    config = alembic_config(kz.ctx.store.engine)
    command.downgrade(config, "0014")  # as an installation before 0015 had it
    command.upgrade(config, "head")
    found = kz.indicators.lookup(SYSTEM, ["old.example", "192.0.2.9"])
    assert [(made.id, "indicator") in f.objects for f in found] == [True, True]


def test_objects_stored_before_stored_at_get_the_time_of_their_first_version(
    kz: Kizashi, clock: FakeClock
) -> None:
    """Migration 0021 fills stored_at from an object's first kept version, else from
    updated_at (an object never changed)."""
    edited, _ = kz.objects.create(
        SYSTEM, {"type": "report", "name": "old", "published": "2024-01-01T00:00:00Z"}
    )
    first = kz.objects.get(SYSTEM, edited.id).stored_at
    clock.tick(3600)
    kz.objects.update(SYSTEM, edited.id, {"description": "changed an hour later"})
    alone, _ = kz.objects.create(
        SYSTEM, {"type": "report", "name": "new", "published": "2024-01-01T00:00:00Z"}
    )
    config = alembic_config(kz.ctx.store.engine)
    # As an installation before 0021 had it. Not by downgrading: on SQLite the batch
    # downgrade rebuilds the table, and dropping the old one cascades to its versions.
    with kz.ctx.store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE objects DROP COLUMN stored_at")
    command.stamp(config, "0020")
    command.upgrade(config, "head")
    again = kz.objects.get(SYSTEM, edited.id)
    assert again.stored_at == first and again.updated_at != first
    untouched = kz.objects.get(SYSTEM, alone.id)
    assert untouched.stored_at == untouched.updated_at
