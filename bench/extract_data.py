"""Evaluation cases, a mixed Japanese/English corpus and adversarial inputs for extraction.

- :func:`load_cases`: the labelled cases of ``tests/fixtures/ioc/cases.yaml``, plus
  ``txt2stix_labels.yaml`` beside it when that file exists (same format).
- :func:`build_corpus`: deterministic documents (2-32 KB each, about ``target_bytes``
  UTF-8 bytes in all) of real prose: Japanese sentences from
  ``../shared/data/ja/security-prose-ja.txt`` and English from the ``description``
  fields of the ATT&CK STIX bundles in ``../shared/data/attack`` (the Enterprise bundle
  when there is one, else every bundle there: today ATT&CK for ICS 17.1). Between the
  sentences go generated indicator sentences (seeded): IPs, CIDRs, domains, URLs and
  e-mails (plain and defanged), hashes, CVE/JVN/ATT&CK ids, registry keys, paths, wallets,
  MACs, full-width forms and indicators glued to Japanese, about one indicator per 300-500
  bytes. The prose itself also carries some (ATT&CK links and ids).
- :func:`adversarial`: inputs of 10^5 characters that make backtracking regexes blow up.
- :func:`document`: one realistic document of a given size (1 MiB by default).

The same seed gives the same text on every run.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.feed_data import PROSE, load_prose

SEED = 20261206
ROOT = Path(__file__).resolve().parents[1]
CASE_FILES = [
    ROOT / "tests" / "fixtures" / "ioc" / "cases.yaml",
    ROOT / "tests" / "fixtures" / "ioc" / "txt2stix_labels.yaml",  # optional
]
SHARED = ROOT.parent / "shared" / "data"
ATTACK = SHARED / "attack"

Case = dict[str, Any]


# -- labelled cases ------------------------------------------------------------------------
def load_cases() -> tuple[list[Case], dict[str, int]] | str:
    """The cases and a count per file, or why they cannot be loaded."""
    try:
        import yaml
    except ImportError:
        return "PyYAML is not installed (pip install pyyaml)"
    cases: list[Case] = []
    counts: dict[str, int] = {}
    for path in CASE_FILES:
        if not path.is_file():
            if path == CASE_FILES[0]:
                return f"{path} is missing"
            continue
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(loaded, list):
            return f"{path}: expected a list of cases"
        cases += [{**case, "_file": path.name} for case in loaded]  # for scores per file
        counts[path.name] = len(loaded)
    return cases, counts


# -- English prose -------------------------------------------------------------------------
def _descriptions(node: Any, out: list[str]) -> None:
    if isinstance(node, dict):
        text = node.get("description")
        if isinstance(text, str) and len(text) >= 40:
            out.append(text)
        for value in node.values():
            if isinstance(value, (dict, list)):
                _descriptions(value, out)
    elif isinstance(node, list):
        for value in node:
            _descriptions(value, out)


def attack_bundles(folder: Path = ATTACK) -> list[Path]:
    """The Enterprise ATT&CK bundle if there is one, else every JSON file there."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    enterprise = [f for f in files if f.name.startswith("enterprise-attack")]
    return enterprise or files


def load_english(folder: Path = ATTACK) -> list[str] | None:
    """English sentences from ATT&CK descriptions, or None when there are none."""
    texts: list[str] = []
    for path in attack_bundles(folder):
        _descriptions(json.loads(path.read_text(encoding="utf-8")), texts)
    sentences = []
    for text in dict.fromkeys(texts):  # unique, in file order
        for para in text.split("\n"):
            sentences += [s for s in re.split(r"(?<=[.!?])\s+", para.strip()) if len(s) > 20]
    return sentences or None


# -- indicators ------------------------------------------------------------------------------
_WORDS = ["secure", "login", "update", "cdn", "portal", "account", "verify", "cloud", "mail"]
_WORDS += ["sync", "auth", "docs", "kizashi", "delivery", "invoice", "support", "api"]
_TLDS = ["com", "net", "jp", "co.jp", "ne.jp", "info", "xyz", "top", "io", "org", "ru"]
_PATHS = ["gate.php", "dl/a.exe", "wp-admin/upd.php", "login", "x86", "bins/mips", "track?no="]
_HIVES = ["HKLM", "HKCU", "HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER"]
_KEYS = ["Software\\Microsoft\\Windows\\CurrentVersion\\Run", "Software\\Classes\\CLSID"]
_EXE = ["exe", "dll", "scr", "bat", "ps1", "vbs", "js", "lnk", "hta"]
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

