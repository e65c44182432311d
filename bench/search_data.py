"""The search benchmark's corpus, its queries and their substring truth.

- :func:`build_corpus`: ``n`` deterministic documents of about 2 KB (UTF-8) recombined from
  the real Japanese security prose in ``../shared/data/ja/security-prose-ja.txt`` (OWASP
  translations, CC BY-SA 4.0), with English sentences and terms mixed in and indicators
  planted at known rates: ``10.0.0.5`` beside ``10.0.0.50`` and decoys such as
  ``110.0.0.5``; ``evil-domain.com`` with its subdomains, URLs, defanged (``[.]``,
  ``hxxp``) and full-width forms, and decoys (``notevil-domain.com``); hashes and CVE ids.
  Each document has a title (20-60 characters), a ``published`` time (2019-2026, more
  recent ones more often), tags (one TLP marking plus a Zipf-like tail) and a source.
- :data:`QUERIES`: 50 queries in the research's mix (``../shared/research/search.md``):
  1- and 2-character words, katakana compounds, spelling variants, phrases, English words,
  indicators, rare, common and tag-like terms, each in Kizashi's syntax (words joined by
  AND, ``"quoted phrases"``) and in Groonga's.
- :func:`substring_truth`: the documents whose NFKC-folded, case-folded text contains the
  folded term, the baseline recall is measured against.

Same ``n`` and seed, same documents; 100,000 build in under 10 s and nothing is cached on
disk (the prose is read once per process).
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

SEED = 7
PROSE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ja"
PROSE = PROSE_DIR / "security-prose-ja.txt"
DOC_BYTES = 2_000
#: ``published`` spread: 2019-01-01 to 2026-12-31 (UTC), skewed towards recent years.
_T0, _T1 = 1_546_300_800, 1_798_761_599

TLP = {"tlp:green": 55, "tlp:amber": 25, "tlp:clear": 15, "tlp:red": 5}
#: Free tags, most frequent first: a document's extra tags are drawn with weight 1/rank.
TAGS = [
    "phishing", "malware", "apt", "ransomware", "vulnerability", "region:japan", "c2",
    "フィッシング", "botnet", "ランサムウェア", "product:ivanti", "標的型攻撃", "actor:lazarus",
    "product:fortinet", "sector:finance", "脆弱性", "actor:blacktech", "product:exchange",
    "region:asia", "actor:mirrorface", "sector:manufacturing", "supply-chain", "zero-day",
]  # fmt: skip
SOURCES = [
    "JPCERT/CC", "IPA", "The Hacker News", "BleepingComputer", "トレンドマイクロ", "CISA",
    "NISC", "警察庁", "ラック", "Unit 42", "Cisco Talos", "Mandiant", "NTTセキュリティ",
    "マクニカ", "Microsoft Threat Intelligence", "ESET", "JC3", "Kaspersky", "Sophos", "警視庁",
]  # fmt: skip
ACTORS = ["Lazarus", "BlackTech", "APT10", "MirrorFace", "LockBit", "Emotet", "Tick", "APT41"]
PRODUCTS = ["Ivanti Connect Secure", "FortiOS", "Microsoft Exchange", "Citrix NetScaler"]
PRODUCTS += ["Palo Alto PAN-OS", "MOVEit Transfer", "Apache Log4j", "VMware ESXi"]
CVES = ["CVE-2023-46805", "CVE-2024-21887", "CVE-2018-13379", "CVE-2021-34473"]
CVES += ["CVE-2023-4966", "CVE-2024-3400", "CVE-2023-34362", "CVE-2021-44228"]
#: A SHA-256 planted in about one document in 500 (a rare indicator query).
HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EN = [
    "The loader drops an encrypted payload and contacts its C2 server every 300 seconds.",
    "{actor} exploited {product} ({cve}) to gain an initial foothold.",
    "The ransomware operators exfiltrated data before encrypting the file servers.",
    "Log4Shell ({cve2}) is still being exploited against unpatched {product} instances.",
    "The backdoor supports file upload, command execution and a reverse SOCKS proxy.",
    "Phishing e-mails impersonating a logistics company deliver the first-stage payload.",
    "Defenders should apply the vendor patch for {cve} and rotate exposed credentials.",
    "Telemetry shows {actor} scanning for vulnerable {product} appliances since the disclosure.",
    "The C2 server was hosted on a bulletproof provider and rotated every few days.",
    "A supply chain compromise of a build server let the attackers sign malicious updates.",
    "The malware achieves persistence through a scheduled task and a registry Run key.",
    "Analysts attribute the campaign to {actor} with moderate confidence.",
]
EN_TITLES = [
    "{actor} exploits {product} flaw {cve}",
    "Ransomware attack on Japanese manufacturer",
    "Phishing wave delivers new payload via {product}",
    "{actor} C2 server infrastructure update",
    "Advisory: patch {product} now ({cve})",
]
JA_TITLE_PREFIX = ["【注意喚起】", "【速報】", "【解説】", "【脆弱性情報】"]
JA_TEMPLATES = [
    "不正な通信先は{}であり、現在も稼働している。",
    "C2サーバ「{}」への通信を確認した。",
    "攻撃者は{}を経由して侵入したとみられる。",
    "IoC：{}",
    "通信記録には{}への接続が残っていました。",
]
EN_TEMPLATES = ["Traffic to {} was seen from several victims. ", "Indicators: {}. "]
_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
_EVIL = [
    ("evil-domain.com", 30), ("cdn.evil-domain.com", 8), ("login.evil-domain.com", 5),
    ("a.b.evil-domain.com", 2), ("https://evil-domain.com/gate.php", 10),
    ("admin@evil-domain.com", 5), ("evil-domain[.]com", 15),
    ("hxxp://evil-domain[.]com/dl/a.exe", 10), ("hxxps://update.evil-domain[.]com/x", 5),
    ("evil-domain.com".translate(_FULLWIDTH), 10),
]  # fmt: skip
#: Planted indicators: per document, the chance of one and its forms (weighted).
PLANTED: list[tuple[float, list[tuple[str, int]]]] = [
    (0.006, [("10.0.0.5", 6), ("10.0.0.5:8080", 2), ("http://10.0.0.5/gate.php", 1)]),
    (0.001, [("10.0.0[.]5", 1), ("10.0.0.5".translate(_FULLWIDTH), 1)]),
    (0.005, [("10.0.0.50", 5), ("10.0.0.50:443", 1), ("10.0.0[.]50", 1)]),
    (0.004, [("110.0.0.5", 1), ("10.0.0.55", 1), ("10.0.0.15", 1), ("10.0.0.51", 1)]),
    (0.05, _EVIL),
    (0.004, [("notevil-domain.com", 1), ("evil-domain.co.jp", 1), ("evil-domain.com.cn", 1)]),
    (0.002, [(HASH, 1)]),
]
_GENERIC_TLDS = ["com", "net", "jp", "co.jp", "info", "xyz", "top", "io"]
_GENERIC_WORDS = ["secure", "login", "update", "cdn", "portal", "verify", "cloud", "mail"]


@dataclass(slots=True)
class Doc:
    title: str
    body: str
    published: str  # ISO 8601 UTC, "YYYY-MM-DDTHH:MM:SS.000Z"
    tags: list[str] = field(default_factory=list)
    source: str = ""


class Query(NamedTuple):
    text: str  # Kizashi syntax: words (AND), "quoted phrases"
    groonga: str  # the same for Groonga's --query, every part quoted and escaped
    kind: str


@cache
def _prose() -> tuple[list[str], list[int], list[str]]:
    """Sentences, their UTF-8 sizes and the title candidates, loaded once per process."""
    if not PROSE.is_file():
        raise FileNotFoundError(
            f"the Japanese prose corpus is missing: {PROSE} (see {PROSE_DIR / 'README.md'})"
        )
    lines = [s.strip() for s in PROSE.read_text(encoding="utf-8").splitlines()]
    lines = [s for s in lines if s]
    titles = [t for s in lines if 20 <= len(t := s.rstrip("。．.")) <= 60]
    return lines, [len(s.encode()) for s in lines], titles


class _Writer:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.ja, self.ja_bytes, self.titles = _prose()
        self.tag_w = [1 / (k + 1) for k in range(len(TAGS))]
        self.src_w = [1 / (k + 1) ** 0.8 for k in range(len(SOURCES))]

    def fill(self, template: str) -> str:
        r = self.r
        return template.format(
            actor=r.choice(ACTORS), product=r.choice(PRODUCTS), cve=r.choice(CVES), cve2=CVES[-1]
        )

    def generic(self) -> str:
        r = self.r
        kind = r.randrange(6)
        if kind == 0:
            first = r.choice([45, 103, 185, 193, 203])
            return f"{first}.{r.randrange(256)}.{r.randrange(256)}.{r.randint(1, 254)}"
        if kind == 1:
            host = f"{r.choice(_GENERIC_WORDS)}-{r.choice(_GENERIC_WORDS)}{r.randint(1, 999)}"
            return f"{host}.{r.choice(_GENERIC_TLDS)}"
        if kind == 2:
            return f"{r.getrandbits(128):032x}"
        if kind == 3:
            return f"{r.getrandbits(256):064x}"
        if kind == 4:
            return f"CVE-{r.randint(2014, 2026)}-{r.randint(1000, 49999)}"
        return r.choice(CVES)

    def indicators(self, japanese: bool) -> list[str]:
        r = self.r
        iocs = [self.generic() for _ in range(r.randint(1, 3))]
        for p, forms in PLANTED:
            if r.random() < p:
                iocs.append(r.choices([f for f, _ in forms], [w for _, w in forms])[0])
        out = []
        for ioc in iocs:
            ja = japanese if r.random() < 0.85 else not japanese
            out.append(r.choice(JA_TEMPLATES if ja else EN_TEMPLATES).format(ioc))
        return out

    def title(self) -> str:
        r = self.r
        if r.random() < 0.25:
            t = self.fill(r.choice(EN_TITLES))
            return t if len(t) <= 60 else t[:60].rsplit(" ", 1)[0]
        t = r.choice(self.titles)
        prefix = r.choice(JA_TITLE_PREFIX)
        return prefix + t if r.random() < 0.2 and len(prefix + t) <= 60 else t

    def body(self) -> str:
        r = self.r
        japanese = r.random() < 0.85
        en_share = 0.12 if japanese else 0.8
        extra = self.indicators(japanese)
        size = r.randint(DOC_BYTES - 300, DOC_BYTES + 100) - sum(len(e.encode()) for e in extra)
        parts: list[str] = []
        nbytes = 0
        nja = len(self.ja)
        while nbytes < size:
            if r.random() < en_share:
                s = self.fill(r.choice(EN)) + " "
                nbytes += len(s)
            else:
                i = int(r.random() * nja)
                s = self.ja[i]
                nbytes += self.ja_bytes[i]
            if r.random() < 0.1:
                s += "\n"
            parts.append(s)
        for e in extra:
            parts.insert(r.randrange(len(parts) + 1), e)
        return "".join(parts).strip()

    def doc(self) -> Doc:
        r = self.r
        ts = _T0 + int((_T1 - _T0) * r.random() ** 0.7)
        published = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))
        tags = [r.choices(list(TLP), list(TLP.values()))[0]]
        for _ in range(r.choices([0, 1, 2, 3], [2, 4, 3, 1])[0]):
            tag = r.choices(TAGS, self.tag_w)[0]
            if tag not in tags:
                tags.append(tag)
        source = r.choices(SOURCES, self.src_w)[0]
        return Doc(self.title(), self.body(), published, tags, source)


def build_corpus(n: int, seed: int = SEED) -> list[Doc]:
    """``n`` documents of about 2 KB; raises FileNotFoundError without the prose corpus."""
    w = _Writer(seed)
    return [w.doc() for _ in range(n)]


# -- queries -----------------------------------------------------------------------------------
_PART = re.compile(r'"([^"]*)"|(\S+)')


def parts(text: str) -> list[str]:
    """The words and phrases of a Kizashi query (quotes removed)."""
    return [p for a, b in _PART.findall(text) if (p := a or b)]


def groonga_query(text: str) -> str:
    """Groonga ``--query`` syntax: every part a quoted phrase (AND), ``"`` and ``\\`` escaped.

    Quoting keeps ``-`` (NOT), ``:`` (column), ``+``, ``OR`` and parentheses literal.
    """
    return " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts(text))


_QUERIES = [
    ("ja-1char", ["鍵", "型", "穴"]),
    ("ja-2char", ["ログ", "攻撃", "認証", "侵害", "暗号"]),
    ("katakana", ["マルウェア", "チェーン", "サプライチェーン", "ランサムウェア", "ペイロード"]),
    ("katakana", ["キーチェーン", "フィッシング"]),
    ("variant", ["コンピューター", "コンピュータ", "サーバー", "サーバ", "改竄", "改ざん"]),
    ("phrase", ['"不正アクセス"', '"中間者攻撃"', '"証明書のピン留め"', '"C2 server"']),
    ("and", ["暗号 鍵", "Android ルート化", "マルウェア payload"]),
    ("english", ["payload", "ransomware", "Log4Shell", "backdoor", "Android", "Frida"]),
    ("indicator", ["10.0.0.5", "10.0.0.50", "evil-domain.com", "cdn.evil-domain.com"]),
    ("indicator", ["CVE-2021-44228", "CVE-2023-46805", HASH]),
    ("rare", ["ジェイルブレイク", "ブレッチリー", "squirrel", "罠"]),
    ("common", ["アプリ", "データ", "セキュリティ"]),
    ("tag", ["apt", "c2"]),
]
QUERIES: list[Query] = [
    Query(text, groonga_query(text), kind) for kind, texts in _QUERIES for text in texts
]


# -- truth -------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """NFKC, then case folding: full-width ASCII becomes ASCII, ``Payload`` ``payload``."""
    return unicodedata.normalize("NFKC", text).casefold()


def folded_texts(docs: Iterable[Doc]) -> list[str]:
    """Each document's folded title and body (compute once to test many terms)."""
    return [fold(f"{d.title}\n{d.body}") for d in docs]


def substring_truth(docs: Iterable[Doc] | list[str], term: str) -> set[int]:
    """Indexes of the documents whose folded title + body contains the folded ``term``.

    ``docs`` may be the documents or their :func:`folded_texts`. A phrase query's truth is
    its unquoted text; this is a substring test, so ``10.0.0.5`` also finds ``10.0.0.50``.
    """
    needle = fold(term)
    texts = [d if isinstance(d, str) else fold(f"{d.title}\n{d.body}") for d in docs]
    return {i for i, t in enumerate(texts) if needle in t}
