"""One pass over the text finds candidate spans; each span is read by small patterns.

Why this shape: the public extractors run a dozen whole-document regexes with Unicode
word boundaries. Those boundaries treat kana and kanji as word characters (so
``通信先は45.77.12.34であり`` yields nothing), and every extra pass costs time. Here one
master pattern, anchored at the start of an ASCII run, finds the few runs that can hold an
indicator (they contain ``.`` ``:`` ``@`` ``/`` ``\\`` ``=`` or a defang bracket, or start
like an identifier), and everything else (prose words, Japanese) is skipped inside the
regex engine. Each candidate is then read by short patterns over a short string.

Linear by construction: every repetition is bounded or possessive, the master pattern only
starts at the beginning of a run (a look-behind refuses the middle of one), and the scan
position only moves forward.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from kizashi.model.observables import INDICATOR_KINDS
from kizashi.text.extract import validate
from kizashi.text.extract.flags import flags_for
from kizashi.text.extract.refang import fold_width, may_be_defanged, refang_mapped
from kizashi.text.extract.spans import Emit, trim
from kizashi.text.extract.useragent import read_user_agents
from kizashi.text.extract.windows import QUOTES, WINPATH, read_quoted, read_winpath

TYPES = INDICATOR_KINDS


class Hit(NamedTuple):
    """One indicator: ``text[start:end]`` is where it was written (defanged or not).

    A named tuple: tens of thousands are made per megabyte of dense text.
    """

    type: str
    value: str
    start: int
    end: int
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "flags": list(self.flags),
        }


# ASCII characters that can be part of an indicator run. Not quotes, not <>, not space.
_RUN = r"A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%\\{}|\-"
# Characters that make a run worth reading; a run must have one followed by more run.
# Brackets are not among them (every parenthesis in prose would be a candidate): the
# defangs that have no other signal, ``evil[dot]com``, ``a(at)b``, are identifiers.
_SIGNAL = r".:/@\\="
_PLAIN = r"A-Za-z0-9_~?#\[\]!$&()*+,;%{}|\-"  # _RUN minus _SIGNAL


# The master pattern: an ASCII run that holds a signal character followed by more run,
# or that starts like an identifier. Only a run's first character can start a match.
_IDENTIFIER = (
    r"[A-Za-z0-9]{26}|CVE-|cve-|JVN|T[0-9]{4}|TA[0-9]{4}|[GS][0-9]{4}|0x"
    r"|[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-|ASN?[ ]?[0-9]"
    r"|[A-Za-z0-9_\-]{0,63}[\[({](?i:dot|at)[\])}]"
)
_MASTER = re.compile(
    rf"(?<![{_RUN}])(?:[{_PLAIN}]*+[{_SIGNAL}]++[{_RUN}]|(?=[(\[{{]{{0,3}}(?:{_IDENTIFIER})))"
    rf"[{_RUN}]*+"
)

_ASN = re.compile(r"ASN?[ ]?([0-9]{1,10})(?![A-Za-z0-9])")


# Within a run (already refanged), everything that is not part of a URL.
_ITEMS = re.compile(
    r"""
    (?P<email>(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@
        [A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,8}+)
    |(?P<mac>(?<![0-9A-Za-z\-.])(?<![^0-9A-Za-z][0-9A-Fa-f]{2}:)(?<!^[0-9A-Fa-f]{2}:)[0-9A-Fa-f]{2}(?P<msep>[:\-])[0-9A-Fa-f]{2}(?:(?P=msep)[0-9A-Fa-f]{2}){4}
        (?![0-9A-Za-z:\-]|\.[0-9A-Za-z])
     |(?<![0-9A-Za-z.])[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![0-9A-Za-z.]))
    |(?P<ssdeep>(?<![0-9A-Za-z])[0-9]{1,10}:[A-Za-z0-9/+]{3,64}:[A-Za-z0-9/+]{3,64}
        (?![A-Za-z0-9/+:]))
    |(?P<ipv6>(?<![0-9A-Za-z:.])
        (?:[0-9A-Fa-f]{0,4}:){2,7}
        (?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?
        (?:%[0-9A-Za-z]{1,15})?(?:/[0-9]{1,3}(?![0-9]))?
        (?![0-9A-Za-z:]))
    |(?P<ipv4>(?<![0-9A-Za-z.])[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}
        (?P<prefix>/[0-9]{1,2}(?![0-9]))?(?::[0-9]{1,5}(?![0-9]))?
        (?![0-9A-Za-z]|[.\-][0-9A-Za-z]))
    |(?P<cve>(?<![A-Za-z0-9])[Cc][Vv][Ee]-[0-9]{4}-[0-9]{4,19}(?![0-9A-Za-z]|[.\-][0-9A-Za-z]))
    |(?P<jvn>(?<![A-Za-z0-9])(?:JVNDB-[0-9]{4}-[0-9]{6}|JVN(?:VU|TA)?\#[0-9]{6,8}|JVNTA-[0-9]{4}-[0-9]{3,6})
        (?![0-9A-Za-z]))
    |(?P<attack>(?<![A-Za-z0-9])(?:T[0-9]{4}(?:\.[0-9]{3})?|TA[0-9]{4}|[GS][0-9]{4})
        (?![0-9A-Za-z]|[.\-][0-9A-Za-z]))
    |(?P<eth>(?<![A-Za-z0-9])0x[0-9A-Fa-f]{40}(?![0-9A-Za-z]|[.\-][0-9A-Za-z]))
    |(?P<tlsh>(?<![A-Za-z0-9])T1[0-9A-Fa-f]{70}(?![0-9A-Za-z]|[.\-][0-9A-Za-z]))
    |(?P<hex>(?<![0-9A-Za-z])[0-9A-Fa-f]{32,128}(?![0-9A-Za-z]|[.\-][A-Za-z0-9]))
    |(?P<coin>(?<![0-9A-Za-z])(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{11,71}
        |4[0-9AB][1-9A-HJ-NP-Za-km-z]{93})(?![0-9A-Za-z]|[.\-][0-9A-Za-z]))
    |(?P<unixpath>(?<![A-Za-z0-9._~/\-])/(?:[A-Za-z0-9._\-]{1,255}/){1,32}+[A-Za-z0-9._\-]{1,255}
        (?![A-Za-z0-9._\-]))
    |(?P<domain>(?<![A-Za-z0-9_.\-])[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,20}+\.?
        (?![A-Za-z0-9_\-]))
    """,
    re.VERBOSE,
)

_URL_START = re.compile(r"(?<![A-Za-z])(?:https?|ftps?|sftp|tcp|udp)://", re.IGNORECASE)
_SCHEMELESS = re.compile(r"(?<![A-Za-z])[A-Za-z][A-Za-z0-9+.\-]{0,15}://")


#: Executable extensions whose files are reported as ``file-name``.
EXECUTABLE = frozenset(
    ["exe", "dll", "scr", "bat", "ps1", "vbs", "js", "jar", "msi", "lnk", "hta", "sys"]
)
_FILENAME = re.compile(
    r"(?<![A-Za-z0-9._\-/])[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,200}"
    r"\.(?i:exe|dll|scr|bat|ps1|vbs|js|jar|msi|lnk|hta|sys)"
    r"(?![A-Za-z0-9_\-@]|\.[A-Za-z0-9])"
)

_VERSION_CONTEXT = re.compile(
    r"(?:(?<![A-Za-z])(?:version|ver\.?|v|build|release|firmware)|バージョン|ビルド|版|第)\s{0,2}$",
    re.IGNORECASE,
)
#: A dotted quad followed by one of these numbers a section (第3.2.1.5節), not a host.
_SECTION_MARKS = frozenset("節章項条")


def extract(text: str, *, flag: bool = True, warninglists: bool = False) -> list[Hit]:
    """Every indicator in ``text``, in order of position.

    ``flag`` marks documentation, private and example values; ``warninglists`` also
    consults MISP's benign warning lists (a slower first call: they load lazily).
    """
    folded = fold_width(text)
    hits: list[Hit] = []

    if flag or warninglists:

        def emit(kind: str, value: str, start: int, end: int) -> None:
            hits.append(Hit(kind, value, start, end, flags_for(kind, value, warninglists)))

    else:

        def emit(kind: str, value: str, start: int, end: int) -> None:
            hits.append(Hit(kind, value, start, end))

    _scan(folded, emit)
    read_user_agents(folded, emit)
    hits.sort(key=_position)
    return hits


def _position(hit: Hit) -> tuple[int, int]:
    return hit.start, -hit.end


def extract_pairs(text: str) -> set[tuple[str, str]]:
    """The distinct ``(type, value)`` pairs in ``text``."""
    return {(h.type, h.value) for h in extract(text, flag=False)}


def _scan(text: str, emit: Emit) -> None:
    pos = 0
    # The master pattern starts with a lookbehind, so ``re`` cannot skip to a candidate:
    # it tries every position, and a non-ASCII one costs it most. Where most of the text
    # is not ASCII (Japanese), a character-class scan finds the ASCII runs in C and the
    # pattern is tried only at their starts: 2-3x faster there, slower on English.
    search = _MASTER.search if _mostly_ascii(text) else _search_run_starts
    while (m := search(text, pos)) is not None:
        start, end = m.span()
        first = text[start]
        if first.isalpha() or first in "%\\":  # a hive, drive, ASN, %ENV% or UNC path
            special = _read_special(text, start, emit)
            if special:
                pos = max(special, start + 1)
                continue
        _read_run(text, start, end, emit)
        pos = end


_RUN_CHARS = re.compile(f"[{_RUN}]+")


def _mostly_ascii(text: str) -> bool:
    return text.isascii() or len(text.encode()) < 1.5 * len(text)


def _search_run_starts(text: str, pos: int) -> re.Match[str] | None:
    """What ``_MASTER.search(text, pos)`` finds: a match can only start a run."""
    match = _MASTER.match
    for run in _RUN_CHARS.finditer(text, pos):
        if (m := match(text, run.start())) is not None:
            return m
    return None


def _read_special(text: str, start: int, emit: Emit) -> int:
    """A registry key, a Windows path (both may hold spaces) or an ASN; 0 if none."""
    if start and text[start - 1] in QUOTES:
        quoted = read_quoted(text, start - 1, emit)
        if quoted:
            return quoted
    m = WINPATH.match(text, start)
    if m is not None:
        return read_winpath(text, start, m.end(), emit)
    if text.startswith("AS", start):
        m = _ASN.match(text, start)
        if m is not None:
            emit("asn", "AS" + m.group(1), start, m.end())
            return m.end()
    return 0


def _read_run(text: str, start: int, end: int, emit: Emit) -> None:
    token = text[start:end]
    positions: list[int] | None = None
    if may_be_defanged(token):
        token, positions = refang_mapped(token)

    def at(i: int) -> int:
        return start + (positions[i] if positions is not None else i)

    def local(kind: str, value: str, s: int, e: int) -> None:
        emit(kind, value, at(s), at(e))

    covered = 0
    if (start and not text[start - 1].isascii()) or token.startswith("."):
        covered = _read_unicode_name(text, start, token, at, emit)
    if "://" not in token:
        _read_items(token, covered, len(token), text, at, local)
        return
    for m in _URL_START.finditer(token):
        s = m.start()
        if s < covered:
            continue
        if s > covered:
            _read_items(token, covered, s, text, at, local)
        covered = _read_url(token, s, local)
    if covered < len(token):
        tail_start = covered
        other = _SCHEMELESS.search(token, tail_start)
        if other is not None:  # ws://, smb://, file://: not a URL, but its host counts
            _read_items(token, tail_start, other.start(), text, at, local)
            tail_start = other.end()
        _read_items(token, tail_start, len(token), text, at, local)


_UNICODE_NAME = re.compile(r"[^\W_][\w\-]{0,62}(?:\.[\w\-]{1,63}){1,8}")
_OPEN_QUOTES = frozenset("「『（([\"'“‘【〈《")
_CJK = re.compile("[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def _read_unicode_name(
    text: str, start: int, token: str, at: Callable[[int], int], emit: Emit
) -> int:
    """A name in non-ASCII letters just before the run: ``見積書.exe``, ``例え.jp``.

    Japanese has no spaces, so a Japanese label only counts where something clearly opens
    it (whitespace, a bracket or a quote): ``ファイルは見積書.exe`` names nothing.
    Returns how much of ``token`` was read.
    """
    i = start
    floor = max(0, start - 63)
    while i > floor and (text[i - 1].isalnum() or text[i - 1] == "-"):
        i -= 1
    prefix = text[i:start]
    if not prefix or prefix.isascii():
        return 0
    before = text[i - 1] if i else ""
    opened = before.isspace() or before in _OPEN_QUOTES
    if not opened and (before or _CJK.search(prefix)):
        return 0
    if _CJK.search(prefix) and not token.startswith("."):
        # Japanese glued to an ASCII label is prose before a name, not one label:
        # ``攻撃者はevil-domain.com`` names evil-domain.com, read by the ASCII path.
        return 0
    m = _UNICODE_NAME.match(prefix + token)
    if m is None or m.end() <= len(prefix):
        return 0
    name = m.group()
    used = m.end() - len(prefix)
    extension = name.rsplit(".", 1)[-1]
    if extension.lower() in EXECUTABLE:
        emit("file-name", name, i, at(used))
        return used
    checked = None if validate.looks_like_file(name) else validate.domain(name)
    if checked is None:
        return 0
    emit("domain", checked, i, at(used))
    return used


def _read_url(token: str, s: int, emit: Emit) -> int:
    """Emit the URL starting at ``s`` and its host; return where it ends."""
    end = len(token)
    nxt = _URL_START.search(token, s + 3)
    if nxt is not None:
        end = nxt.start()
    end = trim(token, s, end)
    url = token[s:end]
    scheme_end = url.index("://") + 3
    rest = url[scheme_end:]
    authority_len = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1:
            authority_len = min(authority_len, i)
    authority = rest[:authority_len]
    at_sign = authority.rfind("@")
    host_offset = at_sign + 1
    hostport = authority[host_offset:]
    host = hostport
    if hostport.startswith("["):
        close = hostport.find("]")
        host = hostport[1:close] if close != -1 else hostport[1:]
        h_start = s + scheme_end + host_offset + 1
    else:
        colon = hostport.rfind(":")
        if colon != -1 and hostport[colon + 1 :].isdigit():
            host = hostport[:colon]
        h_start = s + scheme_end + host_offset
    host_kind, host_value = validate.host(host)
    if host_kind is None:
        return max(end, s + scheme_end)
    host = host.removesuffix(".")
    value = (
        url[:scheme_end].lower()
        + url[scheme_end : scheme_end + host_offset]
        + hostport.lower()
        + url[scheme_end + authority_len :]
    )
    emit("url", value, s, end)
    emit(host_kind, host_value, h_start, h_start + len(host))
    return end


def _read_items(
    token: str, lo: int, hi: int, text: str, at: Callable[[int], int], emit: Emit
) -> None:
    if hi - lo < 3:
        return
    paths: list[tuple[int, int]] = []
    for m in _ITEMS.finditer(token, lo, hi):
        kind = m.lastgroup
        s, e = m.span()
        if kind == "domain":
            _read_domain(m.group(), s, emit)
        elif kind == "ipv4":
            _read_ipv4(m, text, at, emit)
        elif kind == "email":
            _read_email(m.group(), s, emit)
        elif kind == "unixpath":
            value = m.group().rstrip(".")
            emit("file-path", value, s, s + len(value))
            paths.append((s, s + len(value)))
        elif kind is not None:
            found = _checked(kind, m.group())
            if found is not None:
                emit(found[0], found[1], s, e)
    if "." in token[lo:hi]:
        for m in _FILENAME.finditer(token, lo, hi):
            s, e = m.span()
            if not any(p_s <= s < p_e for p_s, p_e in paths):
                emit("file-name", m.group(), s, e)


def _read_domain(value: str, s: int, emit: Emit) -> None:
    value = value.removesuffix(".")
    ext = value.rsplit(".", 1)[-1]
    if ext.lower() in EXECUTABLE or validate.looks_like_file(value):
        return
    if ext[0].isupper() and ext[1:].islower() and value.count(".") == 1:
        return  # "sentence.Next": a missing space, not a host
    host_kind, host_value = validate.host(value)
    if host_kind == "domain":  # (a dotted quad is read by the ipv4 pattern)
        emit("domain", host_value, s, s + len(value))


def _read_email(value: str, s: int, emit: Emit) -> None:
    local_part, _, domain = value.rpartition("@")
    host_kind, host_value = validate.host(domain)
    if host_kind == "domain" and local_part:
        emit("email", value.lower(), s, s + len(value))
        emit("domain", host_value, s + len(local_part) + 1, s + len(value))


def _checked(kind: str, value: str) -> tuple[str, str] | None:
    """The type and normalised value of a hit that needs no context, or None."""
    if kind == "ipv6":
        kind6, value6 = validate.ipv6(value)
        return (kind6, value6) if kind6 is not None else None
    if kind == "hex":
        hash_kind = validate.HASH_LENGTHS.get(len(value))
        return (hash_kind, value.lower()) if hash_kind is not None else None
    if kind == "mac":
        return "mac", validate.mac(value)
    if kind == "cve":
        return "cve", value.upper()
    if kind == "attack":
        return validate.attack_kind(value), value
    if kind == "coin":
        coin = validate.coin(value)
        return (coin, value) if coin is not None else None
    if kind == "ssdeep":
        return (kind, value) if validate.ssdeep(value) else None
    if kind == "tlsh":
        return kind, value.upper()
    return kind, value  # jvn, eth: the pattern is the check


def _read_ipv4(m: re.Match[str], text: str, at: Callable[[int], int], emit: Emit) -> None:
    s = m.start()
    address = m.group().split("/")[0].split(":")[0]
    if not validate.ipv4(address):
        return
    before = text[max(0, at(s) - 16) : at(s)]
    after = text[at(m.end()) : at(m.end()) + 1]
    if _VERSION_CONTEXT.search(before) or after in _SECTION_MARKS:
        return
    prefix = m.group("prefix")
    if prefix is not None:
        emit("cidr", address + prefix, s, s + len(address) + len(prefix))
    else:
        emit("ipv4", address, s, s + len(address))
