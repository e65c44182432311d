"""Registry keys and Windows paths (drive, UNC, ``%ENV%``), which may hold spaces: read
from where the scan found one to where its last segment ends, or whole when quoted."""

from __future__ import annotations

import re

from kizashi.text.extract import validate
from kizashi.text.extract.spans import Emit, trim

_HIVE = r"(?:HKEY_[A-Z_]{4,24}|HK(?:LM|CU|CR|CC|U|PD))"
_SEGMENT = r"[^\\\x00-\x1f\"<>|\x7f-\U0010ffff]{1,255}"
WINPATH = re.compile(
    rf"""(?:{_HIVE}|(?:\\\\[.?]\\)?[A-Za-z]:|\\\\[A-Za-z0-9][A-Za-z0-9.\-]{{0,62}}|%[A-Za-z_][A-Za-z0-9_]{{1,39}}%)
    (?:\\{_SEGMENT})++""",
    re.VERBOSE,
)
#: Quotes around a path that make the whole quoted span the path.
QUOTES = frozenset("\"「'")


def read_winpath(text: str, start: int, end: int, emit: Emit) -> int:
    """A registry key or Windows path: spaces inside, the last segment ends at a space."""
    span = _first_path(text[start:end])
    end = start + len(span)
    last = span.rfind("\\")
    tail = span[last + 1 :]
    cut = len(tail)
    for i, ch in enumerate(tail):
        if ch.isspace():
            cut = i
            break
    stop = start + last + 1 + cut
    stop = start + trim(text[start:stop], 0, stop - start)
    value = text[start:stop].rstrip("\\")
    stop = start + len(value)
    _emit_windows(value, start, emit)
    return stop


_NEXT_PATH = re.compile(r"\s(?:[A-Za-z]:|%[A-Za-z_]{2,40}%|HK[A-Z_]{1,24})$|\.[A-Za-z0-9]{1,4}\s")


def _first_path(span: str) -> str:
    """Cut a run of segments where a second path starts (``a.exe and C:\\...``)."""
    segments = span.split("\\")
    for i in range(1, len(segments) - 1):
        m = _NEXT_PATH.search(segments[i])
        if m is not None:
            cut = m.start() + (0 if m.group()[0].isspace() else len(m.group()) - 1)
            return "\\".join([*segments[:i], segments[i][:cut]])
    return span


def _emit_windows(value: str, start: int, emit: Emit) -> None:
    if re.match(_HIVE + r"\\", value):
        emit("registry-key", value, start, start + len(value))
        return
    if value.count("\\") < 1 or value.endswith(":"):
        return
    emit("file-path", value, start, start + len(value))
    if value.startswith("\\\\"):
        host = value[2:].split("\\", 1)[0]
        kind, host_value = validate.host(host)
        if kind is not None:
            emit(kind, host_value, start + 2, start + 2 + len(host))


def read_quoted(text: str, start: int, emit: Emit) -> int:
    """A key or path in quotes or 「」: the whole quoted span, spaces and Japanese too."""
    if _QUOTED_PATH.match(text, start + 1) is None:
        return 0
    closer = "」" if text[start] == "「" else text[start]
    limit = min(len(text), start + 1 + 1024)
    close = text.find(closer, start + 1, limit)
    newline = text.find("\n", start + 1, limit)
    if close == -1 or (newline != -1 and newline < close):
        return 0
    value = text[start + 1 : close].rstrip("\\")
    if value:
        _emit_windows(value, start + 1, emit)
    return close + 1


_QUOTED_PATH = re.compile(
    rf"{_HIVE}\\|[A-Za-z]:\\|\\\\[A-Za-z0-9]|%[A-Za-z_][A-Za-z0-9_]{{1,39}}%\\"
)
