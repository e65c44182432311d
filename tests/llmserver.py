"""A chat-completions server on 127.0.0.1 for the tests: it answers the way real servers
do (JSON, or a server-sent event stream of chunks) and the ways they fail (429, 500, a
timeout, malformed JSON), and keeps every request it was sent."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    """``mode`` chooses the next answers: ``json``, ``stream``, ``429`` (always),
    ``429-once`` (then ``json``), ``500``, ``slow`` (headers, then nothing for
    ``delay`` seconds), ``trickle`` (a stream that sends a piece every ``delay``
    seconds, forever), ``malformed``; ``answer`` is the assistant's text."""

    def __init__(self) -> None:
        self.mode = "json"
        self.answer = ""
        self.delay = 5.0
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._429s = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length", "0"))
                owner.requests.append(json.loads(self.rfile.read(size)))
                owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "no such path"}}')
                    return
                mode = owner.mode
                if mode == "429-once":
                    owner._429s += 1
                    mode = "429-short" if owner._429s == 1 else "json"
                if mode == "429":
                    self._send(
                        429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "120"}
                    )
                elif mode == "429-short":
                    self._send(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0"})
                elif mode == "500":
                    self._send(500, b'{"error": {"message": "model crashed"}}')
                elif mode == "malformed":
                    self._send(
                        200, b'{"choices": [ {"message": ', {"Content-Type": "application/json"}
                    )
                elif mode == "json":
                    body = {
                        "choices": [{"message": {"role": "assistant", "content": owner.answer}}]
                    }
                    self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
                elif mode == "slow":
                    time.sleep(owner.delay)
                    self._send(200, b"{}", {"Content-Type": "application/json"})
                elif mode in ("stream", "trickle"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self._stream(mode)

            def _stream(self, mode: str) -> None:
                text = owner.answer
                pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
                first = {"choices": [{"delta": {"role": "assistant"}}]}
                self.wfile.write(f"data: {json.dumps(first)}\n\n".encode())
                for piece in pieces:
                    chunk = {"choices": [{"delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                    if mode == "trickle":
                        time.sleep(owner.delay)
                self.wfile.write(b"data: [DONE]\n\n")

            def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {"Content-Type": "application/json"}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def reset(self, mode: str, answer: str, delay: float = 5.0) -> None:
        """A fresh start for the next test: its answers, and nothing recorded."""
        self.mode, self.answer, self.delay = mode, answer, delay
        self.requests.clear()
        self.headers.clear()
        self._429s = 0

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
