"""Helpers tests import: skipping for missing services, the shared fixtures data, and a
real server with real Chromium for the browser tests."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

REQUIRE_SERVICES = os.environ.get("KIZASHI_REQUIRE_SERVICES") == "1"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def need(reason: str) -> None:
    """Skip for a missing service, or fail where CI says services are mandatory."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def shared_data(*parts: str) -> Path:
    """A file or folder under ../shared/data, or a skip (a failure in CI) where absent."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        need(f"../shared/data/{'/'.join(parts)} is not beside this checkout")
    return path


#: Debian's Chromium, with what a root user on a closed network needs.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
]


def bundle(*objects: dict[str, Any]) -> bytes:
    """A STIX bundle of these objects, as bytes (an import's input)."""
    return json.dumps(
        {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects}
    ).encode()


def opener(data: bytes) -> Callable[[], IO[bytes]]:
    """What an import reads from: a new stream of ``data`` each time it is opened."""
    return lambda: io.BytesIO(data)


def store_counts(kz: Any) -> tuple[int, int, int]:
    """Objects, their versions and their tag links: what an import that changes nothing
    leaves as it was."""
    import sqlalchemy as sa

    with kz.store.read() as conn:
        return (
            conn.execute(sa.text("SELECT count(*) FROM objects")).scalar_one(),
            conn.execute(sa.text("SELECT count(*) FROM object_versions")).scalar_one(),
            conn.execute(sa.text("SELECT count(*) FROM object_tags")).scalar_one(),
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def kizashi_server(data: Path, password: str) -> Iterator[str]:
    """``kizashi run`` on the embedded store in ``data``, its first admin's password
    given; yields the URL once the login page answers, stops the server after."""
    port = free_port()
    env = os.environ | {
        "KIZASHI_DATA_DIR": str(data),
        "KIZASHI_PORT": str(port),
        "KIZASHI_ADMIN_PASSWORD": password,
    }
    env.pop("KIZASHI_DATABASE_URL", None)
    log_path = data / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kizashi", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"kizashi run did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a skip, or a failure in CI, where it is not installed)."""
    if not Path(CHROMIUM).exists():
        need(f"{CHROMIUM} is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def browser_login(page: Any, url: str, user: str, password: str) -> None:
    """Log ``page`` in through the login form and wait for the home page."""
    page.goto(url + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
