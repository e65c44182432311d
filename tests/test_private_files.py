"""What Kizashi keeps on disk is its user's alone: the data directory 0700, the database,
its -wal and -shm, the search index, the job queue and the session key 0600, whatever
the umask, and an install from before is tightened when it is opened."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kizashi.config import Settings
from kizashi.jobs.queue import make_huey
from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def everything(root: Path) -> list[Path]:
    return [root, *sorted(root.rglob("*"))]


def wide_open(root: Path) -> list[str]:
    """What under ``root`` a group or others may read, write or enter."""
    return [
        f"{p.relative_to(root.parent)} {oct(mode(p))}" for p in everything(root) if mode(p) & 0o077
    ]


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # a usual default: files 0644, directories 0755
    yield
    os.umask(old)


def test_a_new_data_directory_is_private_whatever_the_umask(
    tmp_path: Path, loose_umask: None
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    settings.ensure_data_dir()
    assert settings.resolved_secret_key
    kz = Kizashi.open(settings.resolved_database_url, **settings.store_options())
    try:
        kz.objects.create(
            SYSTEM,
            {
                "type": "note",
                "content": "TLP:RED の内容",
                "object_refs": ["identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"],
            },
            tlp="red",
        )
        make_huey(settings)
        kz.search.follower.catch_up()  # the index opens on first use, and is written
        names = {p.name for p in data.iterdir()}
        assert {"kizashi.db", "secret_key", "queue.db"} <= names, names
        assert mode(data) == 0o700
        for name in ("kizashi.db", "secret_key", "queue.db"):
            assert mode(data / name) == 0o600, name
        for side in ("kizashi.db-wal", "kizashi.db-shm"):
            if (data / side).exists():  # SQLite gives them the database's mode
                assert mode(data / side) == 0o600, side
        index = next(p for p in data.iterdir() if p.is_dir())
        assert mode(index) == 0o700
        assert any(index.iterdir())
    finally:
        kz.close()


def test_an_existing_loose_install_is_tightened_when_opened(
    tmp_path: Path, loose_umask: None
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    settings.ensure_data_dir()
    kz = Kizashi.open(settings.resolved_database_url, **settings.store_options())
    kz.search.follower.catch_up()
    kz.close()
    # As an older version left it, under a umask of 022.
    for p in everything(data):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    assert wide_open(data)
    fresh = Settings(data_dir=data)
    fresh.ensure_data_dir()
    assert fresh.resolved_secret_key
    kz = Kizashi.open(fresh.resolved_database_url, **fresh.store_options())
    assert kz.search.status()
    kz.close()
    make_huey(fresh)
    assert wide_open(data) == []


def test_the_command_line_creates_nothing_others_may_read(tmp_path: Path) -> None:
    # A real process under a wide umask: the ``kizashi`` command sets its own, so the
    # files libraries make (tantivy's segments, SQLite's journals) are private too.
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZASHI_")}
    env["KIZASHI_DATA_DIR"] = str(data)
    script = (
        "import os, sys; os.umask(0o022); from kizashi.cli import main;"
        " sys.argv = ['kizashi', *sys.argv[1:]]; main()"
    )
    for args in (
        ["add", "report", "--title", "Panda", "--text", "C2 は 198.51.100.9", "--tlp", "red"],
        ["search", "Panda"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", script, *args],
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert any(p.is_dir() for p in data.iterdir())  # the search index was written
    assert wide_open(data) == []
