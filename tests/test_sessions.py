"""A session ends everywhere: logging out, or a new password, ends every UI session of
that user (other browsers, a copied cookie), while other users' sessions go on."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from test_web import csrf_of, login

COOKIE = "kizashi_session"


def browser(web: TestClient) -> TestClient:
    """Another browser on the same server (its own cookies)."""
    return TestClient(web.app)


def logged_in(client: TestClient) -> bool:
    r = client.get("/api/v1/auth/me")
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


def test_logout_ends_every_session_of_the_user(web: TestClient) -> None:
    other, copied, rei = browser(web), browser(web), browser(web)
    csrf = login(web, "ana", "analyst-password")
    login(other, "ana", "analyst-password")
    login(rei, "rei", "reader-password")
    copied.cookies.set(COOKIE, web.cookies[COOKIE])
    assert all(logged_in(c) for c in (web, other, copied, rei))
    r = web.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert not logged_in(web)
    assert not logged_in(other)  # the other browser's session ended too
    assert not logged_in(copied)  # and a copy of the cookie is worth nothing
    page = other.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert logged_in(rei)  # someone else's session goes on
    # Logging in again works, and that session is live.
    login(other, "ana", "analyst-password")
    assert logged_in(other) and not logged_in(copied)


def test_a_new_password_ends_the_other_sessions(web: TestClient, kz: Kizashi) -> None:
    other = browser(web)
    csrf = login(web, "ana", "analyst-password")
    login(other, "ana", "analyst-password")
    form = csrf_of(web.get("/settings/password").text)
    assert form == csrf
    r = web.post(
        "/settings/password",
        data={
            "current": "analyst-password",
            "new": "a new passphrase",
            "confirm": "a new passphrase",
            "csrf": form,
        },
    )
    assert r.status_code == 200, r.text
    assert logged_in(web)  # the browser that changed it stays in
    assert not logged_in(other)
    fresh = browser(web)
    login(fresh, "ana", "a new passphrase")
    assert logged_in(fresh)
    # An admin setting the password (API, CLI) ends the user's sessions as well.
    kz.users.update(SYSTEM, "ana", password="the admin's choice")
    assert not logged_in(web) and not logged_in(fresh)
    # A wrong current password changes nothing and ends nothing.
    login(other, "ana", "the admin's choice")
    form = csrf_of(other.get("/settings/password").text)
    r = other.post(
        "/settings/password",
        data={"current": "wrong", "new": "whatever long", "confirm": "whatever long", "csrf": form},
    )
    assert r.status_code == 422
    assert logged_in(other)


def test_a_session_from_before_the_epoch_existed_is_refused(web: TestClient) -> None:
    # A cookie holding only the user (as issued by earlier versions) is no session.
    login(web, "ana", "analyst-password")
    assert logged_in(web)
    raw = web.cookies[COOKIE]
    data = json.loads(base64.b64decode(raw.split(".")[0] + "=="))
    assert set(data) >= {"user_pk", "epoch"}
    old = base64.b64encode(json.dumps({"user_pk": data["user_pk"]}).encode())
    forged = TimestampSigner("test-secret").sign(old).decode()
    stale = browser(web)
    stale.cookies.set(COOKIE, forged)
    assert not logged_in(stale)
