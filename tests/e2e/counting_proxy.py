"""A counting HTTP proxy for end-to-end tests: forwards every request to a sandbox API unchanged
(the Host header included, so signed requests still verify) and counts them by method, path and
API action, so a test can assert that a command made no mutating call."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"})
_READ_VERBS = ("Describe", "List", "Get", "Query")


class CountingProxy:
    """Requests seen: `(method, path, action)`, action being the Alibaba API action if any."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def mutating(self) -> list[tuple[str, str, str]]:
        """Calls that may change something: an Alibaba action that is no read, or an Equinix
        request other than GET (the OAuth token request aside)."""
        with self._lock:
            seen = list(self.calls)
        return [
            (method, path, action)
            for method, path, action in seen
            if (action and not action.startswith(_READ_VERBS))
            or (not action and method != "GET" and not path.startswith("/oauth2/"))
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                action = self.headers.get("x-acs-action") or parse_qs(split.query).get("Action", [""])[0]
                with proxy._lock:
                    proxy.calls[(self.command, split.path, action)] += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                response = httpx.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body, timeout=60, trust_env=False
                )
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def counting_proxy(upstream: str) -> Iterator[CountingProxy]:
    proxy = CountingProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