JA_TEMPLATES = [
    "不正な通信先は{}であり、現在も稼働している。",
    "C2サーバ「{}」への通信を確認した。",
    "攻撃者は{}を経由して侵入したとみられる。",
    "検体のハッシュ値は{}です。",
    "{}に関する脆弱性が悪用されています。",
    "フィッシングサイト（{}）に誘導される事例が報告された。",
    "送信元{}からのメールに注意してください。",
    "調査の結果、{}と{}が関連していることが判明した。",
    "IoC：{}、{}、{}",
    "ログには{}への接続が残っていました。",
]
EN_TEMPLATES = [
    "The loader beacons to {} every 300 seconds.",
    "Defenders should block {} at the proxy.",
    "The sample ({}) downloads a second stage from {}.",
    "Exploitation of {} was observed in the wild.",
    "Indicators: {}, {} and {}.",
    "Traffic to {} was seen from several victims.",
    "The phishing e-mail came from {} and linked to {}.",
    "Persistence is set under {}.",
]
#: Indicator forms and their weights in the generated sentences.
_KINDS = {"ipv4": 10, "ipv4port": 3, "ipv4def": 4, "ipv6": 2, "cidr": 2, "domain": 12}
_KINDS |= {"domdef": 5, "url": 8, "urldef": 6, "email": 4, "emaildef": 2, "md5": 5, "sha1": 4}
_KINDS |= {"sha256": 6, "cve": 6, "jvn": 1, "attack": 3, "reg": 1, "path": 1, "file": 2}
_KINDS |= {"btc": 1, "mac": 1, "asn": 1, "fullwidth": 4}
_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


