"""Full-width and half-width input (issue 20): what a Japanese keyboard types in full
width (ＡＰＴ４１, ｔａｇ：, the ideographic space) or half width (ｶﾀｶﾅ) finds and matches
what its usual form does, in every place the UI reads typed text."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from kizashi.model import searchquery as sq
from kizashi.model.actor import SYSTEM
from kizashi.model.tagquery import parse_tag_query
from kizashi.model.tags import parse_tag
from kizashi.model.width import fold_width
from kizashi.services import Kizashi
from test_web import login


@pytest.mark.parametrize(
    ("typed", "usual"),
    [
        ("ＡＰＴ４１", "APT41"),
        ("ｶﾞｯｺｳ", "ガッコウ"),
        ("ﾗﾝｻﾑｳｪｱ", "ランサムウェア"),
        ("ｔａｇ：ｔｌｐ：ａｍｂｅｒ", "tag:tlp:amber"),
        ("APT41\u3000Lazarus", "APT41 Lazarus"),
        ("１９８．５１．１００．７", "198.51.100.7"),
        # Only the keyboard's width changes: these stay as typed.
        ("①㈱ⅱ", "①㈱ⅱ"),
        ("ランサムウェア", "ランサムウェア"),
    ],
)
def test_width_folding(typed: str, usual: str) -> None:
    assert fold_width(typed) == usual


def test_queries_and_tags_read_full_width_as_usual() -> None:
    assert sq.parse("ｔａｇ：ＡＰＴ４１　ＯＲ　ｔｌｐ：ｒｅｄ") == sq.parse("tag:APT41 OR tlp:red")
    assert sq.parse("ｐｕｂｌｉｓｈｅｄ：＞＝２０２６－１２") == sq.parse("published:>=2026-12")
    assert parse_tag_query("ＡＰＴ４１　ＡＮＤ　ｔｌｐ：ａｍｂｅｒ") == parse_tag_query(
        "APT41 AND tlp:amber"
    )
    assert parse_tag("ＴＬＰ：ＡＭＢＥＲ").name == "tlp:amber"
    assert parse_tag("ﾗﾝｻﾑｳｪｱ").name == "ランサムウェア"


@pytest.fixture
def stored(kz: Kizashi) -> str:
    view, _ = kz.objects.create(
        SYSTEM,
        {
            "type": "report",
            "name": "APT41 による攻撃",
            "description": "APT41 が 198.51.100.7 を使ったランサムウェア攻撃。",
            "published": "2026-12-01T00:00:00Z",
            "object_refs": [SYSTEM.identity_ref],
        },
    )
    kz.tags.tag(SYSTEM, view.id, ["APT41", "tlp:amber", "ランサムウェア"])
    return view.id


def test_search_finds_the_same_in_any_width(kz: Kizashi, stored: str) -> None:
    for usual, typed in (
        ("APT41", "ＡＰＴ４１"),
        ("tag:APT41", "ｔａｇ：ＡＰＴ４１"),
        ("tag:tlp:amber", "tag:ｔｌｐ：ａｍｂｅｒ"),
        ("tag:ランサムウェア", "tag:ﾗﾝｻﾑｳｪｱ"),
        ("APT41 ランサムウェア", "ＡＰＴ４１\u3000ﾗﾝｻﾑｳｪｱ"),
    ):
        expected = {h.id for h in kz.search.search(SYSTEM, usual).hits}
        assert stored in expected, usual
        assert {h.id for h in kz.search.search(SYSTEM, typed).hits} == expected, typed


def test_the_ui_matches_full_and_half_width(web: TestClient, kz: Kizashi, stored: str) -> None:
    csrf = login(web, "ana", "analyst-password")
    found = web.get("/search", params={"q": "ｔａｇ：ＡＰＴ４１"}).text
    assert "APT41 による攻撃" in html.unescape(found)
    listed = web.get("/objects", params={"tags": "ｔｌｐ：ａｍｂｅｒ　ＡＮＤ　ﾗﾝｻﾑｳｪｱ"}).text
    assert "APT41 による攻撃" in html.unescape(listed)
    options = web.get("/ui/tag-options", params={"tags": "ﾗﾝｻﾑ"}).text
    assert 'value="ランサムウェア"' in options
    options = web.get("/ui/tag-options", params={"tags": "ＴＬＰ：ａｍ"}).text
    assert 'value="tlp:amber"' in options
    looked = web.post("/lookup", data={"csrf": csrf, "values": "１９８．５１．１００．７"}).text
    assert "1 of 1 known" in html.unescape(looked)
    # A tag typed in full width is the tag its usual form names, not a second one.
    web.post(
        f"/objects/{stored}/tags", data={"csrf": csrf, "tags": "ＡＰＴ４１, ｔｌｐ：ｇｒｅｅｎ"}
    )
    tags = set(kz.objects.get(SYSTEM, stored).tags)
    assert "APT41" in tags and "ＡＰＴ４１" not in tags and "tlp:green" in tags
