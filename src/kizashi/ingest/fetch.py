"""One HTTP client for feeds and article pages: bounded in every way a server can abuse.

Conditional requests, gzip/deflate, a bounded number of redirects (each hop checked
against the address policy), connect and total timeouts, a cap on the *decoded* size
(a gzip bomb stops at the cap), and 429/503 answered with their ``Retry-After``.
Every failure is a :class:`FetchError` whose ``kind`` a poller can act on and whose
message says, in words, what went wrong.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

import kizashi
from kizashi.ingest.netguard import (
    AddressPolicy,
    AddressRefusedError,
    GuardedTransport,
    read_deadline,
)

USER_AGENT = f"Kizashi/{kizashi.__version__} (+threat-intelligence feed reader)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: A server asking for a longer pause than a week is taken to mean a week.
MAX_RETRY_AFTER = 7 * 24 * 3600.0
#: Decompression produces at most this much per step, so a bomb stops at the size cap.
INFLATE_STEP = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 5


@dataclass
class FetchResult:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class FetchError(Exception):
    """``kind``: refused, timeout, too_large, redirects, throttled, http, network, bad_url."""

    kind: str
    message: str
    url: str
    status: int | None = None
    retry_after: float | None = None
    details: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def redact_url(url: str) -> str:
    """A URL fit for logs, errors and pages: credentials in it become ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    # user:password keeps the user; a lone user-info is often a token, so it all goes.
    shown = f"{parts.username}:***" if parts.password is not None and parts.username else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{host}"))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


class Fetcher:
    """A shared, thread-safe client; make one per process and reuse it."""

    def __init__(self, policy: AddressPolicy, limits: FetchLimits | None = None) -> None:
        self.policy = policy
        self.limits = limits or FetchLimits()
        self.client = httpx.Client(
            transport=GuardedTransport(policy),
            follow_redirects=False,
            timeout=httpx.Timeout(self.limits.total_timeout, connect=self.limits.connect_timeout),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        self.client.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET ``url`` following redirects; 304 is a result, every other failure raises."""
        request_headers = dict(headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        if accept:
            request_headers.setdefault("Accept", accept)
        deadline = time.monotonic() + self.limits.total_timeout
        seen: list[str] = []
        current = url
        origin: tuple[str, str, int | None] | None = None
        while True:
            target = self._check_url(current, url)
            if current in seen:
                chain = " → ".join(redact_url(u) for u in [*seen, current])
                raise FetchError("redirects", f"redirect loop: {chain}", url)
            seen.append(current)
            here = (target.scheme, target.host, target.port)
            origin = origin or here
            # A feed's own headers (an API key) go to its origin only, never where it redirects.
            sent = request_headers if here == origin else {}
            result = self._once(target, sent, deadline, url)
            if result.status not in REDIRECTS:
                return result
            location = result.headers.get("location")
            if not location:
                raise FetchError(
                    "http", f"HTTP {result.status} without a Location header", url, result.status
                )
            if len(seen) > self.limits.max_redirects:
                raise FetchError(
                    "redirects",
                    f"more than {self.limits.max_redirects} redirects "
                    f"(last: {redact_url(current)})",
                    url,
                )
            current = str(target.join(location))

    def _check_url(self, current: str, original: str) -> httpx.URL:
        try:
            target = httpx.URL(current)
        except httpx.InvalidURL as exc:
            raise FetchError("bad_url", f"not a URL: {current!r} ({exc})", original) from exc
        if target.scheme not in ("http", "https") or not target.host:
            raise FetchError(
                "bad_url", f"only http and https URLs can be fetched, not {current!r}", original
            )
        # Where it may connect is decided when the socket opens (netguard.GuardedBackend),
        # on the addresses it actually connects to: no second look-up here.
        return target

    def _once(
        self, target: httpx.URL, headers: dict[str, str], deadline: float, original: str
    ) -> FetchResult:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", f"gave up after {self.limits.total_timeout:g} s", original)
        timeout = httpx.Timeout(remaining, connect=min(self.limits.connect_timeout, remaining))
        try:
            with (
                read_deadline(deadline),
                self.client.stream("GET", target, headers=headers, timeout=timeout) as response,
            ):
                return self._read(response, deadline, original)
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchError(
                "timeout", f"no answer within the time limit ({type(exc).__name__})", original
            ) from exc
        except (httpx.DecodingError, zlib.error) as exc:
            raise FetchError(
                "http", f"the response could not be decompressed: {exc}", original
            ) from exc
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, AddressRefusedError):
                raise FetchError("refused", f"refused: {exc.__cause__}", original) from exc
            raise FetchError("network", str(exc) or type(exc).__name__, original) from exc

    def _read(self, response: httpx.Response, deadline: float, original: str) -> FetchResult:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        url = str(response.url)
        if status in REDIRECTS or status == 304:
            return FetchResult(
                url,
                status,
                headers,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )
        if status in (429, 503):
            after = retry_after_seconds(headers.get("retry-after"), datetime.now(UTC))
            said = f"; retry after {after:g} s" if after is not None else ""
            raise FetchError(
                "throttled", f"HTTP {status} from the server{said}", original, status, after
            )
        if status >= 300:
            raise FetchError(
                "http", f"HTTP {status} {response.reason_phrase}".strip(), original, status
            )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise FetchError("too_large", self._too_large(int(declared)), original, status)
        try:
            decoded = decode_stream(response.iter_raw(), headers.get("content-encoding", ""))
        except ValueError as exc:
            raise FetchError("http", str(exc), original, status) from exc
        chunks: list[bytes] = []
        size = 0
        for chunk in decoded:
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise FetchError(
                    "too_large", self._too_large(size, at_least=True), original, status
                )
            if time.monotonic() > deadline:
                raise FetchError(
                    "timeout",
                    f"the body took longer than {self.limits.total_timeout:g} s",
                    original,
                )
            chunks.append(chunk)
        return FetchResult(
            url,
            status,
            headers,
            b"".join(chunks),
            headers.get("etag"),
            headers.get("last-modified"),
        )

    def _too_large(self, size: int, *, at_least: bool = False) -> str:
        more = "more than " if at_least else ""
        return f"the response is {more}{size:,} bytes, over the limit of {self.limits.max_bytes:,}"


def decode_stream(raw: Iterable[bytes], content_encoding: str) -> Iterator[bytes]:
    """Undo ``Content-Encoding`` lazily, never more than :data:`INFLATE_STEP` at a time."""
    stream: Iterable[bytes] = raw
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise ValueError(
                f"the response uses the {coding!r} content coding, which is not supported"
            )
        stream = _inflate(stream, coding)
    return iter(stream)


def _inflate(chunks: Iterable[bytes], coding: str) -> Iterator[bytes]:
    wbits = 16 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS
    d = zlib.decompressobj(wbits)
    started = False
    for chunk in chunks:
        data = chunk
        if coding == "deflate" and not started and data:
            # "deflate" is zlib-wrapped by the standard, raw in practice: sniff the header.
            started = True
            if len(data) < 2 or (data[0] & 0x0F) != 8 or ((data[0] << 8) | data[1]) % 31:
                d = zlib.decompressobj(-zlib.MAX_WBITS)
        while data:
            out = d.decompress(data, INFLATE_STEP)
            if out:
                yield out
            data = d.unconsumed_tail
            if d.eof and d.unused_data and coding != "deflate":
                # Concatenated gzip members.
                data = d.unused_data
                d = zlib.decompressobj(wbits)
    tail = d.flush()
    if tail:
        yield tail
