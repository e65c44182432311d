"""An OpenAI-compatible chat-completions provider for summaries: OpenAI, Azure OpenAI's
compatible endpoint, and local servers (Ollama, vLLM, llama.cpp's server, LM Studio).

An admin configures it for the installation (``KIZASHI_LLM_BASE_URL``, ``_MODEL``,
``_API_KEY``, ``_TIMEOUT``, ``_MAX_TOKENS``, ``_CONTEXT_CHARS``). The key goes in one
header and nowhere else: not in logs, errors, pages or stored summaries.

What it sends: a system message (the instructions, from a prompt template) and a user
message (the article, or the collection's sources numbered [1]…[n] with the sentences
the extractive pass chose from each: the map step), within ``context_chars``; it asks
for a streamed answer and reads either a stream or a plain JSON answer.

What it refuses, so that the caller falls back to the extractive summary and says why:
an HTTP error (a 429 is retried once when ``Retry-After`` fits in the time left), a
timeout (the whole exchange, not each read: a server that trickles bytes does not hold a
request past ``timeout``), an answer that is not JSON, an empty answer, an answer in the
wrong language, and for a collection an answer citing no source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from kizashi.text.summarise import split

log = logging.getLogger(__name__)

#: A 429's Retry-After is waited for once, if it is at most this long.
MAX_RETRY_WAIT = 5.0
_CITE = re.compile(r"\[(\d{1,3})\]")
_LEADING = re.compile(r"^(?:\s*\[\d{1,3}\])+\s*")
_SPACES = re.compile(r"\s{2,}")
_POINT = re.compile(r"^\s*(?:[-*・•]|\d+[.)])\s+")
_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


class LLMError(Exception):
    """Why an answer cannot be used (said to the user; never holds the key)."""


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0
    max_tokens: int = 800
    context_chars: int = 24_000
    #: Where an admin's own prompt templates are (same file names); None: the shipped ones.
    prompts_dir: Path | None = None
    #: How the key is sent: ``authorization`` (``Bearer …``: OpenAI, vLLM, LM Studio…) or
    #: ``api-key`` (Azure OpenAI's keys).
    key_header: str = "authorization"

    def __repr__(self) -> str:  # the key never shows, not even in a traceback's locals
        return f"LLMConfig(base_url={self.base_url!r}, model={self.model!r}, api_key=***)"


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    @property
    def version(self) -> str:
        """The template's name and a digest of its text: an admin's edit is a new
        version without anyone numbering it."""
        return f"{self.name}@{hashlib.sha256(self.text.encode()).hexdigest()[:12]}"

    def fill(self, **values: str) -> str:
        out = self.text
        for key, value in values.items():
            out = out.replace("{{" + key + "}}", value)
        return out


def template(name: str, prompts_dir: Path | None) -> Template:
    """``name`` (``article.ja.txt`` …) from the admin's folder if it is there, else the
    one shipped with Kizashi."""
    if prompts_dir is not None and (prompts_dir / name).is_file():
        return Template(name, (prompts_dir / name).read_text(encoding="utf-8"))
    shipped = resources.files("kizashi.services").joinpath("prompts", name)
    return Template(name, shipped.read_text(encoding="utf-8"))


class ChatClient:
    """One chat-completions exchange at a time, within a deadline."""

    def __init__(self, config: LLMConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        headers = {"Accept": "text/event-stream, application/json"}
        if config.api_key and config.key_header.lower() == "api-key":
            headers["api-key"] = config.api_key
        elif config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self._client = httpx.Client(
            base_url=config.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(config.timeout),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def complete(self, system: str, user: str) -> str:
        """The assistant's answer to these two messages, as text."""
        deadline = time.monotonic() + self.config.timeout
        body = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": self.config.max_tokens,
            "temperature": 0.2,
            "stream": True,
        }
        for attempt in (1, 2):
            try:
                return self._exchange(body, deadline)
            except _RetryAfterError as wait:
                left = deadline - time.monotonic()
                if attempt == 2 or wait.seconds > min(MAX_RETRY_WAIT, left):
                    raise LLMError("the model server is busy (429 Too Many Requests)") from None
                time.sleep(wait.seconds)
        raise LLMError("the model server is busy")  # pragma: no cover - loop returns

    def _exchange(self, body: dict[str, Any], deadline: float) -> str:
        try:
            with self._client.stream("POST", "chat/completions", json=body) as r:
                if r.status_code == 429:
                    raise _RetryAfterError(_retry_after(r.headers.get("retry-after")))
                if r.status_code >= 400:
                    r.read()
                    raise LLMError(f"the model server answered {r.status_code}{_reason(r)}")
                kind = r.headers.get("content-type", "")
                if "text/event-stream" in kind:
                    return "".join(_streamed(r.iter_lines(), deadline))
                raw = b""
                for chunk in r.iter_bytes():
                    raw += chunk
                    _check(deadline)
                return _message(raw)
        except httpx.TimeoutException:
            raise LLMError(f"no answer within {self.config.timeout:g} s") from None
        except httpx.HTTPError as exc:
            # The exception names the URL, which holds no key (the key is a header).
            name = type(exc).__name__
            raise LLMError(f"the model server could not be reached ({name})") from None


