"""The search analyser: Japanese words and bigrams, English words, indicators as one term."""

from __future__ import annotations

import re
import threading
import unicodedata

import pytest

from kizashi.text.analyse import PIECE, STOPWORDS_EN, STOPWORDS_JA, analyse, parent_domains
from support import shared_data

JAPANESE = re.compile("[\u3041-\u30ff\u3400-\u9fff々]+")


def terms(text: str) -> set[str]:
    return set(analyse(text).index_terms())


def test_japanese_words_are_normalised_and_ascii_words_are_not() -> None:
    a = analyse("コンピュータの改ざんを確認した。The payload was running.")
    assert {"コンピューター", "改竄", "確認"} <= set(a.words)
    assert {"payload", "run"} <= set(a.words)  # stemmed, never ペイロード
    assert "ペイロード" not in a.words
    assert analyse("コンピューター").words == analyse("コンピュータ").words


def test_latin_inside_japanese_stays_whole() -> None:
    words = analyse("C2サーバとLog4Shellを悪用").words
    assert "c2" in words and "log4shel" in words  # (the English stem)
    assert "c" not in words and "ログ" not in words


def test_indicators_are_single_terms_with_their_parents() -> None:
    a = analyse("通信先はhxxps://c2.sub.evil[.]co[.]jp/a.phpと45[.]77[.]12[.]34。")
    values = [v for v, _, _ in a.indicators]
    assert "https://c2.sub.evil.co.jp/a.php" in values
    assert {"c2.sub.evil.co.jp", "sub.evil.co.jp", "evil.co.jp"} <= set(values)
    assert "co.jp" not in values
    assert "45.77.12.34" in values
    text = "通信先はhxxps://c2.sub.evil[.]co[.]jp/a.phpと45[.]77[.]12[.]34。"
    for _value, start, end in a.indicators:
        assert 0 <= start < end <= len(text)
    assert not {"evil", "co", "jp", "php"} & set(a.words)  # never shredded


def test_defanged_and_full_width_forms_give_the_same_terms() -> None:
    plain = {v for v, _, _ in analyse("evil.example.top と 10.0.0.5").indicators}
    assert {v for v, _, _ in analyse("evil[.]example[.]top と 10[.]0[.]0[.]5").indicators} == plain
    assert {
        v for v, _, _ in analyse("ｅｖｉｌ．ｅｘａｍｐｌｅ．ｔｏｐ と １０．０．０．５").indicators
    } == plain


def test_an_address_is_not_a_prefix_of_another() -> None:
    assert "10.0.0.5" not in terms("接続先 10.0.0.50")
    assert "10.0.0.5" in terms("接続先 10.0.0.5")


def test_bigrams_give_recall_inside_compounds_and_words_give_precision() -> None:
    program = analyse("プログラムを実行")
    assert "ログ" not in program.words  # not the word ログ ...
    assert "ログ" in program.grams()  # ... but found by its bigram
    assert "ログ" in analyse("ログを確認").words
    compound = analyse("ソフトウェアサプライチェーンセキュリティ")
    assert {"チェ", "ェー", "ーン"} <= set(compound.grams())
    # A run's edges are terms too: one character is found alone, at a run's end …
    assert analyse("鍵").grams() == ["|鍵", "鍵|"]
    assert analyse("暗号鍵").grams() == ["|暗", "暗号", "号鍵", "鍵|"]
    # … and a phrase of bigrams cannot span two runs.
    assert analyse("暗号 鍵盤").grams() == ["|暗", "暗号", "号|", "|鍵", "鍵盤", "盤|"]


def test_stopwords_are_kept_for_search_and_dropped_for_analytics() -> None:
    a = analyse("攻撃者はサーバを攻撃した。The attacker used the server.")
    assert "は" in a.words and "the" in a.words
    content = a.content_words()
    assert not set(content) & (STOPWORDS_JA | STOPWORDS_EN)
    assert "攻撃" in content and "server" in content


def test_english_stemming_is_optional() -> None:
    assert "running" in analyse("running servers", stem=False).words
    assert "run" in analyse("running servers").words


def test_language_per_document_and_paragraph() -> None:
    text = (
        "ランサムウェアによる被害が国内で相次いでいる。\n\n"
        "The actor targets manufacturing firms in Japan."
    )
    a = analyse(text)
    assert [lang for _, _, lang in a.paragraphs] == ["ja", "en"]
    assert a.language == "mixed"


def test_long_japanese_text_is_read_in_pieces() -> None:
    text = "攻撃者は脆弱性を悪用した" * (PIECE // 5)
    words = analyse(text).words
    assert words.count("脆弱性") == PIECE // 5


def test_threads_share_the_dictionary_not_the_tokenizer() -> None:
    texts = [f"第{i}回の攻撃でマルウェアが検知された。C2は10.0.{i}.1" for i in range(40)]
    expected = [analyse(t).index_terms() for t in texts]
    results: dict[int, list[list[str]]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            results[n] = [analyse(t).index_terms() for t in texts]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == expected for r in results.values())


def test_parent_domains_stop_at_the_registered_name() -> None:
    assert parent_domains("a.b.evil.co.jp") == ["b.evil.co.jp", "evil.co.jp"]
    assert parent_domains("evil.com") == []


@pytest.mark.slow
def test_every_word_of_the_corpus_is_found_by_its_grams_or_words() -> None:
    """Recall on real prose: a Japanese word of a sentence is reachable from the index
    terms of that sentence (as a word, or as all of its bigrams)."""
    lines = [
        line
        for line in shared_data("ja", "security-prose-ja.txt").read_text("utf-8").splitlines()
        if line.strip()
    ][:300]
    for line in lines:
        a = analyse(line)
        index = set(a.index_terms())
        for word in {w for w in a.words if len(w) >= 2 and JAPANESE.fullmatch(w)}:
            surface = unicodedata.normalize("NFKC", word)
            if surface not in unicodedata.normalize("NFKC", line):
                continue  # a normalised form spelled differently in the text
            grams = {surface[i : i + 2] for i in range(len(surface) - 1)}
            assert word in index and grams <= index, (line, word)


def test_an_email_address_indexes_its_domain_and_parents() -> None:
    values = {v for v, _, _ in analyse("連絡先 admin@mail.evil-domain.com まで").indicators}
    assert {"admin@mail.evil-domain.com", "mail.evil-domain.com", "evil-domain.com"} <= values


def test_a_fold_that_changes_length_keeps_every_paragraph_offset() -> None:
    # casefold and NFKC lengthen ß and ㈱: offsets must still point into the original.
    text = "Straße und Fuß im Büro, weiß.\n㈱テストのランサムウェア被害について報告します"
    a = analyse(text)
    assert [text[s:e] for s, e, _ in a.paragraphs] == text.split("\n")
    assert [lang for _, _, lang in a.paragraphs] == ["en", "ja"]
    assert {"fuss", "weiss", "株", "ランサムウェア"} <= set(a.words)
    # Each paragraph's words stay in the paragraph's place.
    assert a.words.index("weiss") < a.words.index("株")
