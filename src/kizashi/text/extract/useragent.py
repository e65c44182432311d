"""User-Agent strings: the value after a ``User-Agent:`` label, to its quote or line end."""

from __future__ import annotations

import re

from kizashi.text.extract.spans import Emit

_LABEL = re.compile(r"(?<![A-Za-z-])(?i:user-agent)[ \t]{0,8}[:=][ \t]{0,8}")


def read_user_agents(text: str, emit: Emit) -> None:
    """Every User-Agent value in ``text``."""
    if "gent" not in text:
        return
    after = 0
    for m in _LABEL.finditer(text):
        if m.start() >= after:  # a label inside the previous agent is part of it
            after = _read_user_agent(text, m.start(), m.end(), emit)


def _read_user_agent(text: str, label: int, value_start: int, emit: Emit) -> int:
    quote = text[value_start : value_start + 1]
    outer = text[label - 1 : label] if label else ""
    if outer in ('"', "'", "「"):  # "User-Agent: curl/7.88.1": the header is quoted
        closer = "」" if outer == "「" else outer
        end = text.find(closer, value_start, value_start + 1024)
        begin = value_start
    elif quote in ('"', "'", "「"):
        closer = "」" if quote == "「" else quote
        end = text.find(closer, value_start + 1, value_start + 1 + 1024)
        begin = value_start + 1
    else:
        end = text.find("\n", value_start, value_start + 1024)
        begin = value_start
    if end == -1:
        end = min(len(text), value_start + 1024)
    value = text[begin:end].rstrip()
    if len(value) >= 4:
        emit("user-agent", value, begin, begin + len(value))
    return begin + len(value)
