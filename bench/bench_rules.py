"""Auto-tagging rules: the ingest path's added latency and "apply to existing" over a store.

``python -m bench --only rules`` (``--quick``: 200 stored items, 300 sampled). Targets
(rules issue): at least **500 items/s** retroactive on one core, and **under 2 ms** added
per item at 1,000 rules; both reported from 10 to 1,000 rules.

1. **Rules.** :func:`make_rules` draws 1,000 rules from the corpus's own vocabulary (the
   first :data:`VOCAB_DOCS` documents of :func:`bench.search_data.build_corpus`, analysed
   as search reads them): 500 keyword rules (1-5 frequent Japanese or English words, a
   third of the longer ones ``match: all``), 200 watch lists (50-500 values: IPs,
   domains, hashes and CVE ids found in the corpus or not, and product names), 200
   search-language queries and 100 regular expressions (an eighth with no literal, so
   the prefilter cannot skip them). Rules come in blocks of ten with the same mix, so the
   first 10 and 100 keep the proportions. Every rule adds its own tag.
2. **Ingest path.** For 0, 10, 100 and 1,000 rules, compiled once into a
   :class:`~kizashi.text.rulematch.RuleSet`, each sampled item is timed in two parts:
   *analysis*, ``Terms.of(Item(...))`` and the analysed shapes the rule set's candidate
   lookup reads (words, indicators, kinds, Japanese runs, language: Sudachi and the
   extractor, what search does to a text), and *matching*, ``ruleset.evaluate(terms)``
   on those terms (candidate lookup, then the candidates' tests): the rules' own cost.
3. **Apply to existing.** A SQLite store (temporary directory) gets the corpus as reports
   (``create_many_in`` with no rules and no extraction, in batches grouped by tag set;
   the vocabulary's documents last), then the in-memory index is built
   (``follower.catch_up()``, timed, not part of the rate). For each N the rules are saved
   enabled and ``kz.rules.apply(SYSTEM, None)`` is timed: rate = stored items / seconds;
   the parts of the run are timed by wrapping the follower's ``catch_up`` and the
   service's ``_matches`` and ``actions.act`` on these instances (:class:`Breakdown`). Before
   the next run the rules are deleted with their tags and the index follows (timed
   apart). Every N runs first on :attr:`Settings.calibration` items, where the matches
   are checked against ``RuleSet.evaluate`` on the same items; then, the store grown in
   stages, on the largest stage its calibration says fits in :attr:`Settings.budget_s`
   (15 minutes; with ``--quick`` only the 200-item calibration, at most 30 s a run). What
   did not fit is said in the output.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.common import pct, table, verdict
from bench.search_data import ACTORS, PRODUCTS, SOURCES, TAGS, Doc, build_corpus

FULL_ITEMS = 100_000
QUICK_ITEMS = 2_000
FULL_SAMPLE = 2_000
QUICK_SAMPLE = 300
SIZES = (10, 100, 1_000)
#: Documents of the corpus whose words, phrases and indicators the rules are drawn from.
VOCAB_DOCS = 1_000
SEED = 11
#: Share of the documents a rule word is found in (lowest, highest).
BAND = (0.002, 0.03)
BATCH = 1_000

TARGET_RETRO_RATE = 500.0  # items/s, retroactive, one core
TARGET_STORED = 100_000  # items stored, the retroactive target's size
TARGET_ADDED_MS = 2.0  # per item, ingest path, 1,000 rules

#: One block of ten rules: 5 keyword, 2 watch-list, 2 query, 1 regex.
BLOCK: tuple[str, ...] = ("words", "query", "words", "watchlist", "words", "regex")
BLOCK += ("words", "query", "watchlist", "words")

Progress = Callable[[str], None]

# -- the rules ---------------------------------------------------------------------------
_JA = re.compile("^[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff々ー]{2,}$")
_EN = re.compile("^[a-z][a-z0-9-]{3,}$")
#: Product names no document mentions (watch lists also hold absent names).
ABSENT_PRODUCTS = [
    "SonicWall SMA", "Zimbra Collaboration", "Atlassian Confluence", "F5 BIG-IP",
    "Progress WS_FTP", "Juniper SRX", "Barracuda ESG", "Cisco ASA", "JetBrains TeamCity",
    "Veeam Backup", "ConnectWise ScreenConnect", "GoAnywhere MFT", "Check Point Quantum",
    "SolarWinds Serv-U", "Openfire", "Zyxel USG", "QNAP QTS", "Synology DSM",
]  # fmt: skip
#: Regular expressions, by whether they hold a literal of 3+ characters the prefilter can
#: look for; the slots ({ja}, {en}, {year}, {actor} ...) are filled per rule.
REGEXES = [
    (r"CVE-{year}-\d{{4,}}", True),
    (r"{actor}\s+(?:exploited|scanning|with)", True),
    (r"(?:{host})\.evil-domain\[?\.\]?com", True),
    (r"{ja}(?:を|が|は|の).{{0,20}}{ja2}", True),
    (r"\b{en}\w*\b.{{0,40}}\b{en2}\b", True),
    (r"hxxps?://[^\s/]*{host}", True),
    (r"{ja}.{{0,10}}(?:確認|検出|悪用)", True),
    (r"(?:{ja}|{ja2})(?:者|グループ|手法)", False),
    (r"\b[a-f0-9]{{{hexlen}}}\b", False),
    (r"\b(?:\d{{1,3}}\.){{3}}\d{{1,3}}:(?:{port})\b", False),
    (r"(?:{actor}|{actor2}).{{0,60}}(?:{ja}|{en})", False),
]
#: The issue's own examples, as the first rules of their kind (j-th regular expression).
FIXED_REGEXES = {0: r"CVE-\d{4}-\d{4,}", 3: r"(?:攻撃|侵害)(?:者|グループ)", 11: r"[a-f0-9]{64}"}
HOSTS = ["cdn", "login", "update", "admin", "mail", "www", "a\\.b"]


@dataclass
class Vocabulary:
    """Terms of the corpus with the number of documents holding each, and indicators."""

    ja: Counter[str]  # Japanese words (Sudachi's normalised form), content words only
    en: Counter[str]  # English words as written (folded), not stemmed
    phrases: Counter[str]  # two adjacent Japanese words
    present: dict[str, list[str]]  # indicator kind -> values, most documents first
    documents: int
    ioc_docs: Counter[str]  # indicator value -> documents

    def band(self, c: Counter[str], lo: float, hi: float) -> list[str]:
        """Terms in ``lo``..``hi`` of the documents, most first then by text (stable)."""
        n = self.documents
        return [
            w for w, k in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) if lo <= k / n <= hi
        ]


def vocabulary(docs: Sequence[Doc]) -> Vocabulary:
    """Words, phrases and indicators of ``docs``, read by the search analyser.

    A count is of the documents a rule with that word would match: a Japanese word
    matches inside any Japanese run (``ウェア`` in ``マルウェア``, as search finds it), an
    English word by its stem."""
    import ahocorasick

    from kizashi.text.analyse import STOPWORDS_EN, STOPWORDS_JA, analyse
    from kizashi.text.rulematch import term

    analyses = [analyse(f"{d.title}\n\n{d.body}") for d in docs]
    ja_words: set[str] = set()
    pair_words: set[str] = set()
    stems: Counter[str] = Counter()
    en_words: set[str] = set()
    iocs: dict[str, Counter[str]] = {}
    for a in analyses:
        ja_words.update(w for w in a.words if _JA.match(w) and w not in STOPWORDS_JA)
        seq = a.words
        pair_words.update(
            x + y
            for x, y in pairwise(seq)
            if _JA.match(x) and _JA.match(y) and x not in STOPWORDS_JA
        )
        stems.update(set(a.words))
        en_words.update(w for w in a.english if _EN.match(w) and w not in STOPWORDS_EN)
        for value, kind in a.kinds.items():
            iocs.setdefault(kind, Counter())[value] += 1
    # A word the analyser reads back as itself (a rule word means what search means).
    ja_words = {w for w in ja_words if term(w).words == (w,)}
    auto = ahocorasick.Automaton()
    for w in ja_words | pair_words:
        auto.add_word(w, w)
    auto.make_automaton()
    inside: Counter[str] = Counter()
    for a in analyses:  # a word matches as a word, or inside a run
        inside.update({w for _, w in auto.iter("\x00".join(a.runs))} | (ja_words & set(a.words)))
    en: Counter[str] = Counter()
    for w in en_words:
        t = term(w)
        if len(t.words) == 1:
            en[w] = stems[t.words[0]]
    present = {
        kind: [v for v, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]
        for kind, c in iocs.items()
    }
    return Vocabulary(
        Counter({w: inside[w] for w in ja_words}),
        en,
        Counter({w: inside[w] for w in pair_words}),
        present,
        len(docs),
        Counter({v: k for c in iocs.values() for v, k in c.items()}),
    )


class _Maker:
    def __init__(self, vocab: Vocabulary, seed: int) -> None:
        self.v = vocab
        self.r = random.Random(seed)
        # Words an analyst would watch for: in 0.3 % to 4 % of the documents, not the
        # general words of the prose (nor the English of the corpus's few templates).
        self.ja = vocab.band(vocab.ja, BAND[0], BAND[1])
        self.en = vocab.band(vocab.en, BAND[0], BAND[1] * 1.5)
        self.phrases = vocab.band(vocab.phrases, BAND[0], BAND[1])

    def word(self) -> str:
        return self.r.choice(self.ja) if self.r.random() < 0.75 else self.r.choice(self.en)

    def words(self) -> dict[str, Any]:
        r = self.r
        k = r.choices([1, 2, 3, 4, 5], [40, 25, 15, 10, 10])[0]
        words = list(dict.fromkeys(self.word() for _ in range(k)))
        cond: dict[str, Any] = {"words": words}
        if len(words) > 1 and r.random() < 0.35:
            cond["match"] = "all"
        return cond

    def absent(self, kind: str) -> str:
        r = self.r
        if kind == "ipv4":
            return f"198.18.{r.randrange(256)}.{r.randint(1, 254)}"
        if kind == "domain":
            words = ["acme", "contoso", "fabrikam", "tailspin", "northwind", "wingtip"]
            return f"{r.choice(words)}-{r.choice(words)}{r.randint(1, 9999)}.example"
        if kind == "sha256":
            return f"{r.getrandbits(256):064x}"
        if kind == "md5":
            return f"{r.getrandbits(128):032x}"
        return f"CVE-{r.randint(2014, 2026)}-{r.randint(50_000, 99_999)}"

    def watchlist(self) -> dict[str, Any]:
        r = self.r
        size = r.randint(50, 500)
        theme = r.choice(["ipv4", "domain", "sha256", "md5", "cve"])
        share = r.uniform(0.02, 0.15)  # values found in the corpus
        values: list[str] = []
        products = [*PRODUCTS, *ACTORS] if r.random() < 0.15 else []
        values += r.sample(products, min(len(products), r.randint(0, 2)))
        values += r.sample(ABSENT_PRODUCTS, r.randint(0, 5))
        # Values found in under 1 % of the documents; a common one now and then.
        rare = self.v.documents / 100
        found = self.v.present.get(theme, [])
        pool = [v for v in found if self.v.ioc_docs[v] < rare]
        common = [v for v in found if self.v.ioc_docs[v] >= rare]
        if common and r.random() < 0.1:
            values.append(r.choice(common))
        values += r.sample(pool, min(len(pool), int(size * share)))
        while len(values) < size:
            kind = theme if r.random() < 0.8 else r.choice(["ipv4", "domain", "sha256", "cve"])
            values.append(self.absent(kind))
        return {"watchlist": list(dict.fromkeys(values)), "name": f"{theme} watch list"}

    def query(self) -> dict[str, Any]:
        r = self.r
        ja, ja2, en, en2 = self.word(), r.choice(self.ja), r.choice(self.en), r.choice(self.en)
        source = r.choice(SOURCES)
        src = f'"{source}"' if " " in source else source
        tag = r.choice(TAGS)
        templates = [
            f"{r.choice(self.ja)} lang:ja NOT tag:test",
            f"ioc:cve {r.choice(self.ja)}",
            f'"{r.choice(self.phrases)}" source:{src}',
            f"{en} OR {en2}",
            f"tag:{tag} {ja}",
            f"({ja} OR {ja2}) NOT {r.choice(self.ja)}",
            f"ioc:{r.choice(['ipv4', 'domain', 'sha256', 'md5'])} {ja}",
            f"{ja} published:>={r.randint(2019, 2026)}-01-01",
            f'{r.choice(ACTORS)} "{r.choice(PRODUCTS)}"',
            f"{ja} {ja2}",
        ]
        return {"query": r.choice(templates)}

    def regex(self, j: int) -> dict[str, Any]:
        r = self.r
        if j in FIXED_REGEXES:
            return {"regex": FIXED_REGEXES[j]}
        if j % 8 == 3:  # every eighth: no literal, the prefilter cannot skip it
            pattern = r.choice([p for p, lit in REGEXES if not lit])
        else:
            pattern = r.choice([p for p, lit in REGEXES if lit])
        actor, actor2 = r.sample(ACTORS, 2)
        text = pattern.format(
            ja=re.escape(r.choice(self.ja)),
            ja2=re.escape(r.choice(self.ja)),
            en=re.escape(r.choice(self.en)),
            en2=re.escape(r.choice(self.en)),
            year=r.randint(2014, 2026),
            actor=actor,
            actor2=actor2,
            host=r.choice(HOSTS),
            hexlen=r.choice([32, 40, 64]),
            port=r.choice(["80", "443", "8080", "8443", "4444", "[0-9]{4}"]),
        )
        return {"regex": text}

    def rules(self, n: int) -> list[dict[str, Any]]:
        out = []
        nregex = 0
        for i in range(n):
            kind = BLOCK[i % len(BLOCK)]
            if kind == "words":
                cond = self.words()
            elif kind == "watchlist":
                cond = self.watchlist()
            elif kind == "query":
                cond = self.query()
            else:
                cond = self.regex(nregex)
                nregex += 1
            out.append(
                {
                    "name": f"{kind}-{i:04d}",
                    "order": i,
                    "enabled": True,
                    "when": cond,
                    "then": {"add_tags": [f"rule:{kind}-{i:04d}"]},
                }
            )
        return out


def make_rules(vocab: Vocabulary, n: int = max(SIZES), seed: int = SEED) -> list[dict[str, Any]]:
    """``n`` rules in blocks of ten of the same mix; the first k of them are the same
    whatever ``n`` (one generator, one pass)."""
    return _Maker(vocab, seed).rules(n)


def mix(rules: Sequence[dict[str, Any]]) -> dict[str, int]:
    c = Counter(next(iter(r["when"])) for r in rules)
    return {k: c[k] for k in ("words", "watchlist", "query", "regex")}


# -- timing helpers ------------------------------------------------------------------------
@dataclass
class Timing:
    """Per-item milliseconds."""

    samples: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples) if self.samples else float("nan")

    @property
    def p95(self) -> float:
        return pct(self.samples, 95)

    def as_dict(self) -> dict[str, float]:
        return {"mean_ms": round(self.mean, 4), "p95_ms": round(self.p95, 4)}


# -- the ingest path -----------------------------------------------------------------------
@dataclass
class IngestRow:
    rules: int
    compile_s: float
    always: int  # rules with no prefilter key: evaluated on every item
    candidates: float  # rules evaluated per item, mean
    hits: float  # rules matched per item, mean
    analysis: Timing
    matching: Timing
    total: Timing

    def as_dict(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "compile_s": round(self.compile_s, 3),
            "always_evaluated": self.always,
            "candidates_per_item": round(self.candidates, 2),
            "hits_per_item": round(self.hits, 3),
            "analysis": self.analysis.as_dict(),
            "matching": self.matching.as_dict(),
            "total": self.total.as_dict(),
        }


def item_of(d: Doc) -> Any:
    from kizashi.text.rulematch import Item

    level = next((t.removeprefix("tlp:") for t in d.tags if t.startswith("tlp:")), None)
    return Item(
        d.title, d.body, source=d.source, tags=set(d.tags), tlp=level, published=d.published
    )


def compile_rules(raws: Sequence[dict[str, Any]]) -> Any:
    """What ``RuleService.ruleset`` does: parse, compile each condition, one RuleSet."""
    from kizashi.model.rules import parse_rule
    from kizashi.text.rulematch import Compiled, RuleSet, compile_condition

    compiled = []
    for i, raw in enumerate(raws):
        spec = parse_rule(raw)
        compiled.append(Compiled((i, 1), spec.name, compile_condition(spec.when, spec.name)))
    return RuleSet(compiled)


def analysed(item: Any) -> Any:
    """``Terms.of(item)`` with what candidate lookup reads computed (the analysis)."""
    from kizashi.text.rulematch import Terms

    t = Terms.of(item)
    t.words, t.iocs, t.kinds, t.runs_text, t.language  # noqa: B018 - cached properties
    return t


def ingest(
    docs: Sequence[Doc], raws: Sequence[dict[str, Any]], sizes: Sequence[int]
) -> tuple[list[IngestRow], dict[int, Any]]:
    """Each item through every rule set in turn (the order rotating from item to item, so
    that machine load and caches fall on all alike); returns the rows and the rule sets."""
    from kizashi.text.analyse import analyse_shared

    clock = time.perf_counter
    rows: dict[int, IngestRow] = {}
    rulesets: dict[int, Any] = {}
    for n in sizes:
        start = clock()
        rulesets[n] = compile_rules(raws[:n])
        always = len(rulesets[n].always)
        rows[n] = IngestRow(n, clock() - start, always, 0.0, 0.0, Timing(), Timing(), Timing())
    for i, d in enumerate(docs):
        item = item_of(d)
        k = i % len(sizes)
        for n in [*sizes[k:], *sizes[:k]]:
            row, ruleset = rows[n], rulesets[n]
            # Each rule set pays for the analysis: none finds another's in the cache the
            # index shares with the rules (``analyse_shared``).
            analyse_shared.cache_clear()
            t0 = clock()
            terms = analysed(item)
            t1 = clock()
            hits = ruleset.evaluate(terms)
            t2 = clock()
            row.analysis.samples.append((t1 - t0) * 1e3)
            row.matching.samples.append((t2 - t1) * 1e3)
            row.total.samples.append((t2 - t0) * 1e3)
            row.hits += len(hits) / len(docs)
            row.candidates += len(ruleset.candidates(terms)) / len(docs)
    return [rows[n] for n in sizes], rulesets


# -- apply to existing ---------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    items: int  # documents in the corpus (the ingest sample is taken from its end)
    sample: int  # items timed on the ingest path
    calibration: int  # stored items every N is applied to first
    stages: tuple[int, ...]  # larger stores, grown in this order
    budget_s: float  # the longest one "apply to existing" is expected to take

    @classmethod
    def full(cls) -> Settings:
        stages = (2_000, 5_000, 10_000, 20_000, 50_000, FULL_ITEMS)
        return cls(FULL_ITEMS, FULL_SAMPLE, 1_000, stages, 900.0)

    @classmethod
    def quick(cls) -> Settings:
        # 200 stored items, no larger stage: every N once, 1,000 rules included.
        return cls(QUICK_ITEMS, QUICK_SAMPLE, 200, (), 30.0)


@dataclass
class RetroRow:
    rules: int
    items: int
    stage: str  # "calibration", or "largest that fits" the time budget
    save_s: float = 0.0
    apply_s: float = 0.0
    matched: int = 0
    status: str = ""
    #: Matches of the same rules over the same items in memory (``RuleSet.evaluate``).
    expected: int | None = None
    #: Inside the run: ``follower.catch_up()`` (the index taking in tags written so far;
    #: before each rule in the first version of the service, once per run since), and how
    #: many documents it rebuilt.
    reindex_s: float = 0.0
    reindexed: int = 0
    find_index_s: float = 0.0  # rules the index answers alone (queries, words, lists)
    find_text_s: float = 0.0  # rules that read the text: one pass over their candidates
    act_s: float = 0.0  # writing the tags (``actions.act``)
    #: After the run: the index taking in the tags it wrote (the follower's work, which a
    #: server does in the background), and how many documents it rebuilt.
    catch_up_after_s: float = 0.0
    reindexed_after: int = 0
    #: Deleting the rules afterwards, with their tags (``remove_tags=True``) and the index
    #: following, or without (None: not done, or done without the tags).
    cleanup_s: float | None = None

    @property
    def rate(self) -> float:
        return self.items / self.apply_s if self.apply_s else 0.0

    @property
    def rate_indexed(self) -> float:
        """Items/s counting the index's catching up after the run."""
        spent = self.apply_s + self.catch_up_after_s
        return self.items / spent if spent else 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: round(v, 2) if isinstance(v, float) else v for k, v in self.__dict__.items()
        }
        out["items_per_s"] = round(self.rate, 1)
        out["items_per_s_with_index"] = round(self.rate_indexed, 1)
        return out


