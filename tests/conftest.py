"""Fixtures: every store and API test runs on SQLite and on PostgreSQL.

As starlette runs each test under every async backend, ``backend`` is one
parametrised fixture. PostgreSQL tests skip with a reason when no server answers,
unless ``KIZASHI_REQUIRE_SERVICES=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kizashi.cli import app
from kizashi.config import Settings
from kizashi.model.actor import SYSTEM, Actor
from kizashi.server import create_app
from kizashi.services import Kizashi
from kizashi.store.engine import Store
from kizashi.store.schema import metadata
from support import need, shared_data

__all__ = ["need", "shared_data"]

PG_ADMIN_URL = os.environ.get(
    "KIZASHI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class FakeClock:
    """A clock the test moves: versions and timestamps without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own, migrated, dropped afterwards."""
    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = f"kizashi_test_{uuid.uuid4().hex[:10]}"
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        need(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        Store.open(url).dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One throwaway PostgreSQL database for the session."""
    with throwaway_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_database_2() -> Iterator[str]:
    """A second one, for tests that compare two stores built side by side."""
    with throwaway_pg_database() as url:
        yield url


def truncate_pg(url: str) -> None:
    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'kizashi.db'}"
    url: str = request.getfixturevalue("pg_database")
    truncate_pg(url)
    return url


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """An empty PostgreSQL store, for what only PostgreSQL does (several machines)."""
    truncate_pg(pg_database)
    return pg_database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kz(db_url: str, clock: FakeClock) -> Iterator[Kizashi]:
    app = Kizashi.open(db_url, clock=clock)
    yield app
    app.close()


@pytest.fixture
def admin(kz: Kizashi) -> Actor:
    kz.users.create(SYSTEM, "alice", "correct horse battery", "admin")
    return kz.users.get_actor("alice")


@pytest.fixture
def analyst(kz: Kizashi) -> Actor:
    kz.users.create(SYSTEM, "ana", "analyst password", "analyst")
    return kz.users.get_actor("ana")


@pytest.fixture
def reader(kz: Kizashi) -> Actor:
    kz.users.create(SYSTEM, "rei", "reader password", "reader")
    return kz.users.get_actor("rei")


# -- interfaces shared by several test files ----------------------------------------------
@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KIZASHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIZASHI_DATABASE_URL", db_url)
    monkeypatch.delenv("KIZASHI_USER", raising=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), input=stdin)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    return invoke


@pytest.fixture
def api(kz: Kizashi, tmp_path: Path) -> Iterator[TestClient]:
    """The app without a browser session: API calls carry tokens."""
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret")
    with TestClient(create_app(settings, kz)) as client:
        yield client


@pytest.fixture
def web(kz: Kizashi, tmp_path: Path) -> Iterator[TestClient]:
    kz.users.create(SYSTEM, "alice", "alice-password", "admin")
    kz.users.create(SYSTEM, "ana", "analyst-password", "analyst")
    kz.users.create(SYSTEM, "rei", "reader-password", "reader")
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret")
    with TestClient(create_app(settings, kz)) as client:
        yield client