class _RetryAfterError(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _retry_after(value: str | None) -> float:
    try:
        return max(float(value or "1"), 0.0)
    except ValueError:
        return MAX_RETRY_WAIT + 1  # a date, or nonsense: not worth waiting for


def _reason(r: httpx.Response) -> str:
    try:
        message = r.json().get("error", {}).get("message")
    except (ValueError, AttributeError):
        return ""
    return f": {str(message)[:200]}" if message else ""


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise httpx.ReadTimeout("deadline")


def _streamed(lines: Iterator[str], deadline: float) -> Iterator[str]:
    """The content pieces of a server-sent event stream of chat-completion chunks."""
    for line in lines:
        _check(deadline)
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
            piece = chunk["choices"][0].get("delta", {}).get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise LLMError("the model server's stream is not chat-completion JSON") from None
        if piece:
            yield str(piece)


def _message(raw: bytes) -> str:
    try:
        answer = json.loads(raw)
        content = answer["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError("the model server's answer is not chat-completion JSON") from None
    return str(content or "")


# -- reading an answer ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    statements: list[tuple[str, tuple[int, ...]]]  # text, sources cited (0-based)
    points: list[tuple[str, tuple[int, ...]]]


def read_answer(text: str, *, sources: int, language: str, cite: bool) -> Answer:
    """Statements and key points of an answer, checked: not empty, in ``language``, and
    (``cite``) citing at least one of the ``sources`` as [n]. Citations of sources that
    do not exist are dropped."""
    text = text.strip()
    if not text:
        raise LLMError("the model answered nothing")
    letters = _JA.findall(text)
    latin = _LATIN.findall(text)
    share = len(letters) / max(len(letters) + len(latin), 1)
    if language == "ja" and share < 0.2:
        raise LLMError("the model did not answer in Japanese")
    if language == "en" and share > 0.1:
        raise LLMError("the model did not answer in English")
    statements: list[tuple[str, tuple[int, ...]]] = []
    points: list[tuple[str, tuple[int, ...]]] = []
    for line in (x.strip() for x in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        target = points if _POINT.match(line) else statements
        for sentence, found in _sentences(_POINT.sub("", line)):
            cites = tuple(dict.fromkeys(n - 1 for n in found if 1 <= n <= sources))
            target.append((sentence, cites if cite else (0,)))
    if not statements and points:
        statements, points = points, []
    if cite and not any(c for _, c in [*statements, *points]):
        raise LLMError("the model's summary cites none of the sources")
    return Answer(statements, points)


def _sentences(line: str) -> list[tuple[str, list[int]]]:
    """A line's sentences, each with the source numbers cited in it, the markers taken
    out of the text. Markers that open a sentence (``…した。[2] 次に…``) close the one
    before."""
    out: list[tuple[str, list[int]]] = []
    for whole, _, _ in split(line):
        body = whole
        lead = _LEADING.match(whole)
        if lead and out:
            out[-1][1].extend(int(n) for n in _CITE.findall(lead.group()))
            body = whole[lead.end() :]
        found = [int(n) for n in _CITE.findall(body)]
        clean = _SPACES.sub(" ", _CITE.sub("", body)).strip()
        clean = re.sub(r"\s+([。、.,!?！？])", r"\1", clean)
        if clean:
            out.append((clean, found))
        elif out:
            out[-1][1].extend(found)
    return out


def pack(parts: Sequence[str], budget: int) -> list[list[str]]:
    """``parts`` in order, in groups of at most ``budget`` characters (a part longer
    than the budget is a group of its own, and is cut where it is sent)."""
    groups: list[list[str]] = [[]]
    used = 0
    for p in parts:
        if groups[-1] and used + len(p) > budget:
            groups.append([])
            used = 0
        groups[-1].append(p)
        used += len(p)
    return groups if groups[-1] else groups[:-1] or [[]]


def fit(parts: Sequence[str], budget: int) -> tuple[list[str], bool]:
    """As many of ``parts`` as fit in ``budget`` characters (the last cut to fit), and
    whether any were cut or left out."""
    out: list[str] = []
    used = 0
    for p in parts:
        if used + len(p) <= budget:
            out.append(p)
            used += len(p)
            continue
        room = budget - used
        if room > 200:
            out.append(p[:room])
        return out, True
    return out, False