@dataclass
class Store:
    items: int = 0
    store_s: float = 0.0
    index_s: float = 0.0


def report_raw(d: Doc) -> dict[str, Any]:
    from kizashi.model.article import article_properties

    return {
        "type": "report",
        "name": d.title,
        "published": d.published,
        "description": d.body,
        "extensions": article_properties({"feed_title": d.source}),
    }


def store_docs(kz: Any, docs: Sequence[Doc], st: Store) -> None:
    """Reports in batches of one tag set (``create_many_in`` gives a batch one tag list),
    no rules and no extraction; then the index catches up."""
    from kizashi.model.actor import SYSTEM

    groups: dict[tuple[str, ...], list[Doc]] = {}
    for d in docs:
        groups.setdefault(tuple(sorted(d.tags)), []).append(d)
    start = time.perf_counter()
    for tags, group in sorted(groups.items()):
        for i in range(0, len(group), BATCH):
            raws = [report_raw(d) for d in group[i : i + BATCH]]
            with kz.store.begin() as conn:
                kz.objects.create_many_in(conn, SYSTEM, raws, tags=list(tags), extract=False)
    st.store_s += time.perf_counter() - start
    start = time.perf_counter()
    kz.search.follower.catch_up()
    st.index_s += time.perf_counter() - start
    st.items += len(docs)


