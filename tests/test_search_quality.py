"""Search quality end to end on the Japanese corpus the search benchmark uses.

3,000 documents from ``bench/search_data.py`` (real Japanese security prose with English and
planted indicators) go through ``documents.build`` into an in-memory ``SearchIndex``, as the
benchmark builds its index; the checks are the benchmark's quality figures as assertions:
recall of every pure-Japanese query against a substring search, word matches first for
``ログ``, and indicators matched as values (``10.0.0.5`` is not ``10.0.0.50``;
``evil-domain.com`` in every written form). No timings.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is not installed: import it from the checkout
    sys.path.insert(0, str(ROOT))

from bench import bench_search as bs  # noqa: E402
from bench.search_data import Doc, build_corpus, fold, folded_texts  # noqa: E402

from kizashi.model.searchquery import parse  # noqa: E402
from kizashi.search.documents import IndexDoc  # noqa: E402
from kizashi.search.index import SearchIndex  # noqa: E402
from kizashi.text.analyse import analyse  # noqa: E402
from support import shared_data  # noqa: E402

DOCUMENTS = 3_000
RECALL = 0.99
IP, DECOY_IP, DOMAIN = "10.0.0.5", "10.0.0.50", "evil-domain.com"


@dataclass
class Corpus:
    docs: list[Doc]
    texts: list[str]  # folded title + body, for the substring truth
    built: list[IndexDoc]
    index: SearchIndex
    #: Per indicator, the documents whose extracted indicators hold it.
    indicators: dict[str, set[int]]

    def found(self, query: str) -> set[int]:
        """Indexes (pk - 1) of every document the query matches."""
        return {pk - 1 for pk in bs.all_found(self.index, query)}

    def snippet(self, i: int, term: str, width: int = 20) -> str:
        text = self.texts[i]
        at = text.find(fold(term))
        return repr(text[max(0, at - width) : at + len(term) + width]) if at >= 0 else "?"


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    shared_data("ja")
    docs = build_corpus(DOCUMENTS)
    built = bs.index_docs(bs.doc_rows(docs))
    index = SearchIndex(None)
    bs.fill(index, built)
    assert index.count() == DOCUMENTS
    return Corpus(
        docs,
        folded_texts(docs),
        built,
        index,
        bs.indicator_truth(docs, [IP, DECOY_IP, DOMAIN]),
    )


def test_japanese_recall_matches_a_substring_search(corpus: Corpus) -> None:
    failures = []
    measured = 0
    for q in bs.japanese_queries():
        truth = bs.query_truth(corpus.texts, q)
        if not truth:
            continue
        measured += 1
        found = corpus.found(q.text)
        recall = len(found & truth) / len(truth)
        if recall < RECALL:
            missed = sorted(truth - found)
            failures.append(
                f"{q.text} ({q.kind}): recall {recall:.4f}, {len(missed)} of {len(truth)} "
                f"missed, e.g. document {missed[0]}: {corpus.snippet(missed[0], q.text)}"
            )
    assert measured >= 25, "too few Japanese queries occur in the corpus to measure recall"
    assert not failures, f"recall below {RECALL} against a substring search: " + "; ".join(failures)


def test_word_matches_rank_first_for_log(corpus: Corpus) -> None:
    word = analyse("ログ").words[0]
    # Enough documents hold ログ as a Sudachi word (not only inside プログラム, ブログ …)
    # for all of the top 20 to be word matches: the check cannot pass vacuously.
    with_word = 0
    for i in sorted(bs.substring_truth(corpus.texts, "ログ")):
        with_word += bs.is_word_match(corpus.docs[i], word)
        if with_word >= 20:
            break
    assert with_word >= 20
    top = corpus.index.search(parse("ログ"), bs.ACCESS, limit=20).hits
    assert len(top) == 20
    not_word = [h.pk - 1 for h in top if not bs.is_word_match(corpus.docs[h.pk - 1], word)]
    assert not not_word, "bigram-only matches in the top 20: " + ", ".join(
        f"document {i}: {corpus.snippet(i, 'ログ')}" for i in not_word
    )


def test_ipv4_matches_the_address_only(corpus: Corpus) -> None:
    truth = corpus.indicators[IP]
    decoys = corpus.indicators[DECOY_IP] - truth
    assert truth
    assert decoys, "the corpus has no document with 10.0.0.50 alone: the check is vacuous"
    found = corpus.found(IP)
    wrong = sorted(found - truth)
    assert not wrong, f"{IP} found documents without it as an indicator: " + ", ".join(
        f"{i}: {sorted(bs.indicator_values(corpus.docs[i].body))}" for i in wrong[:5]
    )
    missed = sorted(truth - found)
    assert not missed, f"{IP} missed documents that have it: " + ", ".join(
        f"{i}: {bs.missed_example(corpus.docs, i, IP)}" for i in missed[:5]
    )
    assert not found & decoys


def test_domain_found_wherever_the_extractor_finds_it(corpus: Corpus) -> None:
    truth = corpus.indicators[DOMAIN]
    assert truth
    found = corpus.found(DOMAIN)
    missed = sorted(truth - found)
    assert not missed, f"{DOMAIN}: {len(missed)} of {len(truth)} documents missed: " + ", ".join(
        sorted({bs.missed_example(corpus.docs, i, DOMAIN) for i in missed})
    )


def test_domain_found_in_its_subdomains_urls_defanged_and_full_width_forms(
    corpus: Corpus,
) -> None:
    found = corpus.found(DOMAIN)
    assert not found - corpus.indicators[DOMAIN], "found without evil-domain.com"
    # What carries the domain in each document found (the first such indicator).
    forms = {bs.missed_example(corpus.docs, i, DOMAIN) for i in found}
    for wanted in ("evil-domain[.]com", "ｅｖｉｌ－ｄｏｍａｉｎ", "hxxp", "cdn.evil-domain.com"):
        assert any(wanted in f for f in forms), f"no document found through {wanted!r}"


def test_domain_found_in_every_written_form(corpus: Corpus) -> None:
    # The truth here is a regular expression on the folded text, independent of the
    # extractor: evil-domain.com or a subdomain, plain, defanged or full-width.
    written = bs.written_truth(corpus.texts, DOMAIN)
    found = corpus.found(DOMAIN)
    missed = sorted(written - found)
    assert not missed, f"{DOMAIN}: {len(missed)} of {len(written)} missed, e.g. " + " | ".join(
        sorted({bs.context(corpus.texts[i], DOMAIN) for i in missed})[:5]
    )


@pytest.mark.parametrize(
    "text",
    [
        "the C2 server. 攻撃者はevil-domain.comを経由して侵入した。",
        "Indicators:\n不正な通信先はevil-domain[.]comであり、現在も稼働している。",
    ],
)
def test_japanese_glued_to_a_domain_is_kept(text: str) -> None:
    index = SearchIndex(None)
    row = bs.doc_rows([Doc("報告", text, "2025-01-01T00:00:00.000Z", ["tlp:clear"], "JPCERT/CC")])
    bs.fill(index, bs.index_docs(row))
    term = "攻撃者" if "攻撃者" in text else "通信先"
    assert index.search(parse(term), bs.ACCESS).total == 1
    assert index.search(parse(DOMAIN), bs.ACCESS).total == 1
