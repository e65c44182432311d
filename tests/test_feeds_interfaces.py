"""Feeds through the REST API, the CLI and the web UI, and OPML in and out."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import FakeClock
from feedserver import RSS, FeedServer
from kizashi.cli import app as cli_app
from kizashi.config import Settings
from kizashi.ingest.feeds import FeedService
from kizashi.ingest.fetch import Fetcher
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from kizashi.ingest.opml import Subscription, parse_opml, to_opml
from kizashi.model.actor import SYSTEM
from kizashi.server import create_app
from kizashi.services import Kizashi

SECRET = "s3cr3t-header-value"
FEEDS = "/api/v1/feeds"
OPML = """<?xml version="1.0" encoding="utf-8"?>
<opml version="1.0"><head><title>My reader</title></head><body>
<outline text="Security"><outline text="兆し速報" type="rss" xmlUrl="{a}"/>
<outline text="Vendors"><outline text="Vendor &amp; Co" type="rss" xmlUrl="{b}"/>
</outline></outline>
<outline text="Broken" type="rss" xmlUrl="javascript:alert(1)"/>
</body></opml>"""


@pytest.fixture(scope="module")
def running() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def server(running: FeedServer) -> FeedServer:
    running.reset()
    running.set("/jp.xml", feed_body("兆し速報", 2), {"Content-Type": RSS})
    return running


def feed_body(title: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>{title} 記事{i}</title><link>http://example.jp/{title}/{i}</link>"
        f'<guid isPermaLink="false">{title}-{i}</guid><description>本文 {i}</description></item>'
        for i in range(1, n + 1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
        f"</title><link>http://example.jp/</link><description>d</description>{items}"
        "</channel></rss>"
    ).encode()


def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", secret_key="test-secret", fetch_allow="127.0.0.1/32"
    )


@pytest.fixture
def client(kz: Kizashi, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path), kz)
    with TestClient(app) as test_client:
        yield test_client
    app.state.feeds.fetcher.close()


def token(kz: Kizashi, username: str, role: str) -> dict[str, str]:
    kz.users.create(SYSTEM, username, f"{username}-password", role)
    secret, _ = kz.users.create_token(kz.users.get_actor(username), "tests")
    return {"Authorization": f"Bearer {secret}"}


# -- REST API --------------------------------------------------------------------------


def test_api_crud_pause_resume_and_secret_headers(
    client: TestClient, kz: Kizashi, server: FeedServer, clock: FakeClock
) -> None:
    auth = token(kz, "ana", "analyst")
    seen: list[str] = []

    def call(method: str, path: str, status: int, **kw: object) -> object:
        r = client.request(method, path, headers=auth, **kw)  # type: ignore[arg-type]
        seen.append(r.text)
        assert r.status_code == status, (method, path, r.text)
        return r.json() if r.content else None

    body = {
        "url": server.url("/jp.xml"),
        "title": "兆し",
        "interval_seconds": 600,
        "full_text": True,
        "tags": ["apt"],
        "tlp": "TLP:GREEN",
        "language": "ja",
        "headers": {"X-Api-Key": SECRET},
    }
    feed = call("POST", FEEDS, 201, json=body)
    assert isinstance(feed, dict)
    assert (feed["title"], feed["interval_seconds"], feed["full_text"]) == ("兆し", 600, True)
    assert (feed["tags"], feed["tlp"], feed["language"]) == (["apt"], "green", "ja")
    assert feed["header_names"] == ["X-Api-Key"] and "headers" not in feed
    assert feed["identity_id"].startswith("identity--") and feed["enabled"] is True
    fid = feed["id"]
    call("POST", FEEDS, 409, json=body)
    call("POST", FEEDS, 422, json={"url": "ftp://example.jp/feed"})
    call("POST", FEEDS, 422, json={**body, "url": server.url("/x"), "tlp": "purple"})
    call("POST", FEEDS, 422, json={"url": server.url("/y"), "headers": {"X-A": SECRET + "\r\n"}})
    call("POST", FEEDS, 422, json={"url": server.url("/z"), "headers": {"Host": SECRET}})
    assert [f["id"] for f in call("GET", FEEDS, 200)] == [fid]  # type: ignore[union-attr]
    assert call("GET", f"{FEEDS}/{fid}", 200) == feed
    assert call("PATCH", f"{FEEDS}/{fid}", 200, json={"enabled": False})["enabled"] is False  # type: ignore[index]
    clock.tick(30)
    resumed = call("PATCH", f"{FEEDS}/{fid}", 200, json={"enabled": True, "title": "兆し2"})
    assert isinstance(resumed, dict) and resumed["enabled"] and resumed["title"] == "兆し2"
    assert resumed["next_poll_at"] == "2026-01-02T03:04:35.000Z"  # due at once
    call("PATCH", f"{FEEDS}/{fid}", 422, json={"interval_seconds": 5})
    call("PATCH", f"{FEEDS}/{fid}", 200, json={"headers": {"X-Other": SECRET}})
    call("GET", f"{FEEDS}/9999", 404)
    call("DELETE", f"{FEEDS}/{fid}", 204)
    call("GET", f"{FEEDS}/{fid}", 404)
    call("DELETE", f"{FEEDS}/{fid}", 404)
    assert not [text for text in seen if SECRET in text]


def test_api_poll_now_items_and_state(client: TestClient, kz: Kizashi, server: FeedServer) -> None:
    auth = token(kz, "ana", "analyst")
    made = client.post(
        FEEDS, headers=auth, json={"url": server.url("/jp.xml"), "headers": {"X-Api-Key": SECRET}}
    ).json()
    r = client.post(f"{FEEDS}/{made['id']}/poll", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "feed_id": made["id"],
        "title": "兆し速報",  # the feed's own title, taken before its items are stored
        "stored": 2,
        "updated": 0,
        "duplicate": 0,
        "rejected": 0,
        "not_modified": False,
        "error": None,
        "rejections": [],
    }
    assert server.last_headers("/jp.xml")["x-api-key"] == SECRET  # sent, never shown
    again = client.post(f"{FEEDS}/{made['id']}/poll", headers=auth).json()
    assert (again["stored"], again["duplicate"]) == (0, 2)
    items = client.get(f"{FEEDS}/{made['id']}/items", headers=auth).json()
    assert [i["guid"] for i in items] == ["兆し速報-2", "兆し速報-1"]
    names = {kz.objects.get(SYSTEM, i["report_id"]).name for i in items}
    assert names == {"兆し速報 記事1", "兆し速報 記事2"}
    state = client.get(f"{FEEDS}/{made['id']}", headers=auth).json()
    assert (state["title"], state["items_seen"], state["items_stored"]) == ("兆し速報", 4, 2)
    assert state["last_success_at"] and state["last_error"] is None and state["last_status"] == 200
    bad = client.post(FEEDS, headers=auth, json={"url": server.url("/500")}).json()
    failed = client.post(f"{FEEDS}/{bad['id']}/poll", headers=auth).json()
    assert failed["error"] == "HTTP 500 Internal Server Error" and failed["stored"] == 0
    state = client.get(f"{FEEDS}/{bad['id']}", headers=auth).json()
    assert state["last_error"] == "HTTP 500 Internal Server Error"
    assert state["last_error_kind"] == "http"
    assert state["consecutive_failures"] == 1 and state["next_poll_at"] > state["last_polled_at"]
    assert client.get(f"{FEEDS}/{bad['id']}/items", headers=auth).json() == []
    assert SECRET not in client.get(FEEDS, headers=auth).text


def test_api_reader_403_and_anonymous_401(client: TestClient, kz: Kizashi) -> None:
    feed = FeedService(kz, Fetcher(AddressPolicy(parse_allowlist(None))))
    fid = feed.add(SYSTEM, "http://example.jp/feed.xml", headers={"X-Api-Key": SECRET}).id
    feed.fetcher.close()
    reader = token(kz, "rei", "reader")
    writes = [
        ("POST", FEEDS, {"url": "http://example.jp/other.xml"}),
        ("PATCH", f"{FEEDS}/{fid}", {"enabled": False}),
        ("DELETE", f"{FEEDS}/{fid}", None),
        ("POST", f"{FEEDS}/{fid}/poll", None),
    ]
    for method, path, body in writes:
        r = client.request(method, path, json=body, headers=reader)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    r = client.post(f"{FEEDS}/opml", content=b"<opml/>", headers=reader)
    assert r.status_code == 403
    listed = client.get(FEEDS, headers=reader)
    assert listed.status_code == 200 and listed.json()[0]["header_names"] == ["X-Api-Key"]
    assert (
        SECRET not in listed.text and SECRET not in client.get(f"{FEEDS}/opml", headers=reader).text
    )
    reads = [f"{FEEDS}", f"{FEEDS}/{fid}", f"{FEEDS}/{fid}/items", f"{FEEDS}/opml"]
    for method, path in [*((m, p) for m, p, _ in writes), *(("GET", p) for p in reads)]:
        assert client.request(method, path).status_code == 401, (method, path)


def test_api_opml_export_and_import(client: TestClient, kz: Kizashi, server: FeedServer) -> None:
    auth = token(kz, "ana", "analyst")
    client.post(FEEDS, headers=auth, json={"url": server.url("/jp.xml"), "title": "兆し速報"})
    exported = client.get(f"{FEEDS}/opml", headers=auth)
    assert exported.headers["content-type"].startswith("text/x-opml")
    assert "attachment" in exported.headers["content-disposition"]
    assert [(s.url, s.title) for s in parse_opml(exported.content)] == [
        (server.url("/jp.xml"), "兆し速報")
    ]
    document = OPML.format(a=server.url("/jp.xml"), b=server.url("/vendor.xml")).encode()
    r = client.post(f"{FEEDS}/opml", headers=auth, content=document)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (
        len(report["added"]) == 1 and len(report["skipped"]) == 1 and len(report["problems"]) == 1
    )
    assert report["skipped"][0].startswith(server.url("/jp.xml"))
    assert "javascript:" in report["problems"][0]
    titles = {f["url"]: f["title"] for f in client.get(FEEDS, headers=auth).json()}
    assert titles == {server.url("/jp.xml"): "兆し速報", server.url("/vendor.xml"): "Vendor & Co"}


def test_api_opml_import_refuses_what_is_not_opml(client: TestClient, kz: Kizashi) -> None:
    auth = token(kz, "ana", "analyst")
    for junk in (b"not an OPML file at all", b"<html><body><p>a web page</p></body></html>"):
        r = client.post(f"{FEEDS}/opml", headers=auth, content=junk)
        assert r.status_code == 422, (junk, r.status_code, r.text)


# -- OPML round trip -------------------------------------------------------------------


def test_opml_round_trip_into_a_fresh_store(kz: Kizashi, tmp_path: Path, clock: FakeClock) -> None:
    fetcher = Fetcher(AddressPolicy(parse_allowlist(None)))
    source = FeedService(kz, fetcher)
    wanted = {
        "https://example.jp/rss/jpcert.rdf": "JPCERT/CC 注意喚起",
        "https://example.jp/atom.xml?lang=ja&x=1": "兆し & <解析> ノート",
        "http://vendor.example/feed": "Vendor blog",
    }
    for url, title in wanted.items():
        source.add(SYSTEM, url, title=title)
    document = to_opml([Subscription(v.url, v.title) for v in source.list(SYSTEM)])
    fresh = Kizashi.open(f"sqlite:///{tmp_path / 'fresh.db'}", clock=clock)
    try:
        target = FeedService(fresh, fetcher)
        report = target.subscribe_all(SYSTEM, parse_opml(document))
        assert len(report.added) == 3 and report.skipped == report.problems == []
        assert {v.url: v.title for v in target.list(SYSTEM)} == wanted
        again = target.subscribe_all(SYSTEM, parse_opml(document))
        assert again.added == [] and len(again.skipped) == 3 and len(target.list(SYSTEM)) == 3
    finally:
        fresh.close()
        fetcher.close()


# -- CLI -------------------------------------------------------------------------------

Run = Callable[..., str]


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("KIZASHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIZASHI_DATABASE_URL", db_url)
    monkeypatch.setenv("KIZASHI_FETCH_ALLOW", "127.0.0.1/32")
    monkeypatch.delenv("KIZASHI_USER", raising=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, ["feed", *args])
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    return invoke


def test_cli_feed_commands(run: Run, server: FeedServer, tmp_path: Path) -> None:
    added = json.loads(
        run("add", server.url("/jp.xml"), "--title", "兆し", "--interval", "120", "--tag", "apt",
            "--tlp", "amber", "--language", "ja", "--header", f"X-Api-Key: {SECRET}", "--json")
    )  # fmt: skip
    assert (added["title"], added["interval_seconds"], added["tags"]) == ("兆し", 120, ["apt"])
    assert added["tlp"] == "amber" and added["header_names"] == ["X-Api-Key"]
    fid = str(added["id"])
    run("add", server.url("/x.xml"), "--header", "no colon here", code=2)
    run("add", server.url("/jp.xml"), code=2)  # already subscribed
    bad = str(json.loads(run("add", server.url("/500"), "--title", "壊れた", "--json"))["id"])
    polled = json.loads(run("poll", fid, "--json"))
    assert {k: polled[k] for k in ("stored", "updated", "duplicate", "rejected")} == {
        "stored": 2, "updated": 0, "duplicate": 0, "rejected": 0
    }  # fmt: skip
    assert polled["error"] is None and server.last_headers("/jp.xml")["x-api-key"] == SECRET
    table = run("poll", fid)
    assert "duplicate" in table and re.search(r"兆し\s.*\b0\b.*\b2\b.*\bok\b", table)
    failed = json.loads(run("poll", bad, "--json", code=1))
    assert failed["error"] == "HTTP 500 Internal Server Error"
    every = json.loads(run("poll", "--all", "--json", code=1))
    assert {r["feed_id"]: r["error"] for r in every} == {
        int(fid): None, int(bad): "HTTP 500 Internal Server Error"
    }  # fmt: skip
    run("poll", code=2)
    run("poll", fid, "--all", code=2)
    shown = json.loads(run("show", bad, "--json"))
    assert shown["last_error"] == "HTTP 500 Internal Server Error"
    assert (
        shown["consecutive_failures"] == 2
        and shown["next_poll_at"]
        and not shown["last_success_at"]
    )
    text = run("show", fid)
    assert re.search(r"items_stored\s+2", text) and re.search(r"last_success_at\s+20", text)
    listing = run("list")
    assert "兆し" in listing and "HTTP 500" in listing
    assert sorted(f["title"] for f in json.loads(run("list", "--json"))) == ["兆し", "壊れた"]
    assert json.loads(run("pause", fid, "--json"))["enabled"] is False
    assert "paused" in run("list")
    assert json.loads(run("resume", fid, "--json"))["enabled"] is True
    exported = tmp_path / "out.opml"
    run("export-opml", "--output", str(exported))
    assert run("export-opml").encode() == exported.read_bytes()
    urls = {sub.url for sub in parse_opml(exported.read_bytes())}
    assert urls == {server.url("/jp.xml"), server.url("/500")}
    assert "feed " + bad + " removed" in run("remove", bad)
    run("show", bad, code=2)
    imported = json.loads(run("import-opml", str(exported), "--json"))
    assert len(imported["added"]) == 1 and len(imported["skipped"]) == 1
    assert "0 added, 2 already subscribed, 0 failed" in run("import-opml", str(exported))
    assert all(SECRET not in out for out in (run("list", "--json"), run("show", fid, "--json")))


# -- web UI ----------------------------------------------------------------------------


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client: TestClient, kz: Kizashi, user: str, role: str) -> str:
    kz.users.create(SYSTEM, user, f"{user}-password", role)
    form = {
        "username": user,
        "password": f"{user}-password",
        "csrf": csrf_of(client.get("/login").text),
    }
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    return csrf_of(client.get("/").text)


def test_web_feed_pages(client: TestClient, kz: Kizashi, server: FeedServer) -> None:
    csrf = login(client, kz, "ana", "analyst")
    assert "No feeds yet" in client.get("/feeds").text
    form = {"csrf": csrf, "url": server.url("/jp.xml"), "title": "", "interval_minutes": "15",
            "tags": "apt, ランサムウェア", "tlp": "amber", "language": "ja",
            "headers": f"X-Api-Key: {SECRET}"}  # fmt: skip
    r = client.post("/feeds", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    where = r.headers["location"]
    page = client.get(where).text
    assert "never" in page and "X-Api-Key" in page and SECRET not in page
    r = client.post(
        f"{where}/action", data={"csrf": csrf, "action": "poll"}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, where)
    page = client.get(where).text
    assert "兆し速報 記事1" in page and "兆し速報 記事2" in page and "2 / 2" in page
    assert "never" not in page.split('id="items"')[0]
    # The feed's source identity by its name, linked (UX finding 21), not by its id.
    source = re.search(
        r'Source identity</th><td><a href="/objects/(identity--[^"]+)"[^>]*>([^<]+)</a>', page
    )
    assert source, page.split("Source identity")[1][:300]
    assert kz.objects.get(SYSTEM, source.group(1)).name == source.group(2)
    assert "<code>identity--" not in page
    bad = client.post("/feeds", data={**form, "url": server.url("/500"), "headers": ""})
    assert bad.status_code == 200 and "Last error" in bad.text
    page = client.post(f"{bad.url.path}/action", data={"csrf": csrf, "action": "poll"}).text
    assert "failing" in page and "HTTP 500 Internal Server Error" in page
    assert re.search(r"Consecutive failures</th><td>1<", page)
    # The kind of failure in the page's language, the details as the fetcher put them.
    assert "The server answered with an error." in page
    assert '<small lang="en"><code>HTTP 500 Internal Server Error</code></small>' in page
    ja = client.get(bad.url.path, headers={"accept-language": "ja"}).text
    assert "サーバーがエラーを返しました。" in ja and "HTTP 500 Internal Server Error" in ja
    assert re.search(r"次回取得</th><td><time datetime=\"[^\"]+Z\"", ja)
    server.set("/page.html", b"<html><body><p>a web page</p></body></html>",
               {"content-type": "text/html"})  # fmt: skip
    page_feed = client.post("/feeds", data={**form, "url": server.url("/page.html"), "headers": ""})
    ja = client.post(
        f"{page_feed.url.path}/action",
        data={"csrf": csrf, "action": "poll"},
        headers={"accept-language": "ja"},
    ).text
    assert "このアドレスの内容はフィード(RSS・Atom・RDF・JSON Feed)ではありません。" in ja
    home = client.get("/", headers={"accept-language": "ja"}).text
    assert "サーバーがエラーを返しました。" in home
    listing = client.get("/feeds").text
    assert "failing (1)" in listing and "兆し速報" in listing
    page = client.post(f"{where}/action", data={"csrf": csrf, "action": "pause"}).text
    assert "<mark>paused</mark>" in page and "Resume" in page
    page = client.post(f"{where}/action", data={"csrf": csrf, "action": "resume"}).text
    assert "<mark>paused</mark>" not in page and "Pause" in page
    wrong = client.post("/feeds", data={**form, "url": "ftp://example.jp/"})
    assert (
        wrong.status_code == 422
        and "http:// or https://" in wrong.text
        and SECRET not in wrong.text
    )
    r = client.post(
        f"{where}/action", data={"csrf": csrf, "action": "remove"}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, "/feeds")
    assert server.url("/jp.xml") not in client.get("/feeds").text
    document = OPML.format(a=server.url("/jp.xml"), b=server.url("/500")).encode()
    r = client.post("/feeds/opml", data={"csrf": csrf}, files={"file": ("feeds.opml", document)})
    assert r.status_code == 200, r.text
    assert "OPML: 1 added, 1 already subscribed, 1 failed." in r.text
    assert server.url("/jp.xml") in client.get("/feeds").text


def test_web_reader_sees_feeds_but_cannot_change_them(client: TestClient, kz: Kizashi) -> None:
    service = FeedService(kz, Fetcher(AddressPolicy(parse_allowlist(None))))
    fid = service.add(SYSTEM, "http://example.jp/feed.xml", title="読むだけ").id
    service.fetcher.close()
    assert client.get("/feeds", follow_redirects=False).status_code == 303  # to the login page
    csrf = login(client, kz, "rei", "reader")
    listing = client.get("/feeds").text
    assert "読むだけ" in listing and 'action="/feeds"' not in listing
    assert 'action="/feeds/' not in client.get(f"/feeds/{fid}").text
    for path, data in [("/feeds", {"url": "http://example.jp/x"}), (f"/feeds/{fid}/action",
                       {"action": "pause"}), (f"/feeds/{fid}", {"title": "x"})]:  # fmt: skip
        assert client.post(path, data={"csrf": csrf, **data}).status_code == 403, path
    assert service.get(SYSTEM, fid).enabled


def test_a_password_in_a_feed_url_is_never_shown(client: TestClient, kz: Kizashi) -> None:
    auth = token(kz, "ana", "analyst")
    made = client.post(FEEDS, headers=auth, json={"url": "https://reader:s3cret@feeds.example/rss"})
    assert made.status_code == 201, made.text
    assert made.json()["url"] == "https://reader:***@feeds.example/rss"
    for path in (FEEDS, f"{FEEDS}/{made.json()['id']}", f"{FEEDS}/opml"):
        assert "s3cret" not in client.get(path, headers=auth).text
