"""A local HTTP/1.1 server for ingestion tests, bound to 127.0.0.1 only.

``FeedServer`` serves feeds, articles and deliberately hostile answers (redirect loops,
redirects to private addresses, slow and trickling bodies, huge bodies, gzip bombs,
throttling) so the fetcher and the pipeline can be tested without the network::

    with FeedServer() as server:
        server.set("/mine", b"<rss/>", {"Content-Type": "application/rss+xml"})
        fetcher.get(server.url("/items/3"))
        assert server.count("/items/3") == 1

Requests are recorded per path (query string dropped): ``count(path)``,
``last_headers(path)`` (lower-case names), ``log`` (every ``(method, path)`` in
order), ``sent(path)`` (body bytes written) and ``wait_finished(path)``.
"""

from __future__ import annotations

import contextlib
import html
import re
import socket
import threading
import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from time import time
from urllib.parse import unquote, urlsplit

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "feeds" / "feedparser"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
MiB = 1024 * 1024
BIG_SIZE = 50 * MiB
BOMB_SIZE = 256 * MiB
NESTED_BOMB_SIZE = 64 * MiB
CHUNK = 64 * 1024
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
RSS = "application/rss+xml; charset=utf-8"

_bomb_lock = threading.Lock()
_bombs: dict[tuple[int, int], bytes] = {}


