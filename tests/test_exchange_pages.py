"""The UI's import page (issue 19): an upload is previewed (counts per type, what is new,
what updates something stored, what is invalid) before anything is written, imported as
a job on confirmation, and only by the one who uploaded it; export from the same page."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from fastapi.testclient import TestClient

from kizashi.formats import registry
from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from support import bundle

MALWARE = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
TOOL = "tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def malware(modified: str, name: str = "Poison Ivy") -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": MALWARE,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": name,
        "is_family": True,
    }


def tool() -> dict[str, Any]:
    return {
        "type": "tool",
        "spec_version": "2.1",
        "id": TOOL,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "PsExec",
    }


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(web: TestClient, user: str, password: str) -> str:
    r = web.post(
        "/login",
        data={"username": user, "password": password, "csrf": csrf_of(web.get("/login").text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(web.get("/import").text)


def upload(web: TestClient, csrf: str, body: bytes, fmt: str = "") -> Any:
    return web.post(
        "/import",
        data={"csrf": csrf, "format": fmt},
        files={"file": ("partner.json", body, "application/json")},
    )


def totals(html: str) -> dict[str, int]:
    return {o: int(n) for o, n in re.findall(r'data-total="(\w+)">(\d+)<', html)}


def token_of(html: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', html)
    assert m, "no confirm form on the preview"
    return m.group(1)


def finished(web: TestClient, location: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        page = web.get(location).text
        status = re.search(r'data-status="(\w+)"', page)
        assert status
        if status.group(1) in ("done", "failed") or time.monotonic() > deadline:
            return page
        time.sleep(0.05)


def test_preview_counts_then_import_on_confirmation(web: TestClient, kz: Kizashi) -> None:
    kz.exchange.import_(SYSTEM, _opener(bundle(malware("2024-01-01T00:00:00.000Z"))))
    csrf = login(web, "ana", "analyst-password")
    broken = {"type": "indicator", "spec_version": "2.1", "id": "indicator--1"}
    body = bundle(malware("2024-06-01T00:00:00.000Z", "Poison Ivy 2"), tool(), broken)
    preview = upload(web, csrf, body)
    assert preview.status_code == 200, preview.text
    html = preview.text
    assert "Nothing has been stored yet" in html
    assert totals(html) == {
        "new": 1,
        "updated": 1,
        "unchanged": 0,
        "older": 0,
        "conflict": 0,
        "invalid": 1,
        "refused": 0,
    }
    assert "<code>malware</code>" in html and "<code>tool</code>" in html
    assert "indicator--1" in html  # the invalid object, listed with why
    assert "Import 2 object(s)" in html
    # The preview stored nothing.
    assert kz.objects.get(SYSTEM, MALWARE).name == "Poison Ivy"
    assert TOOL not in kz.objects.get_many(SYSTEM, [TOOL])

    done = web.post(
        "/import/confirm",
        data={"csrf": csrf, "token": token_of(html), "format": "stix"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    job_page = finished(web, done.headers["location"])
    assert 'data-status="done"' in job_page
    assert totals(job_page)["new"] == 1 and totals(job_page)["updated"] == 1
    assert kz.objects.get(SYSTEM, MALWARE).name == "Poison Ivy 2"
    assert TOOL in kz.objects.get_many(SYSTEM, [TOOL])
    # The spooled file is gone: the same token cannot import twice.
    again = web.post(
        "/import/confirm", data={"csrf": csrf, "token": token_of(html), "format": "stix"}
    )
    assert again.status_code == 404


def test_only_the_uploader_confirms_and_readers_cannot_import(
    web: TestClient, kz: Kizashi, tmp_path: Path
) -> None:
    csrf = login(web, "ana", "analyst-password")
    token = token_of(upload(web, csrf, bundle(tool())).text)
    web.post("/logout", data={"csrf": csrf})
    csrf = login(web, "alice", "alice-password")
    other = web.post("/import/confirm", data={"csrf": csrf, "token": token, "format": "stix"})
    assert other.status_code == 404  # an admin cannot run another user's upload either
    bad = web.post("/import/confirm", data={"csrf": csrf, "token": "../../etc", "format": "x"})
    assert bad.status_code == 404
    web.post("/logout", data={"csrf": csrf})
    csrf = login(web, "rei", "reader-password")
    assert 'action="/import"' not in web.get("/import").text
    assert upload(web, csrf, bundle(tool())).status_code == 403
    assert TOOL not in kz.objects.get_many(SYSTEM, [TOOL])
    # Without the form's token, nothing is read.
    web.post("/logout", data={"csrf": csrf})
    login(web, "ana", "analyst-password")
    assert upload(web, "wrong", bundle(tool())).status_code == 403


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "The file is empty."),
        (b"{not json", "not JSON"),
        (b'{"type": "bundle", "objects": [', "truncated"),
        (b"a,b\n1,2\n", "No format recognises this input"),
    ],
)
def test_unreadable_uploads_are_refused_with_why(
    web: TestClient, tmp_path: Path, body: bytes, says: str
) -> None:
    csrf = login(web, "ana", "analyst-password")
    fmt = "stix" if body.startswith(b"{") else ""
    r = upload(web, csrf, body, fmt)
    assert r.status_code == 422
    assert says in r.text
    assert 'name="token"' not in r.text
    assert list((tmp_path / "data" / "tmp").glob("preview-*")) == []  # nothing left behind


def test_the_page_offers_every_format_and_exports(web: TestClient, kz: Kizashi) -> None:
    kz.exchange.import_(SYSTEM, _opener(bundle(tool())))
    login(web, "rei", "reader-password")
    html = web.get("/import").text
    for fmt in registry.available().values():
        if fmt.can_write:
            assert f'<option value="{fmt.name}">' in html
    out = web.get("/api/v1/export", params={"format": "stix", "type": "tool"})
    assert out.status_code == 200
    assert [o["id"] for o in out.json()["objects"] if o["type"] == "tool"] == [TOOL]


def _opener(body: bytes) -> Callable[[], IO[bytes]]:
    return lambda: io.BytesIO(body)
