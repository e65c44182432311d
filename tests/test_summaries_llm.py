"""The OpenAI-compatible provider against a chat-completions server on 127.0.0.1: what
Kizashi sends (prompt, budget, language, model, key), how it reads JSON and streamed
answers, and how every failure (429, 500, a timeout, a trickle, malformed JSON, an empty
or wrong-language answer, no citations) falls back to the extractive summary, says why,
is not kept, and never shows the key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kizashi.model.actor import Actor
from kizashi.services import Kizashi
from kizashi.services.llm import LLMConfig
from llmserver import ChatServer

KEY = "sk-test-very-secret-0123456789"
TEXT = (
    "国内の製造業を狙ったランサムウェア攻撃が続いている。"
    "攻撃者は VPN 機器の脆弱性 CVE-2024-21887 を悪用して侵入し、サーバーのファイルを暗号化した。"
    "身代金を要求する脅迫文が残されていた。専門家は多要素認証の導入を推奨している。"
)
JA_ANSWER = (
    "製造業を狙ったランサムウェア攻撃が続いており、VPN 機器の脆弱性 CVE-2024-21887 が悪用された。\n"
    "- 侵入後にファイルが暗号化された\n"
    "- 多要素認証の導入が推奨されている"
)
EN_ANSWER = (
    "Ransomware attacks on Japanese manufacturers continue through CVE-2024-21887.\n"
    "- Files were encrypted after the intrusion"
)


@pytest.fixture(scope="module")
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


@pytest.fixture
def chat(server: ChatServer, kz: Kizashi, tmp_path: Path) -> ChatServer:
    server.reset("json", JA_ANSWER)
    kz.llm = LLMConfig(
        base_url=server.url,
        model="test-model-7b",
        api_key=KEY,
        timeout=1.5,
        max_tokens=321,
        context_chars=6000,
        prompts_dir=tmp_path / "prompts",
    )
    return server


def article(kz: Kizashi, who: Actor, text: str = TEXT, title: str = "ランサムウェア攻撃") -> str:
    raw = {
        "type": "report",
        "name": title,
        "description": text,
        "published": "2026-11-20T00:00:00Z",
    }
    return kz.objects.create(who, raw)[0].id


def test_an_article_summarised_by_the_model(kz: Kizashi, analyst: Actor, chat: ChatServer) -> None:
    rid = article(kz, analyst)
    s = kz.summaries.article(analyst, rid, provider="openai", budget=150)
    assert (s.provider, s.model, s.fallback, s.language) == ("openai", "test-model-7b", False, "ja")
    assert s.template_version.startswith("article.ja.txt@")
    assert [x.text for x in s.statements] == [JA_ANSWER.splitlines()[0]]
    assert [x.text for x in s.points] == [
        "侵入後にファイルが暗号化された",
        "多要素認証の導入が推奨されている",
    ]
    assert all(x.cites == (1,) for x in [*s.statements, *s.points])
    assert [c.id for c in s.citations] == [rid]
    # What was sent: the model, the budget, a stream, the instructions, the article.
    (sent,) = chat.requests
    assert sent["model"] == "test-model-7b" and sent["max_tokens"] == 321 and sent["stream"]
    system, user = sent["messages"]
    assert system["role"] == "system" and "日本語" in system["content"]
    assert "150字" in system["content"]
    assert user["role"] == "user" and "ランサムウェア攻撃" in user["content"]
    assert TEXT in user["content"]
    assert chat.headers[0]["authorization"] == f"Bearer {KEY}"
    # Kept: asked again, the model is not.
    again = kz.summaries.article(analyst, rid, provider="openai", budget=150)
    assert again.cached and len(chat.requests) == 1


def test_a_streamed_answer_and_another_language(
    kz: Kizashi, analyst: Actor, chat: ChatServer
) -> None:
    rid = article(kz, analyst)
    chat.mode = "stream"
    s = kz.summaries.article(analyst, rid, provider="openai")
    assert s.statements[0].text == JA_ANSWER.splitlines()[0] and not s.fallback
    chat.answer = EN_ANSWER
    en = kz.summaries.article(analyst, rid, provider="openai", language="en")
    assert en.language == "en" and en.template_version.startswith("article.en.txt@")
    assert en.statements[0].text.startswith("Ransomware attacks")
    assert "in English" in chat.requests[-1]["messages"][0]["content"]
    # The extractive provider cannot translate: it says so.
    plain = kz.summaries.article(analyst, rid, language="en")
    assert plain.provider == "extractive" and plain.note and "translation" in plain.note


@pytest.mark.parametrize(
    ("mode", "answer", "reason"),
    [
        ("429", JA_ANSWER, "busy (429"),
        ("500", JA_ANSWER, "answered 500: model crashed"),
        ("slow", JA_ANSWER, "no answer within 1.5 s"),
        ("trickle", JA_ANSWER * 20, "no answer within 1.5 s"),
        ("malformed", JA_ANSWER, "not chat-completion JSON"),
        ("json", "", "answered nothing"),
        ("json", EN_ANSWER, "did not answer in Japanese"),
    ],
)
def test_every_failure_falls_back_and_says_why(
    kz: Kizashi,
    analyst: Actor,
    chat: ChatServer,
    mode: str,
    answer: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rid = article(kz, analyst)
    chat.mode, chat.answer, chat.delay = mode, answer, 0.5 if mode == "trickle" else 4.0
    with caplog.at_level(logging.DEBUG):
        s = kz.summaries.article(analyst, rid, provider="openai")
    assert s.fallback and s.provider == "extractive" and s.statements
    assert s.note and reason in s.note and "openai" in s.note
    assert all(x.text in TEXT for x in s.statements)
    # The key shows nowhere: not in the answer, the log, or the request's error.
    assert KEY not in json.dumps(s.as_dict(), ensure_ascii=False)
    assert KEY not in caplog.text
    assert KEY not in repr(kz.llm)
    # A fallback is not kept: once the model answers, its summary is made.
    chat.mode, chat.answer = "json", JA_ANSWER
    fixed = kz.summaries.article(analyst, rid, provider="openai")
    assert fixed.provider == "openai" and not fixed.cached and not fixed.fallback


def test_a_429_with_a_short_wait_is_retried_once(
    kz: Kizashi, analyst: Actor, chat: ChatServer
) -> None:
    rid = article(kz, analyst)
    chat.mode = "429-once"
    s = kz.summaries.article(analyst, rid, provider="openai")
    assert s.provider == "openai" and len(chat.requests) == 2


def test_a_collection_cites_its_sources_by_number(
    kz: Kizashi, analyst: Actor, chat: ChatServer
) -> None:
    a = article(kz, analyst, TEXT, "ランサムウェア A")
    b = article(
        kz,
        analyst,
        "金融機関を装ったフィッシング詐欺が増えている。偽サイトで認証情報を窃取する。",
        "詐欺 B",
    )
    chat.answer = (
        "ランサムウェアとフィッシングの被害が続いている [1][2]。存在しない記事 [9]。\n"
        "- CVE-2024-21887 が悪用された [2]"
    )
    s = kz.summaries.collection(analyst, "", provider="openai", budget=300)
    assert not s.fallback, s.note
    (sent,) = chat.requests
    user = sent["messages"][1]["content"]
    # The newest first: b is [1], a is [2]; each with the sentences the extractive pass chose.
    assert user.index("[1] 詐欺 B (2026-11-20)") < user.index("[2] ランサムウェア A (2026-11-20)")
    assert "番号" in sent["messages"][0]["content"]
    by_n = {c.n: c.id for c in s.citations}
    first = s.statements[0]
    assert {by_n[n] for n in first.cites} == {a, b}
    assert s.statements[1].cites == ()  # [9] names no source: dropped
    assert {by_n[n] for n in s.points[0].cites} == {a}
    # An answer that cites nothing is not a collection summary.
    chat.answer = "ランサムウェアとフィッシングの被害が続いている。"
    kz.objects.update(analyst, a, {"description": TEXT + "追記。"})
    bare = kz.summaries.collection(analyst, "", provider="openai", budget=300)
    assert bare.fallback and bare.note and "cites none" in bare.note
    assert all(len(x.cites) == 1 for x in bare.statements)


def test_long_inputs_are_cut_to_the_context(kz: Kizashi, analyst: Actor, chat: ChatServer) -> None:
    long = "長い記事の文です。" * 2000  # 18,000 characters, the context is 6,000
    rid = article(kz, analyst, long)
    s = kz.summaries.article(analyst, rid, provider="openai")
    sent = chat.requests[-1]["messages"]
    assert len(sent[0]["content"]) + len(sent[1]["content"]) <= 6000
    assert s.note and "read a part" in s.note


def test_an_admin_template_replaces_the_shipped_one(
    kz: Kizashi, analyst: Actor, chat: ChatServer
) -> None:
    rid = article(kz, analyst)
    shipped = kz.summaries.article(analyst, rid, provider="openai").template_version
    assert kz.llm and kz.llm.prompts_dir
    kz.llm.prompts_dir.mkdir(parents=True)
    (kz.llm.prompts_dir / "article.ja.txt").write_text("社内用の指示: {{budget}}字で。", "utf-8")
    mine = kz.summaries.article(analyst, rid, provider="openai")
    assert not mine.cached and mine.template_version != shipped
    assert chat.requests[-1]["messages"][0]["content"] == "社内用の指示: 400字で。"


def test_no_llm_configured(kz: Kizashi, analyst: Actor) -> None:
    from kizashi.model.errors import KizashiError

    rid = article(kz, analyst)
    with pytest.raises(KizashiError) as info:
        kz.summaries.article(analyst, rid, provider="openai")
    assert "extractive" in info.value.message


def test_the_key_is_not_stored(kz: Kizashi, analyst: Actor, chat: ChatServer) -> None:
    rid = article(kz, analyst)
    kz.summaries.article(analyst, rid, provider="openai")
    with kz.store.read() as conn:
        rows: list[Any] = list(conn.execute(sa.text("SELECT * FROM summaries")))
    assert rows and KEY not in repr(rows)
    assert chat.requests


def test_the_article_page_asks_the_model_in_english(
    kz: Kizashi, web: Any, chat: ChatServer
) -> None:
    import re

    from test_web import csrf_of, login

    ana = kz.users.get_actor("ana")
    rid = article(kz, ana, TEXT * 3)
    login(web, "ana", "analyst-password")
    page = web.get(f"/objects/{rid}").text
    assert f'name="id" value="{rid}"' in page and '<option value="openai" selected>' in page
    chat.answer = EN_ANSWER
    fragment = web.post(
        "/ui/summaries",
        data={"csrf": csrf_of(page), "id": rid, "provider": "openai", "language": "en"},
    ).text
    job_id = int(re.search(r'data-job="(\d+)"', fragment).group(1))  # type: ignore[union-attr]
    kz.summaries.wait(ana, job_id, timeout=60)
    shown = web.get(f"/ui/summaries/{job_id}").text
    assert "Ransomware attacks on Japanese manufacturers" in shown
    assert "the language model (test-model-7b)" in shown  # how it was made, by name
    assert chat.requests[-1]["messages"][0]["content"].startswith("You are a threat-intelligence")
    assert KEY not in page and KEY not in shown


def test_a_collection_longer_than_the_context_is_read_in_parts_then_merged(
    kz: Kizashi, analyst: Actor, chat: ChatServer
) -> None:
    assert kz.llm is not None
    kz.llm = LLMConfig(**{**kz.llm.__dict__, "context_chars": 1800})
    ids = [
        article(
            kz,
            analyst,
            TEXT
            + f"被害企業{i}社目の報告では、復旧に{i + 2}週間を要したという。"
            + "初期侵入の経路は VPN 機器であり、同じ手口が各地で確認されている。",
            f"報告 {i}",
        )
        for i in range(8)
    ]
    chat.answer = "各社でランサムウェア被害が続いている [1][3]。\n- 脆弱性が悪用された [2]"
    s = kz.summaries.collection(analyst, "", provider="openai", budget=300)
    assert not s.fallback, s.note
    # Several parts, then the merge: every request within the context.
    assert len(chat.requests) >= 3
    for sent in chat.requests:
        system, user = sent["messages"]
        assert len(system["content"]) + len(user["content"]) <= 1800
    merge = chat.requests[-1]["messages"]
    assert "部分要約" in merge[0]["content"]
    assert "[1][3]" in merge[1]["content"]
    first_part, second_part = chat.requests[0]["messages"][1], chat.requests[1]["messages"][1]
    assert "[1] " in first_part["content"] and "[1] " not in second_part["content"]
    assert s.template_version.count("@") == 2  # the collection's and the merge's templates
    newest_first = list(reversed(ids))
    by_n = {c.n: c.id for c in s.citations}
    assert {by_n[n] for n in s.statements[0].cites} == {newest_first[0], newest_first[2]}


def test_azure_keys_go_in_their_own_header(kz: Kizashi, analyst: Actor, chat: ChatServer) -> None:
    from kizashi.config import Settings

    settings = Settings(
        llm_base_url=chat.url,
        llm_model="gpt-4o",
        llm_api_key=KEY,  # type: ignore[arg-type]
        llm_key_header="api-key",
    )
    kz.llm = settings.llm_config()
    rid = article(kz, analyst)
    assert kz.summaries.article(analyst, rid, provider="openai").provider == "openai"
    assert chat.headers[-1]["api-key"] == KEY and "authorization" not in chat.headers[-1]
    assert KEY not in repr(settings.llm_api_key)


def test_a_model_server_that_is_down(kz: Kizashi, analyst: Actor, chat: ChatServer) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert kz.llm is not None
    kz.llm = LLMConfig(**{**kz.llm.__dict__, "base_url": f"http://127.0.0.1:{port}/v1"})
    rid = article(kz, analyst)
    s = kz.summaries.article(analyst, rid, provider="openai")
    assert s.fallback and s.note and "could not be reached" in s.note
    assert s.statements and s.provider == "extractive"
    assert KEY not in (s.note or "")