class Breakdown:
    """Times the parts of a run by wrapping, on these instances only, the follower's
    ``catch_up``, the rule matcher's ``matches`` and ``text_matches`` and the rule actions'
    ``act`` (behaviour unchanged)."""

    def __init__(self, kz: Any, row: RetroRow) -> None:
        self.follower = kz.search.follower
        self.matcher = kz.rules.matcher
        self.actions = kz.rules.actions
        self.row = row

    def __enter__(self) -> Breakdown:
        from kizashi.search.rules import needs_text

        clock = time.perf_counter
        row, catch_up = self.row, self.follower.catch_up
        matches, act = self.matcher.matches, self.actions.act
        text_matches = self.matcher.text_matches

        def timed_catch_up(*args: Any, **kw: Any) -> int:
            start = clock()
            n = int(catch_up(*args, **kw))
            row.reindex_s += clock() - start
            row.reindexed += n
            return n

        def timed_matches(spec: Any, *args: Any, **kw: Any) -> Any:
            start, before = clock(), row.reindex_s
            out = matches(spec, *args, **kw)
            spent = clock() - start - (row.reindex_s - before)
            if not needs_text(spec.when):  # text rules are timed in text_matches
                row.find_index_s += spent
            return out

        def timed_text(*args: Any, **kw: Any) -> Any:
            start = clock()
            out = text_matches(*args, **kw)
            row.find_text_s += clock() - start
            return out

        def timed_act(*args: Any, **kw: Any) -> None:
            start = clock()
            act(*args, **kw)
            row.act_s += clock() - start

        self.follower.catch_up = timed_catch_up
        self.matcher.matches = timed_matches
        self.matcher.text_matches = timed_text
        self.actions.act = timed_act
        return self

    def __exit__(self, *exc: object) -> None:
        for obj, name in (
            (self.follower, "catch_up"),
            (self.matcher, "matches"),
            (self.matcher, "text_matches"),
            (self.actions, "act"),
        ):
            delattr(obj, name)


