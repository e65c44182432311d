"""A word that is a tag name finds the items carrying the tag (issue 20: searching
ランサムウェア found 2 items while 40 were tagged ランサムウェア), ranked below the items whose
text says it, and the answer says so; a tag only on items the asker may not read is
neither used nor named."""

from __future__ import annotations

from kizashi.model.actor import SYSTEM, Actor
from kizashi.services import Kizashi
from test_analytics import report

PUBLISHED = "2026-12-01T00:00:00Z"


def _report(kz: Kizashi, name: str, text: str, tags: list[str]) -> str:
    return report(kz, text, PUBLISHED, tags, title=name)


def test_a_tag_name_finds_its_items_after_the_text_matches(kz: Kizashi, reader: Actor) -> None:
    said = _report(kz, "本文に書かれた", "新しいランサムウェアが流行している。", [])
    tagged = {
        _report(
            kz, f"暗号化被害 {i}", "ファイルが暗号化され身代金を要求された。", ["ランサムウェア"]
        )
        for i in range(3)
    }
    _report(kz, "無関係", "フィッシングメールの注意喚起。", ["phishing"])
    found = kz.search.search(reader, "ランサムウェア")
    ids = [h.id for h in found.hits]
    assert found.total == 4 and ids[0] == said and set(ids[1:]) == tagged
    assert found.also_tagged == ["ランサムウェア"]
    assert found.as_dict()["also_tagged"] == ["ランサムウェア"]
    # Combined with other words, each still needs its own match.
    both = kz.search.search(reader, "ランサムウェア 身代金")
    assert {h.id for h in both.hits} == tagged
    # Under a NOT the word keeps its text meaning only.
    without = kz.search.search(reader, "NOT ランサムウェア type:report")
    assert {h.title for h in without.hits} == {"無関係"} | {f"暗号化被害 {i}" for i in range(3)}
    assert without.also_tagged == []
    # A word that names no tag changes nothing.
    plain = kz.search.search(reader, "フィッシング")
    assert plain.also_tagged == [] and plain.total == 1


def test_a_tag_only_on_unreadable_items_is_not_revealed(kz: Kizashi, reader: Actor) -> None:
    _report(kz, "秘密", "内部の調査。", ["作戦名カゲロウ", "tlp:red"])
    _report(kz, "公開", "作戦名カゲロウ について公開情報。", ["tlp:clear"])
    seen = kz.search.search(reader, "作戦名カゲロウ")
    assert [h.title for h in seen.hits] == ["公開"] and seen.also_tagged == []
    admin_view = kz.search.search(SYSTEM, "作戦名カゲロウ")
    assert {h.title for h in admin_view.hits} == {"秘密", "公開"}
    assert admin_view.also_tagged == ["作戦名カゲロウ"]
