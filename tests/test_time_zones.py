"""Times in the user's zone (issue 20): each user has a language and a time zone; pages
show times in the zone (named), relative where lists want them; what a user types
(``published:`` days, the analytics window) is read in it; storage and the API stay UTC."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from kizashi.model import preferences
from kizashi.model.actor import SYSTEM
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.web import i18n, timefmt
from test_analytics import report
from test_web import login

TOKYO = ZoneInfo("Asia/Tokyo")
#: 23:30 in Tokyo on 6 December is 14:30 UTC, the same day; 08:30 in Tokyo on the 7th is
#: 23:30 UTC on the 6th: a day apart in the two zones.
LATE_TOKYO = "2026-12-06T14:30:00Z"
EARLY_TOKYO = "2026-12-06T23:30:00Z"


@pytest.fixture
def in_tokyo() -> Iterator[None]:
    token = timefmt.use("Asia/Tokyo")
    language = i18n.use("ja")
    yield
    timefmt._zone.reset(token)
    i18n._current.reset(language)


def test_a_time_reads_in_the_zone_with_the_zone_named(in_tokyo: None) -> None:
    assert timefmt.local("2026-12-06T11:51:00Z") == "2026-12-06 20:51 JST"
    assert timefmt.local("2026-12-06T11:51:07.123Z", seconds=True) == "2026-12-06 20:51:07 JST"
    assert timefmt.local_date(EARLY_TOKYO) == "2026-12-07"
    assert timefmt.local(datetime(2026, 12, 6, 11, 51, tzinfo=UTC)) == "2026-12-06 20:51 JST"
    # Not a time: shown as it came, nothing lost.
    assert timefmt.local("soon") == "soon" and timefmt.local(None) == ""
    element = str(timefmt.when("2026-12-06T11:51:00Z"))
    assert element == (
        '<time datetime="2026-12-06T11:51:00Z" title="2026-12-06T11:51:00Z">'
        "2026-12-06 20:51 JST</time>"
    )
    assert str(timefmt.when("<b>")) == "&lt;b&gt;"


def test_zones_without_an_abbreviation_show_their_offset() -> None:
    singapore = datetime(2026, 12, 6, tzinfo=UTC).astimezone(ZoneInfo("Asia/Singapore"))
    assert timefmt.zone_label(singapore) == "UTC+08:00"
    india = datetime(2026, 12, 6, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    assert timefmt.zone_label(india) == "IST"
    newfoundland = datetime(2026, 1, 6, tzinfo=UTC).astimezone(ZoneInfo("America/St_Johns"))
    assert timefmt.zone_label(newfoundland) == "NST"
    sao_paulo = datetime(2026, 1, 6, tzinfo=UTC).astimezone(ZoneInfo("America/Sao_Paulo"))
    assert timefmt.zone_label(sao_paulo) == "UTC-03:00"


def test_relative_times_in_the_page_language(in_tokyo: None) -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert timefmt.relative("2026-12-06T09:00:00Z", now) == "3 時間前"
    assert timefmt.relative("2026-12-08T12:00:00Z", now) == "2 日後"
    i18n.use("en")
    assert timefmt.relative("2026-12-06T09:00:00Z", now) == "3 hours ago"
    ago = str(timefmt.when(datetime.now(UTC) - timedelta(hours=3), relative_to_now=True))
    assert re.fullmatch(
        r'<time datetime="[^"]+Z" title="[0-9-]+ [0-9:]+ JST">3 hours ago</time>', ago
    )


def test_preferences_are_checked() -> None:
    assert preferences.checked("ja", "Asia/Tokyo") == preferences.Preferences("ja", "Asia/Tokyo")
    assert preferences.checked("", "") == preferences.Preferences(None, None)
    for language, zone in (("fr", None), (None, "Mars/Olympus"), (None, "../../etc/passwd")):
        with pytest.raises(KizashiError) as err:
            preferences.checked(language, zone)
        assert err.value.code == "validation_failed"
    with pytest.raises(KizashiError, match="Unknown time zone"):
        preferences.zone("Asia")
    assert preferences.zone("") == ZoneInfo("UTC")


def test_a_user_keeps_a_language_and_a_zone(kz: Kizashi) -> None:
    kz.users.create(SYSTEM, "yui", "yui-password", "reader")
    yui = kz.users.get_actor("yui")
    assert yui.preferences == preferences.Preferences()
    kz.users.set_preferences(yui, language="ja", time_zone="Asia/Tokyo")
    again = kz.users.get_actor("yui")
    assert again.preferences == preferences.Preferences("ja", "Asia/Tokyo")
    assert again == yui  # who the actor is does not change with the preferences
    with pytest.raises(KizashiError):
        kz.users.set_preferences(yui, language="ja", time_zone="Nowhere/Atlantis")
    assert kz.users.get_actor("yui").preferences.time_zone == "Asia/Tokyo"  # nothing lost
    with pytest.raises(KizashiError):
        kz.users.set_preferences(SYSTEM, language="ja", time_zone=None)


def test_the_settings_page_sets_language_and_zone(web: TestClient) -> None:
    csrf = login(web, "rei", "reader-password")
    form = web.get("/settings", headers={"Accept-Language": "en"})
    assert form.status_code == 200 and '<option value="Asia/Tokyo">Asia/Tokyo</option>' in form.text
    # Without a token the form changes nothing.
    refused = web.post("/settings", data={"language": "ja", "time_zone": "Asia/Tokyo"})
    assert refused.status_code == 403
    bad = web.post("/settings", data={"csrf": csrf, "language": "ja", "time_zone": "Mars/Base"})
    assert bad.status_code == 422 and "time_zone" in bad.text
    saved = web.post(
        "/settings",
        data={"csrf": csrf, "language": "ja", "time_zone": "America/New_York"},
        headers={"Accept-Language": "en"},
    )
    assert saved.status_code == 200 and "設定を保存しました。" in saved.text
    # The user's setting beats the browser's language, on every page.
    web.cookies.clear()
    csrf = login(web, "rei", "reader-password")
    home = web.get("/", headers={"Accept-Language": "en-US,en"}).text
    assert '<html lang="ja">' in home
    page = web.get("/settings", headers={"Accept-Language": "en"}).text
    assert '<option value="America/New_York" selected>' in page
    assert re.search(r"現在時刻: \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", html.unescape(page))
    # The switcher, used while logged in, changes the setting too.
    web.get("/language/en?next=/")
    web.cookies.clear()
    login(web, "rei", "reader-password")
    assert '<html lang="en">' in web.get("/", headers={"Accept-Language": "ja"}).text


def test_the_zone_follows_the_user_then_the_browser_then_the_language(web: TestClient) -> None:
    login(web, "ana", "analyst-password")
    page = web.get("/settings", headers={"Accept-Language": "ja"}).text
    assert "この画面の時刻は Asia/Tokyo です" in html.unescape(page)
    english = web.get("/settings", headers={"Accept-Language": "en"}).text
    assert "Times on this page are in UTC" in html.unescape(english)
    web.cookies.set(timefmt.COOKIE, "Europe/Berlin")
    reported = web.get("/settings", headers={"Accept-Language": "ja"}).text
    assert "この画面の時刻は Europe/Berlin です" in html.unescape(reported)
    assert "ブラウザーの設定 (Europe/Berlin)" in html.unescape(reported)
    web.cookies.set(timefmt.COOKIE, "Not/AZone")  # a forged cookie is ignored
    forged = web.get("/settings", headers={"Accept-Language": "ja"}).text
    assert "この画面の時刻は Asia/Tokyo です" in html.unescape(forged)


def _report(kz: Kizashi, name: str, published: str) -> str:
    return report(kz, f"{name} の観測記録。", published, [], title=name)


def test_days_are_the_asker_s_days_in_trends_and_filters(kz: Kizashi) -> None:
    _report(kz, "深夜の報告", LATE_TOKYO)
    _report(kz, "早朝の報告", EARLY_TOKYO)
    utc = kz.analytics.trends(SYSTEM, interval="day", since="2026-12")
    assert utc[0].points == [("2026-12-06", 2)]
    tokyo = kz.analytics.trends(SYSTEM, interval="day", since="2026-12", zone=TOKYO)
    assert tokyo[0].points == [("2026-12-06", 1), ("2026-12-07", 1)]
    # A zone with summer time is counted by the hour, each hour on its own day.
    york = kz.analytics.trends(
        SYSTEM, interval="day", since="2026-12", zone=ZoneInfo("America/New_York")
    )
    assert york[0].points == [("2026-12-06", 2)]
    weekly = kz.analytics.trends(SYSTEM, interval="week", zone=TOKYO)
    assert weekly[0].points == [("2026-11-30", 1), ("2026-12-07", 1)]
    monthly = kz.analytics.trends(SYSTEM, interval="month", zone=TOKYO)
    assert monthly[0].points == [("2026-12", 2)]

    def names(query: str, zone: ZoneInfo | None = None) -> set[str]:
        found = kz.search.search(SYSTEM, query, zone=zone or ZoneInfo("UTC"))
        return {h.title for h in found.hits}

    assert names("published:2026-12-06") == {"深夜の報告", "早朝の報告"}
    assert names("published:2026-12-06", TOKYO) == {"深夜の報告"}
    assert names("published:2026-12-07", TOKYO) == {"早朝の報告"}
    assert names("published:>=2026-12-07", TOKYO) == {"早朝の報告"}
    assert names("published:2026-12-06T23:30:00", TOKYO) == {"深夜の報告"}
    assert names("published:2026-12-06T23:30:00Z", TOKYO) == {"早朝の報告"}  # Z is UTC


def test_the_ui_reads_days_in_the_user_s_zone(web: TestClient, kz: Kizashi) -> None:
    _report(kz, "深夜の報告", LATE_TOKYO)
    _report(kz, "早朝の報告", EARLY_TOKYO)
    login(web, "ana", "analyst-password")
    ja = {"Accept-Language": "ja"}  # no zone chosen: a Japanese page is in Tokyo
    found = web.get("/search", params={"q": "published:2026-12-07"}, headers=ja).text
    assert "早朝の報告" in found and "深夜の報告" not in found
    english = web.get(
        "/search", params={"q": "published:2026-12-07"}, headers={"Accept-Language": "en"}
    )
    assert "早朝の報告" not in english.text
    charted = web.get("/analytics", params={"since": "2026-12-01"}, headers=ja).text
    data = json.loads(html.unescape(re.search(r'id="trend-data">(.*?)</script>', charted, re.S)[1]))
    assert data["periods"] == ["2026-12-06", "2026-12-07"]
    assert data["series"][0] == {"name": "all", "counts": [1, 1]}
    # The API stays UTC unless asked for a zone.
    from test_api import _token

    auth = _token(kz, "tom", "reader")
    plain = web.get("/api/v1/stats/trends", params={"since": "2026-12"}, headers=auth).json()
    assert plain[0]["points"] == [{"t": "2026-12-06", "count": 2}]
    zoned = web.get(
        "/api/v1/stats/trends", params={"since": "2026-12", "tz": "Asia/Tokyo"}, headers=auth
    ).json()
    assert zoned[0]["points"] == [{"t": "2026-12-06", "count": 1}, {"t": "2026-12-07", "count": 1}]
    bad = web.get("/api/v1/stats/trends", params={"tz": "Asia"}, headers=auth)
    assert bad.status_code == 422 and "Unknown time zone" in bad.text
    hits = web.get(
        "/api/v1/search", params={"q": "published:2026-12-07", "tz": "Asia/Tokyo"}, headers=auth
    ).json()
    assert [h["title"] for h in hits["hits"]] == ["早朝の報告"]


def test_a_date_typed_in_a_form_is_a_day_of_the_user_s_zone(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    ja = {"Accept-Language": "ja"}  # a Japanese page without a chosen zone: Tokyo
    made = web.post(
        "/objects/new/report",
        data={"csrf": csrf, "title": "東京の日付", "published": "2026-12-07"},
        headers=ja,
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    report_id = made.headers["location"].rsplit("/", 1)[1]
    assert kz.objects.get(SYSTEM, report_id).stix["published"] == "2026-12-06T15:00:00Z"
    form = web.get(f"/objects/{report_id}/edit", headers=ja).text
    assert 'name="published" type="date" value="2026-12-07"' in form
    # Saving the form as it is changes nothing; another day moves it by whole days.
    web.post(
        f"/objects/{report_id}/edit",
        data={"csrf": csrf, "name": "東京の日付", "published": "2026-12-07"},
        headers=ja,
    )
    assert kz.objects.get(SYSTEM, report_id).version == 1
    web.post(
        f"/objects/{report_id}/edit",
        data={"csrf": csrf, "name": "東京の日付", "published": "2026-12-08"},
        headers=ja,
    )
    assert kz.objects.get(SYSTEM, report_id).stix["published"] == "2026-12-07T15:00:00Z"
    # In English without a zone, the day is UTC's.
    english = web.post(
        "/objects/new/report",
        data={"csrf": csrf, "title": "UTC date", "published": "2026-12-07"},
        headers={"Accept-Language": "en"},
        follow_redirects=False,
    )
    english_id = english.headers["location"].rsplit("/", 1)[1]
    assert kz.objects.get(SYSTEM, english_id).stix["published"] == "2026-12-07T00:00:00Z"
    bad = web.post(
        "/objects/new/report",
        data={"csrf": csrf, "title": "x", "published": "2026-13-45"},
        headers=ja,
    )
    assert bad.status_code == 422 and "published" in bad.text