def renamed(raws: Sequence[dict[str, Any]], run: int) -> list[dict[str, Any]]:
    """The rules with names and tags of their own for run ``run``: no run finds the links
    an earlier one made (which would spare it the writes)."""
    out = []
    for raw in raws:
        base = raw["name"]
        out.append({**raw, "name": f"{base}.{run}", "then": {"add_tags": [f"run{run}:{base}"]}})
    return out


def retro(kz: Any, raws: Sequence[dict[str, Any]], items: int, stage: str) -> RetroRow:
    from kizashi.model.actor import SYSTEM

    clock = time.perf_counter
    row = RetroRow(len(raws), items, stage)
    kz.search.follower.catch_up()  # nothing left behind from before
    start = clock()
    for raw in raws:
        kz.rules.save(SYSTEM, raw)
    row.save_s = clock() - start
    with Breakdown(kz, row):
        start = clock()
        run = kz.rules.apply(SYSTEM, None)
        row.apply_s = clock() - start
    row.matched, row.status = run.matched, run.status
    start = clock()
    row.reindexed_after = kz.search.follower.catch_up()
    row.catch_up_after_s = clock() - start
    return row


def remove(kz: Any, raws: Sequence[dict[str, Any]], row: RetroRow, *, tags: bool) -> None:
    """Delete a run's rules; with ``tags``, with the tags they added, the index following
    (timed: ``row.cleanup_s``)."""
    from kizashi.model.actor import SYSTEM

    start = time.perf_counter()
    for raw in raws:
        kz.rules.delete(SYSTEM, raw["name"], remove_tags=tags)
    kz.search.follower.catch_up()
    if tags:
        row.cleanup_s = time.perf_counter() - start