class _Indicators:
    """Seeded indicator strings in the forms analysts and reports write them."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def hexs(self, n: int) -> str:
        h = "".join(self.r.choice("0123456789abcdef") for _ in range(n))
        return h.upper() if self.r.random() < 0.1 else h

    def ipv4(self) -> str:
        r = self.r
        first = r.choice([45, 103, 139, 185, 193, 203, 198, 192, 61, 118, 80, 10])
        return f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def domain(self) -> str:
        r = self.r
        sub = f"{r.choice(_WORDS)}." if r.random() < 0.3 else ""
        return f"{sub}{r.choice(_WORDS)}-{r.choice(_WORDS)}{r.randint(1, 999)}.{r.choice(_TLDS)}"

    def url(self, host: str) -> str:
        r = self.r
        return f"{r.choice(['http', 'https'])}://{host}/{r.choice(_PATHS)}{r.randint(1, 99)}"

    def one(self) -> str:
        r = self.r
        kind = r.choices(list(_KINDS), weights=list(_KINDS.values()))[0]
        if kind == "ipv4":
            return self.ipv4()
        if kind == "ipv4port":
            return f"{self.ipv4()}:{r.choice([443, 8080, 4444, 53])}"
        if kind == "ipv4def":
            return self.ipv4().replace(".", "[.]", r.choice([1, 3]))
        if kind == "ipv6":
            return f"2001:db8:{r.randint(1, 0xFFFF):x}::{r.randint(1, 0xFFFF):x}"
        if kind == "cidr":
            return f"{self.ipv4().rsplit('.', 1)[0]}.0/{r.choice([16, 24, 28])}"
        if kind == "domain":
            return self.domain()
        if kind == "domdef":
            return self.domain().replace(".", r.choice(["[.]", "(.)", "[dot]"]))
        if kind == "url":
            return self.url(r.choice([self.domain(), self.ipv4()]))
        if kind == "urldef":
            u = self.url(self.domain()).replace(".", "[.]")
            return u.replace("http", "hxxp", 1).replace("://", r.choice(["://", "[:]//"]), 1)
        if kind == "email":
            return f"{r.choice(['info', 'support', 'admin', 'noreply'])}@{self.domain()}"
        if kind == "emaildef":
            return f"{r.choice(['info', 'admin'])}[at]{self.domain().replace('.', '[.]')}"
        if kind in ("md5", "sha1", "sha256"):
            return self.hexs({"md5": 32, "sha1": 40, "sha256": 64}[kind])
        if kind == "cve":
            return f"CVE-{r.randint(2014, 2025)}-{r.randint(1000, 49999)}"
        if kind == "jvn":
            return f"JVNDB-{r.randint(2018, 2025)}-{r.randint(1, 20000):06d}"
        if kind == "attack":
            return f"T{r.randint(1001, 1650)}" + (
                f".{r.randint(1, 12):03d}" if r.random() < 0.4 else ""
            )
        if kind == "reg":
            return f"{r.choice(_HIVES)}\\{r.choice(_KEYS)}"
        if kind == "path":
            return f"C:\\Users\\Public\\{r.choice(_WORDS)}.{r.choice(_EXE)}"
        if kind == "file":
            return f"{r.choice(_WORDS)}_{r.randint(1, 99)}.{r.choice(_EXE)}"
        if kind == "btc":
            return "1" + "".join(r.choice(_B58) for _ in range(33))
        if kind == "mac":
            return ":".join(f"{r.randint(0, 255):02x}" for _ in range(6))
        if kind == "asn":
            return f"AS{r.randint(1000, 65000)}"
        # full-width (as typed with a Japanese IME): NFKC turns it back into ASCII
        return r.choice([self.ipv4(), self.domain()]).translate(_FULLWIDTH)

    def sentence(self, lang: str) -> tuple[str, int]:
        template = self.r.choice(JA_TEMPLATES if lang == "ja" else EN_TEMPLATES)
        k = template.count("{}")
        return template.format(*(self.one() for _ in range(k))), k


# -- corpus ----------------------------------------------------------------------------------
@dataclass
class Corpus:
    docs: list[str]
    nbytes: int  # UTF-8
    indicators: int  # generated ones (the prose has a few more of its own)
    sources: dict[str, str]

    @property
    def bytes_per_indicator(self) -> float:
        return self.nbytes / self.indicators if self.indicators else 0.0

    def head(self, nbytes: int) -> list[str]:
        """Whole documents from the start, at least ``nbytes`` in all (a peer's slice)."""
        out, size = [], 0
        for doc in self.docs:
            if size >= nbytes:
                break
            out.append(doc)
            size += len(doc.encode())
        return out


def _prose() -> tuple[list[str], list[str]] | str:
    ja = load_prose()
    if ja is None:
        return f"the Japanese prose corpus is missing ({PROSE})"
    en = load_english()
    if en is None:
        return f"no ATT&CK STIX bundle with descriptions in {ATTACK}"
    return ja, en


class _DocWriter:
    def __init__(self, ja: list[str], en: list[str], seed: int) -> None:
        self.ja, self.en = ja, en
        self.r = random.Random(seed)
        self.iocs = _Indicators(self.r)

    def doc(self, size: int) -> tuple[str, int]:
        """One document of about ``size`` UTF-8 bytes and its indicator count."""
        r = self.r
        mode = r.choices(["ja", "en", "mixed"], weights=[5, 3, 2])[0]
        parts: list[str] = []
        nbytes = count = 0
        next_ioc = r.randint(150, 500)
        while nbytes < size:
            lang = mode if mode != "mixed" else r.choice(["ja", "en"])
            if nbytes >= next_ioc:
                text, k = self.iocs.sentence(lang)
                count += k
                next_ioc = nbytes + k * r.randint(300, 500)
            else:
                text = r.choice(self.ja if lang == "ja" else self.en)
            text += "\n\n" if r.random() < 0.2 else ("" if lang == "ja" else " ")
            parts.append(text)
            nbytes += len(text.encode())
        return "".join(parts), count


def build_corpus(target_bytes: int, *, seed: int = SEED) -> Corpus | str:
    """Documents of 2-32 KB until ``target_bytes``, or why the corpus cannot be built."""
    prose = _prose()
    if isinstance(prose, str):
        return prose
    w = _DocWriter(*prose, seed)
    docs: list[str] = []
    nbytes = indicators = 0
    while nbytes < target_bytes:
        text, k = w.doc(min(w.r.randint(2_000, 32_000), max(1_000, target_bytes - nbytes)))
        docs.append(text)
        nbytes += len(text.encode())
        indicators += k
    names = ", ".join(p.name for p in attack_bundles())
    sources = {"ja": str(PROSE), "en": f"ATT&CK descriptions ({names})"}
    return Corpus(docs, nbytes, indicators, sources)


def document(size: int = 2**20, *, seed: int = SEED + 1) -> str | None:
    """One realistic document of ``size`` UTF-8 bytes (cut at a character), or None."""
    prose = _prose()
    if isinstance(prose, str):
        return None
    text, _ = _DocWriter(*prose, seed).doc(size)
    return text.encode()[:size].decode(errors="ignore")


def adversarial(n: int = 100_000, *, seed: int = SEED + 2) -> list[tuple[str, str]]:
    """(label, text) pairs of ``n`` characters (about) that trouble backtracking regexes."""
    r = random.Random(seed)
    half = n // 2
    return [
        ("'a-' * n/2", "a-" * half),
        ("'a.' * n/2", "a." * half),
        ("'0' * n", "0" * n),
        ("'[' * n", "[" * n),
        ("'/' * n", "/" * n),
        ("'a:' * n/2", "a:" * half),
        ("random hex * n", "".join(r.choice("0123456789abcdef") for _ in range(n))),
        ("'http://' + 'a' * n", "http://" + "a" * n),
        ("'x@' * n/2", "x@" * half),
    ]