def gzip_bomb(size: int = BOMB_SIZE, layers: int = 1) -> bytes:
    """``size`` zero bytes gzipped ``layers`` times; compressed once per session, in chunks."""
    with _bomb_lock:
        if (size, layers) not in _bombs:
            data = _gzip_chunks(bytes(MiB) for _ in range(size // MiB))
            for _ in range(layers - 1):
                data = _gzip_chunks([data])
            _bombs[size, layers] = data
        return _bombs[size, layers]


def _gzip_chunks(chunks: Iterable[bytes]) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [packer.compress(chunk) for chunk in chunks]
    return b"".join([*out, packer.flush()])


def small_feed(title: str = "Kizashi test feed") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.jp/</link>"
        "<description>small feed</description><item><title>一件目 first item</title>"
        "<link>http://example.jp/1</link><guid>kizashi-small-1</guid>"
        "<pubDate>Wed, 01 Jan 2025 09:00:00 +0900</pubDate></item></channel></rss>\n"
    ).encode()


PARAGRAPHS = [
    "攻撃者は公開サーバーの脆弱性を突いて侵入し、認証情報を窃取していました。",
    "The intrusion began with a phishing message that imitated a delivery notice.",
    "被害組織では、バックアップからの復旧に約２週間を要したとのことです。",
    "Indicators include the domain update-check.example and a scheduled task named SvcSync.",
    "専門家は、多要素認証の導入とログの長期保存を推奨しています。",
    "Patches are available; administrators should also rotate any exposed API keys.",
    "国内では、同様の手口による被害が今年に入って少なくとも５件確認されています。",
]


def description(i: int) -> str:
    """About 2 KB of HTML, Japanese and English paragraphs, different for each ``i``."""
    parts, k = "", i
    while len(parts.encode()) < 2000:
        tag, text = "b" if k % 3 == 0 else "em", html.escape(PARAGRAPHS[k % len(PARAGRAPHS)])
        parts += f"<p>記事{i}: <{tag}>{text}</{tag}> (para {k - i + 1})</p>"
        k += 1
    return parts


def items_feed(base: str, n: int) -> bytes:
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    items = "".join(
        f"<item><title>テスト記事{i}：脆弱性情報 / Test advisory {i}</title>"
        f"<link>{base}/article/{i}</link>"
        f'<guid isPermaLink="false">kizashi-test-item-{i}</guid>'
        f"<pubDate>{formatdate((start - timedelta(hours=i)).timestamp(), usegmt=True)}</pubDate>"
        f"<description>{html.escape(description(i))}</description></item>"
        for i in range(1, n + 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Kizashi items ({n})</title><link>{base}/</link>"
        f"<description>{n} generated items</description><language>ja</language>"
        f"{items}</channel></rss>\n"
    ).encode()


def article_page(base: str, i: int) -> bytes:
    body = "".join(f"<p>{html.escape(PARAGRAPHS[(i + k) % len(PARAGRAPHS)])}</p>" for k in range(5))
    day = (datetime(2025, 1, 1, tzinfo=UTC) - timedelta(hours=i)).isoformat()
    return (
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
        f"<title>テスト記事{i} | Kizashi</title>"
        f'<link rel="canonical" href="{base}/article/{i}">'
        f'<meta name="author" content="テスト 太郎 (Test Author {i % 5})">'
        f'<meta name="date" content="{day}">'
        f'<meta property="article:published_time" content="{day}">'
        "</head><body><nav><a href='/'>ホーム</a></nav>"
        f"<article><h1>テスト記事{i}：脆弱性情報 / Test advisory {i}</h1>{body}</article>"
        "<footer>© Kizashi tests</footer></body></html>\n"
    ).encode()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title><link>http://example.jp/</link>'
    b"<description>laughs</description><item><title>&lol9;</title></item></channel></rss>\n"
)

HTML_PAGE = (
    b'<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8"><title>Not a feed</title>'
    b'<link rel="alternate" type="application/rss+xml" href="/items/3"></head>'
    b"<body><h1>\xe3\x81\x93\xe3\x82\x8c\xe3\x81\xaf HTML</h1><p>No feed here.</p></body></html>\n"
)


TEXT, XML = "text/plain", "application/xml"
STATIC: dict[str, tuple[int, bytes, dict[str, str]]] = {
    "to-private": (302, b"", {"Location": "http://10.0.0.1/feed"}),
    "to-metadata": (301, b"", {"Location": "http://169.254.169.254/latest/meta-data/"}),
    "429": (429, b"slow down\n", {"Retry-After": "120", "Content-Type": TEXT}),
    "500": (500, b"boom\n", {"Content-Type": TEXT}),
    "billion-laughs": (200, BILLION_LAUGHS, {"Content-Type": "application/rss+xml"}),
    "html": (200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"}),
    "empty": (200, b"", {"Content-Type": "application/rss+xml"}),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection cannot hold a thread for long
    server: _HTTPServer

    ROUTES: tuple[tuple[str, str], ...] = (
        (r"/corpus/(?P<rel>.+)", "corpus"),
        (r"/ja/(?P<name>[^/]+)", "ja"),
        (r"/redirect/(?P<n>\d+)", "redirect"),
        (r"/loop/(?P<side>[ab])", "loop"),
        (r"/items/(?P<n>\d+)", "items"),
        (r"/article/(?P<i>\d+)", "article"),
        (r"/(?P<name>[a-z0-9-]+)", "named"),
    )

    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection and not self.server.feeds.stopping.is_set():
            self.handle_one_request()

    def setup(self) -> None:
        super().setup()
        self.server.feeds._connections.add(self.connection)

    def finish(self) -> None:
        self.server.feeds._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        feeds = self.server.feeds
        path = urlsplit(self.path).path
        self.key = path
        feeds._record(self.command, path, {k.lower(): v for k, v in self.headers.items()})
        try:
            self.dispatch(path)
        except OSError:  # the client went away (too_large, timeout): expected
            self.close_connection = True
        finally:
            feeds._finished(path)

    def dispatch(self, path: str) -> None:
        dynamic = self.server.feeds._dynamic.get(path)
        if dynamic is not None:
            status, body, headers = dynamic
            return self.reply(status, body, headers)
        for pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if match:
                return getattr(self, f"route_{name}")(**match.groupdict())
        return self.not_found()

    # -- writing ------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.server.feeds._sent[self.key] += len(data)

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        names = {k.lower() for k in headers}
        chunked = headers.get("Transfer-Encoding", headers.get("transfer-encoding")) == "chunked"
        no_body = status < 200 or status in (204, 304)
        self.send_response(status)
        if "content-type" not in names and body and not no_body:
            self.send_header("Content-Type", XML)
        for name, value in headers.items():
            self.send_header(name, value)
        if not (no_body or chunked or "content-length" in names):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if no_body:
            return
        if chunked:
            self.write((b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n")
        elif body:
            self.write(body)

    def not_found(self) -> None:
        self.reply(404, b"not found\n", {"Content-Type": TEXT})

    def redirect(self, code: int, location: str) -> None:
        self.reply(code, b"", {"Location": location})

    def stream_zeros(self, total: int, *, chunked: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", XML)
        self.send_header(
            *(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(total)))
        )
        self.end_headers()
        block, left = bytes(CHUNK), total
        while left > 0 and not self.server.feeds.stopping.is_set():
            piece = block[: min(CHUNK, left)]
            self.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            left -= len(piece)
        if chunked and left <= 0:
            self.write(b"0\r\n\r\n")
        self.close_connection = left > 0

    # -- routes -------------------------------------------------------------------
    def route_corpus(self, rel: str) -> None:
        root = CORPUS.resolve()
        file = (root / unquote(rel)).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            return self.not_found()
        data = file.read_bytes()
        declared = re.search(rb"Header:\s*Content-type:\s*([^\r\n]*)", data[:2048], re.I)
        kind = declared.group(1).decode("latin-1").strip() if declared else XML
        return self.reply(200, data, {"Content-Type": kind})

    def route_ja(self, name: str) -> None:
        file = FIXTURES / name
        if "/" in name or name.startswith(".") or not file.is_file():
            return self.not_found()
        kind = "application/feed+json" if name.endswith(".json") else XML
        return self.reply(200, file.read_bytes(), {"Content-Type": kind})

    def route_redirect(self, n: str) -> None:
        hops = int(n)
        if hops == 0:
            return self.reply(200, small_feed("redirect target"), {"Content-Type": RSS})
        # odd hops: 301 with an absolute URL; even hops: 302 with a path only
        if hops % 2:
            return self.redirect(301, self.server.feeds.url(f"/redirect/{hops - 1}"))
        return self.redirect(302, f"/redirect/{hops - 1}")

    def route_loop(self, side: str) -> None:
        self.redirect(302, "/loop/b" if side == "a" else self.server.feeds.url("/loop/a"))

    def route_items(self, n: str) -> None:
        count = min(int(n), 10_000)
        self.reply(200, items_feed(self.server.feeds.base, count), {"Content-Type": RSS})

    def route_article(self, i: str) -> None:
        page = article_page(self.server.feeds.base, int(i))
        self.reply(200, page, {"Content-Type": "text/html; charset=utf-8"})

    def route_named(self, name: str) -> None:
        feeds = self.server.feeds
        if name in STATIC:
            return self.reply(*STATIC[name])
        if name == "etag":
            if '"v1"' in self.headers.get("If-None-Match", ""):
                return self.reply(304, b"", {"ETag": '"v1"'})
            return self.reply(200, small_feed("etag"), {"Content-Type": RSS, "ETag": '"v1"'})
        if name == "lastmod":
            since = self.headers.get("If-Modified-Since", "")
            if since and _date(since) >= _date(LAST_MODIFIED):
                return self.reply(304, b"", {"Last-Modified": LAST_MODIFIED})
            headers = {"Content-Type": RSS, "Last-Modified": LAST_MODIFIED}
            return self.reply(200, small_feed("lastmod"), headers)
        if name == "503-date":
            after = {"Retry-After": formatdate(time() + 60, usegmt=True), "Content-Type": TEXT}
            return self.reply(503, b"maintenance\n", after)
        if name == "slow":
            feeds.stopping.wait(feeds.slow_seconds)
            return self.reply(200, small_feed("slow"), {"Content-Type": RSS})
        if name in ("trickle", "trickle-headers"):
            return self.trickle(body=name == "trickle")
        if name in ("big", "big-chunked"):
            return self.stream_zeros(BIG_SIZE, chunked=name == "big-chunked")
        if name in ("gzip-bomb", "gzip-bomb-nested"):
            nested = name == "gzip-bomb-nested"
            bomb = gzip_bomb(NESTED_BOMB_SIZE, 2) if nested else gzip_bomb()
            encoding = "gzip, gzip" if nested else "gzip"
            return self.reply(200, bomb, {"Content-Type": XML, "Content-Encoding": encoding})
        return self.not_found()

    def trickle(self, *, body: bool) -> None:
        """One byte every ``trickle_interval`` s for ``trickle_steps`` steps (5 s by default)."""
        feeds = self.server.feeds
        steps = feeds.trickle_steps
        self.close_connection = True
        if body:
            self.send_response(200)
            self.send_header("Content-Type", TEXT)
            self.send_header("Content-Length", str(steps))
            self.end_headers()
        else:  # the status line, then one header value a byte at a time
            self.write(b"HTTP/1.1 200 OK\r\nX-Trickle: ")
        for _ in range(steps):
            self.write(b"x")
            self.wfile.flush()
            if feeds.stopping.wait(feeds.trickle_interval):
                return
        if not body:
            self.write(b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def _date(value: str) -> datetime:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads
    feeds: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        self.feeds.errors.append(f"error while serving {client_address}")


class FeedServer:
    """Start with ``start()`` or ``with``; ``stop()`` ends every connection and thread."""

    def __init__(self, *, slow_seconds: float = 3.0) -> None:
        self.slow_seconds = slow_seconds
        self.trickle_interval = 0.2
        self.trickle_steps = 25
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Condition()
        self._counts: Counter[str] = Counter()
        self._done: Counter[str] = Counter()
        self._sent: Counter[str] = Counter()
        self._headers: dict[str, dict[str, str]] = {}
        self._dynamic: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> FeedServer:
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.feeds = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join()
        self._httpd = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and content ---------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "the server is not started"
        return int(self._httpd.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + (path if path.startswith("/") else "/" + path)

    def set(
        self, path: str, body: bytes, headers: dict[str, str] | None = None, status: int = 200
    ) -> None:
        """Serve ``body`` at ``path`` (before any built-in route) until ``unset``."""
        self._dynamic[path] = (status, body, dict(headers or {}))

    def unset(self, path: str) -> None:
        self._dynamic.pop(path, None)

    # -- what happened -----------------------------------------------------------
    def _record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._counts[path] += 1
            self._headers[path] = headers
            self.log.append((method, path))

    def _finished(self, path: str) -> None:
        with self._lock:
            self._done[path] += 1
            self._lock.notify_all()

    def count(self, path: str) -> int:
        return self._counts[path]

    def total(self) -> int:
        return sum(self._counts.values())

    def last_headers(self, path: str) -> dict[str, str]:
        """The last request's headers at ``path``, names in lower case ({} if none)."""
        return dict(self._headers.get(path, {}))

    def sent(self, path: str) -> int:
        """Body bytes the server managed to write for ``path`` (all requests)."""
        return self._sent[path]

    def wait_finished(self, path: str, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until ``count`` requests at ``path`` have been answered or abandoned."""
        with self._lock:
            return self._lock.wait_for(lambda: self._done[path] >= count, timeout)

    def reset(self) -> None:
        """Forget counts, headers, the log and dynamic routes (not cached bombs)."""
        with self._lock:
            for store in (self._counts, self._done, self._sent, self._headers, self._dynamic):
                store.clear()
            self.log.clear()
            self.errors.clear()