def expected_matches(terms: Sequence[Any], ruleset: Any) -> int:
    """The matches ``RuleSet.evaluate`` finds over analysed items (a check of the run)."""
    return sum(len(ruleset.evaluate(t)) for t in terms)


# -- the whole benchmark -------------------------------------------------------------------
@dataclass
class RulesResult:
    config: dict[str, Any]
    mix: dict[int, dict[str, int]]
    ingest: list[IngestRow]
    retro: list[RetroRow]
    store: Store
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "mix": {str(k): v for k, v in self.mix.items()},
            "ingest": [r.as_dict() for r in self.ingest],
            "retro": [r.as_dict() for r in self.retro],
            "store": {
                "items": self.store.items,
                "store_s": round(self.store.store_s, 1),
                "index_s": round(self.store.index_s, 1),
            },
            "notes": self.notes,
            "targets": self.targets(),
            "skipped": self.skipped,
        }

    def largest(self, n: int) -> RetroRow | None:
        """The run of ``n`` rules over the most items."""
        rows = [r for r in self.retro if r.rules == n]
        return max(rows, key=lambda r: r.items) if rows else None

    def targets(self) -> dict[str, Any]:
        n = max(SIZES)
        ing = next((r for r in self.ingest if r.rules == n), None)
        ret = self.largest(n)
        out: dict[str, Any] = {}
        if ret is not None:
            out["retro_items_per_s"] = {
                "value": round(ret.rate, 1),
                "items": ret.items,
                "target": TARGET_RETRO_RATE,
                # The target is over a store of TARGET_STORED items: a quick run's few
                # hundred cannot amortise a run's fixed costs, and is not judged.
                "met": ret.rate >= TARGET_RETRO_RATE if ret.items >= TARGET_STORED else None,
            }
        if ing is not None:
            for key, t in (("added_ms_total", ing.total), ("added_ms_matching", ing.matching)):
                out[key] = {
                    "mean": round(t.mean, 3),
                    "p95": round(t.p95, 3),
                    "target": TARGET_ADDED_MS,
                    "met": t.mean < TARGET_ADDED_MS,
                }
        return out


