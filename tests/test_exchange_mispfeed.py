"""Kizashi's store served as a MISP feed, and MISP feeds polled like RSS (issue 19): a
Kizashi in another data directory subscribes to this one's feed over real HTTP on
127.0.0.1 and gets the same objects; a second poll fetches only what changed; what a
reader may not read is never in their feed."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from kizashi.config import Settings
from kizashi.ingest.feeds import FeedService
from kizashi.ingest.fetch import Fetcher
from kizashi.ingest.mispfeed import read_manifest
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from kizashi.model.actor import SYSTEM, Actor, identity_for
from kizashi.server import create_app
from kizashi.services import Kizashi
from kizashi.services.exchange import Selection
from support import free_port

EVENT_UUID = "5c0c9fb4-9d3c-4b8a-9a0a-5c8f0a1b2c3d"
OTHER_UUID = "7e2f1a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def event(
    event_uuid: str, info: str, timestamp: str, *attrs: dict[str, Any], **extra: Any
) -> bytes:
    return json.dumps(
        {
            "Event": {
                "uuid": event_uuid,
                "info": info,
                "date": "2024-05-01",
                "timestamp": timestamp,
                "analysis": "2",
                "threat_level_id": "2",
                "distribution": "1",
                "published": True,
                "Orgc": {"name": "CERT-EXAMPLE", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
                "Attribute": list(attrs),
                **extra,
            }
        },
        ensure_ascii=False,
    ).encode()


def attribute(
    attr_uuid: str, type_: str, value: str, to_ids: bool = True, timestamp: str = "1714521600"
) -> dict[str, Any]:
    return {
        "uuid": attr_uuid,
        "type": type_,
        "category": "Network activity",
        "value": value,
        "to_ids": to_ids,
        "timestamp": timestamp,
        "distribution": "5",
        "comment": "C2",
    }


def first_event(timestamp: str = "1714521600", value: str = "198.51.100.7") -> bytes:
    return event(
        EVENT_UUID,
        "ランサムウェア攻撃の C2",
        timestamp,
        # MISP stamps an attribute whose value changes with the time of the change.
        attribute("b5b8d5a0-1c2d-4e3f-9a8b-7c6d5e4f3a21", "ip-dst", value, timestamp=timestamp),
        attribute("c6c9e6b1-2d3e-4f40-8b9c-8d7e6f5a4b32", "domain", "evil-c2.example.com"),
        Tag=[{"name": "tlp:green"}],
    )


class Served:
    """The app on a real port in this process, for another Kizashi to poll."""

    def __init__(self, kz: Kizashi, data: Path) -> None:
        self.port = free_port()
        app = create_app(Settings(data_dir=data, secret_key="feed-test"), kz)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                pytest.fail("the served app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def token(kz: Kizashi, username: str, role: str) -> str:
    kz.users.create(SYSTEM, username, f"{username}-password-long", role)
    made, _ = kz.users.create_token(kz.users.get_actor(username), "misp feed")
    return made


def ids(kz: Kizashi, actor: Actor = SYSTEM) -> set[str]:
    out = io.BytesIO()
    kz.exchange.export(actor, out, Selection(), format="stix")
    return {
        o["id"] for o in json.loads(out.getvalue())["objects"] if o["type"] != "marking-definition"
    }


@pytest.fixture
def source(kz: Kizashi, tmp_path: Path) -> Iterator[tuple[Kizashi, Served]]:
    with Served(kz, tmp_path / "source-data") as served:
        yield kz, served


@pytest.fixture
def subscriber(tmp_path: Path) -> Iterator[tuple[Kizashi, FeedService]]:
    other = Kizashi.open(f"sqlite:///{tmp_path / 'subscriber.db'}")
    feeds = FeedService(other, Fetcher(AddressPolicy(parse_allowlist("127.0.0.1/32"))))
    try:
        yield other, feeds
    finally:
        feeds.fetcher.close()
        other.close()


def test_a_kizashi_subscribes_to_another_kizashis_misp_feed(
    source: tuple[Kizashi, Served], subscriber: tuple[Kizashi, FeedService]
) -> None:
    kz, served = source
    kz.exchange.import_(SYSTEM, lambda: io.BytesIO(first_event()), format="misp")
    secret = token(kz, "partner", "reader")
    auth = {"Authorization": f"Bearer {secret}"}
    base = served.url + "/api/v1/misp/feed"

    # The layout a MISP instance reads.
    manifest = httpx.get(base + "/manifest.json", headers=auth).json()
    # The event, and one that gathers what no report holds (its organisation, say).
    assert EVENT_UUID in manifest and len(manifest) <= 2
    assert manifest[EVENT_UUID]["info"] == "ランサムウェア攻撃の C2"
    assert read_manifest(json.dumps(manifest).encode())[EVENT_UUID] == str(
        manifest[EVENT_UUID]["timestamp"]
    )
    hashes = httpx.get(base + "/hashes.csv", headers=auth).text.splitlines()
    assert f"{hashlib.md5(b'198.51.100.7').hexdigest()},{EVENT_UUID}" in hashes
    body = httpx.get(f"{base}/{EVENT_UUID}.json", headers=auth).json()
    assert {a["value"] for a in body["Event"]["Attribute"]} >= {"198.51.100.7"}
    assert httpx.get(base + "/manifest.json").status_code == 401
    assert httpx.get(f"{base}/{OTHER_UUID}.json", headers=auth).status_code == 404

    other, feeds = subscriber
    feed = feeds.add(SYSTEM, base, kind="misp", headers=auth, title="Partner MISP")
    first = feeds.poll(feed.id)
    assert first.error is None, first.rejections
    assert first.counts["stored"] == len(manifest)
    # The same objects, by id; the subscriber adds only its identity for the feed (the
    # source its items came from), and the source sends no identity of its accounts.
    assert ids(other) - {feed.identity_id} == ids(kz)
    assert feed.identity_id in ids(other)
    assert identity_for("partner") not in ids(kz)
    # Nothing changed: nothing is fetched again or stored twice.
    again = feeds.poll(feed.id)
    assert again.error is None and again.counts["stored"] == 0 and again.counts["updated"] == 0
    assert ids(other) - {feed.identity_id} == ids(kz)
    # A newer version of the event, and a new event: only those are fetched.
    kz.exchange.import_(
        SYSTEM, lambda: io.BytesIO(first_event("1714608000", "198.51.100.8")), format="misp"
    )
    kz.exchange.import_(
        SYSTEM,
        lambda: io.BytesIO(
            event(
                OTHER_UUID,
                "Phishing wave",
                "1714608000",
                attribute(
                    "d7dae7c2-3e4f-4051-9cad-9e8f7a6b5c43", "url", "http://phish.example.com/a"
                ),
            )
        ),
        format="misp",
    )
    third = feeds.poll(feed.id)
    assert third.error is None, third.rejections
    assert (third.counts["stored"], third.counts["updated"], third.counts["duplicate"]) == (1, 1, 0)
    assert ids(other) - {feed.identity_id} == ids(kz)
    assert other.indicators.lookup(SYSTEM, ["198.51.100.8"])[0].known
    state = feeds.get(SYSTEM, feed.id)
    assert state.kind == "misp" and state.last_error is None and state.items_stored == 3


def test_a_readers_feed_holds_only_what_they_may_read(source: tuple[Kizashi, Served]) -> None:
    kz, served = source
    kz.exchange.import_(SYSTEM, lambda: io.BytesIO(first_event()), format="misp")
    red = event(
        OTHER_UUID,
        "社外秘",
        "1714521600",
        attribute("e8ebf8d3-4f50-4162-8dbe-af9f8b7c6d54", "ip-dst", "203.0.113.66"),
        Tag=[{"name": "tlp:red"}],
    )
    kz.exchange.import_(SYSTEM, lambda: io.BytesIO(red), format="misp")
    admin = {"Authorization": f"Bearer {token(kz, 'boss', 'admin')}"}
    reader = {"Authorization": f"Bearer {token(kz, 'partner', 'reader')}"}
    base = served.url + "/api/v1/misp/feed"
    assert {EVENT_UUID, OTHER_UUID} <= set(httpx.get(base + "/manifest.json", headers=admin).json())
    seen = set(httpx.get(base + "/manifest.json", headers=reader).json())
    assert EVENT_UUID in seen and OTHER_UUID not in seen
    assert "203.0.113.66" not in httpx.get(base + "/hashes.csv", headers=reader).text
    assert httpx.get(f"{base}/{OTHER_UUID}.json", headers=reader).status_code == 404
    # One tag expression's part of the feed.
    green = httpx.get(base + "/tag/tlp:green/manifest.json", headers=admin).json()
    assert EVENT_UUID in green and OTHER_UUID not in green


def test_a_broken_misp_feed_fails_with_why_and_keeps_what_was_stored(
    subscriber: tuple[Kizashi, FeedService], tmp_path: Path
) -> None:
    other, feeds = subscriber
    pages: dict[str, tuple[int, bytes]] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        status, body = pages.get(scope["path"], (404, b"not found"))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        base = f"http://127.0.0.1:{port}/feed"
        feed = feeds.add(SYSTEM, base, kind="misp")
        pages["/feed/manifest.json"] = (200, b"<html>not a manifest</html>")
        bad = feeds.poll(feed.id)
        assert bad.error is not None and bad.error.startswith("not a MISP feed")
        pages["/feed/manifest.json"] = (
            200,
            json.dumps(
                {EVENT_UUID: {"timestamp": "1714521600"}, OTHER_UUID: {"timestamp": "1"}}
            ).encode(),
        )
        pages[f"/feed/{EVENT_UUID}.json"] = (200, first_event())
        pages[f"/feed/{OTHER_UUID}.json"] = (
            200,
            b'{"Event": {"uuid": "' + OTHER_UUID.encode() + b'", "info": "cut',
        )
        half = feeds.poll(feed.id)
        assert half.error is None and half.counts["stored"] == 1 and half.counts["rejected"] == 1
        assert any(r.startswith(OTHER_UUID) and "truncated" in r for r in half.rejections), (
            half.rejections
        )
        assert other.indicators.lookup(SYSTEM, ["198.51.100.7"])[0].known
        # Fixed at the source: the next poll takes only the event that failed.
        pages[f"/feed/{OTHER_UUID}.json"] = (
            200,
            event(
                OTHER_UUID,
                "fixed",
                "1",
                attribute("f9fc09e4-5061-4273-9ecf-b0a09c8d7e65", "domain", "fixed.example.com"),
            ),
        )
        fixed = feeds.poll(feed.id)
        assert (fixed.counts["stored"], fixed.counts["duplicate"]) == (1, 1)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