def _commit() -> str:
    """The checkout measured: commit, and whether src/ had uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "src")
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes in src/' if dirty else ''}"


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def run(quick: bool, progress: Progress | None = None) -> RulesResult:
    say = progress or (lambda _msg: None)
    s = Settings.quick() if quick else Settings.full()
    config: dict[str, Any] = {
        "items": s.items,
        "sample": s.sample,
        "calibration_items": s.calibration,
        "stages": list(s.stages),
        "budget_s": s.budget_s,
        "vocab_docs": VOCAB_DOCS,
        "seed": SEED,
        "load_1min": [_load()],
        "commit": _commit(),
    }
    try:
        say(f"rules: building the corpus ({s.items:,} documents) ...")
        docs = build_corpus(s.items)
    except FileNotFoundError as exc:
        return RulesResult(config, {}, [], [], Store(), skipped=str(exc))
    say(f"rules: vocabulary of {VOCAB_DOCS:,} documents, {max(SIZES):,} rules ...")
    vocab = vocabulary(docs[:VOCAB_DOCS])
    raws = make_rules(vocab)
    config["vocabulary"] = {
        "ja_words": len(vocab.ja),
        "en_words": len(vocab.en),
        "phrases": len(vocab.phrases),
        "indicators": sum(len(v) for v in vocab.present.values()),
    }
    config["watchlist_values"] = sum(len(r["when"].get("watchlist", ())) for r in raws)
    mixes = {n: mix(raws[:n]) for n in SIZES}
    res = RulesResult(config, mixes, [], [], Store())

    # The ingest path: the sample is the end of the corpus, away from the vocabulary's part.
    picked = docs[-s.sample :]
    say(f"rules: ingest path, 0 to {max(SIZES):,} rules over {len(picked):,} items ...")
    res.ingest, rulesets = ingest(picked, raws, (0, *SIZES))

    from kizashi.services import Kizashi

    # Stored in this order: the documents the rules were drawn from come last, so a
    # smaller store holds the watch lists' values at their corpus-wide rate or less.
    order = [*docs[VOCAB_DOCS:], *docs[:VOCAB_DOCS]]
    tmp = Path(tempfile.mkdtemp(prefix="kizashi-bench-rules-"))
    kz = Kizashi.open(f"sqlite:///{tmp / 'rules.db'}", warninglists=False)
    st = res.store

    pending: list[tuple[RetroRow, list[dict[str, Any]]]] = []

    def measure(n: int, stage: str) -> RetroRow:
        """One run of ``n`` rules of their own names and tags. The previous run's rules go
        first: at calibration size with their tags (timed, for the record), later
        without (removing a large run's tags takes longer than the run)."""
        for row, rules in pending:
            remove(kz, rules, row, tags=row.stage == "calibration")
        pending.clear()
        say(f"rules: apply to existing, {n:,} rules over {st.items:,} items ...")
        rules = renamed(raws[:n], len(res.retro) + 1)
        row = retro(kz, rules, st.items, stage)
        res.retro.append(row)
        pending.append((row, rules))
        return row

    try:
        say(f"rules: storing {s.calibration:,} reports and indexing them ...")
        store_docs(kz, order[: s.calibration], st)
        plan: dict[int, list[int]] = {}
        prev: RetroRow | None = None
        terms: list[Any] = []
        for n in SIZES:
            if prev is not None:
                # The run grows with the rules; the index after it at most to every item.
                per_doc = prev.catch_up_after_s / max(1, prev.reindexed_after)
                guess = prev.apply_s * n / prev.rules + per_doc * st.items
                if guess > s.budget_s:
                    res.notes.append(
                        f"{n:,} rules on {st.items:,} items not run: about {guess:,.0f} s "
                        f"expected (from {prev.rules:,} rules), over the {s.budget_s:,.0f} s "
                        "budget"
                    )
                    continue
            prev = measure(n, "calibration")
            terms = terms or [analysed(item_of(d)) for d in order[: st.items]]
            prev.expected = expected_matches(terms, rulesets[n])
            # Run and index after it, per item, times the items of each larger stage.
            per_item = (prev.apply_s + prev.catch_up_after_s) / st.items
            fits = [x for x in s.stages if x > st.items and per_item * x <= s.budget_s]
            if fits:
                plan.setdefault(max(fits), []).append(n)
            bigger = [x for x in s.stages if x > st.items and x not in fits]
            if bigger:
                res.notes.append(
                    f"{n:,} rules on {min(bigger):,} items not run: about "
                    f"{per_item * min(bigger):,.0f} s expected (the run and the index after "
                    f"it), over the {s.budget_s:,.0f} s budget"
                )
        for size in sorted(plan):
            say(f"rules: storing {size - st.items:,} more reports and indexing them ...")
            store_docs(kz, order[st.items : size], st)
            for n in plan[size]:
                measure(n, "largest that fits")
    finally:
        kz.close()
        shutil.rmtree(tmp, ignore_errors=True)
    res.retro.sort(key=lambda r: (r.rules, r.items))
    config["load_1min"].append(_load())
    return res


# -- output --------------------------------------------------------------------------------
def render(res: RulesResult, env: dict[str, Any]) -> str:
    if res.skipped:
        return f"Kizashi benchmark: auto-tagging rules\n  skipped: {res.skipped}"
    c = res.config
    mixes = "; ".join(
        f"{n:,}: " + ", ".join(f"{v} {k}" for k, v in m.items()) for n, m in res.mix.items()
    )
    out = [
        "Kizashi benchmark: auto-tagging rules (ingest path and apply to existing, one core)",
        f"machine: {env['cpus']} CPUs ({env['cpu']}), {env['memory_gib']} GiB, {env['platform']}",
        f"python {env['python']}, SQLite {env['sqlite']}; commit {c['commit']}; load average "
        "(1 min) at start and end: " + " / ".join(f"{v:.2f}" for v in c["load_1min"]),
        f"corpus: bench.search_data, {c['items']:,} documents of about 2 KB (Japanese with "
        f"English, planted indicators); rules drawn from the first {c['vocab_docs']:,}",
        f"rule mix: {mixes}; {c['watchlist_values']:,} watch-list values in all",
        "",
        f"Ingest path, per item, {c['sample']:,} items (ms). analysis: Terms.of + Sudachi + "
        "the extractor,",
        "what search does to a text; matching: ruleset.evaluate on the analysed terms, the "
        "rules' own cost",
    ]
    rows = [
        [
            f"{r.rules:,}",
            f"{r.compile_s:.2f}",
            f"{r.always}",
            f"{r.candidates:.1f}",
            f"{r.hits:.2f}",
            f"{r.analysis.mean:.3f}",
            f"{r.analysis.p95:.3f}",
            f"{r.matching.mean:.3f}",
            f"{r.matching.p95:.3f}",
            f"{r.total.mean:.3f}",
            f"{r.total.p95:.3f}",
        ]
        for r in res.ingest
    ]
    hdr = ["rules", "compile s", "no key", "evaluated", "hits"]
    hdr += ["analysis", "p95", "matching", "p95", "total", "p95"]
    out += [table(hdr, rows), ""]
    st = res.store
    out += [
        "Apply to existing: kz.rules.apply(SYSTEM, None), SQLite + the in-memory index; "
        f"{st.items:,} reports stored in {st.store_s:.1f} s,",
        f"indexed in {st.index_s:.1f} s (not in the rates). Inside the run: find = the index "
        "queries (index) or every candidate's",
        "text read and tested (regex); write = the tags; re-index = follower.catch_up() "
        "inside the run. After it: the index taking in",
        "the run's tags (a server's follower does it in the background); the last column "
        "counts it in.",
    ]
    rows = [
        [
            f"{r.rules:,}",
            f"{r.items:,}",
            f"{r.apply_s:.1f}",
            f"{r.rate:,.1f}",
            f"{r.matched:,}",
            "-" if r.expected is None else f"{r.expected:,}",
            f"{r.matched / r.items:.2f}" if r.items else "-",
            f"{r.find_index_s:.1f}",
            f"{r.find_text_s:.1f}",
            f"{r.act_s:.1f}",
            f"{r.reindex_s:.1f}",
            f"{r.catch_up_after_s:.1f}",
            f"{r.reindexed + r.reindexed_after:,}",
            f"{r.rate_indexed:,.1f}",
        ]
        for r in res.retro
    ]
    hdr = ["rules", "items", "apply s", "items/s", "matches", "in memory", "per item"]
    hdr += ["find index s", "find regex s", "write s", "re-index s", "index after s"]
    hdr += ["docs re-indexed", "items/s with index"]
    out += [table(hdr, rows)]
    cleaned = [r for r in res.retro if r.cleanup_s is not None]
    if cleaned:
        out.append(
            "deleting a calibration run's rules with their tags (remove_tags=True), the index "
            "following (s): "
            + "; ".join(f"{r.rules:,} rules/{r.items:,} items {r.cleanup_s:.1f}" for r in cleaned)
        )
    out += [f"  {note}" for note in res.notes]
    t = res.targets()
    out += ["", "Targets"]
    if "retro_items_per_s" in t:
        x = t["retro_items_per_s"]
        judged = (
            verdict(x["met"])
            if x["met"] is not None
            else f"not judged: the target is over {TARGET_STORED:,} items (run without --quick)"
        )
        out.append(
            f"  apply to existing, 1,000 rules over {x['items']:,} items: {x['value']:,.1f} "
            f"items/s (target >= {TARGET_RETRO_RATE:.0f}): {judged}"
        )
    else:
        out.append("  apply to existing, 1,000 rules: not measured (see above)")
    if "added_ms_total" in t:
        tot, mat = t["added_ms_total"], t["added_ms_matching"]
        out.append(
            f"  ingest path, 1,000 rules, analysis + matching: mean {tot['mean']:.2f} ms/item, "
            f"p95 {tot['p95']:.2f} (target < {TARGET_ADDED_MS:.0f} ms): {verdict(tot['met'])}"
        )
        out.append(
            f"  of which the rules' own matching: mean {mat['mean']:.2f} ms/item, p95 "
            f"{mat['p95']:.2f} (target < {TARGET_ADDED_MS:.0f} ms): {verdict(mat['met'])}"
        )
    return "\n".join(out)
