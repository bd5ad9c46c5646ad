"""A scripted stand-in for a channel provider's HTTP API, listening on 127.0.0.1.

Adapter tests point the adapter's configuration at ``ProviderServer.url``
and script what the "provider" answers: status codes, bodies, headers and
delays. It is a real socket server (stdlib ``http.server`` in a thread), so
the adapter's own HTTP client, timeouts and error handling are what gets
tested, not a mock of them.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["ProviderResponse", "ProviderServer", "ReceivedRequest"]


@dataclass(frozen=True, kw_only=True)
class ProviderResponse:
    """One scripted answer."""

    status: int = 200
    body: bytes = b"{}"
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    #: Seconds to hold the answer back. The connection is accepted and the
    #: request read at once, so a client sees a provider that does not answer.
    delay: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ReceivedRequest:
    """A request the provider received, as it arrived."""

    method: str
    #: The path without the query string.
    path: str
    query: dict[str, list[str]]
    #: Header names lower-cased; a repeated header keeps its last value.
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    # A handler held back by a delay must neither keep the process alive nor
    # make close() wait for it: close() releases held handlers instead.
    daemon_threads = True
    block_on_close = False
    provider: ProviderServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        received = ReceivedRequest(
            method=self.command,
            path=urlsplit(self.path).path,
            query=parse_qs(urlsplit(self.path).query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
        )
        response = self.server.provider._take(received)
        if response.delay > 0 and self.server.provider._released.wait(response.delay):
            # Closed while holding the answer back: drop the connection unanswered.
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers, up to the blank line that ends the message.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        # Test output is for the test's own failures, not an access log.
        pass


class ProviderServer:
    """A provider on ``http://127.0.0.1:<port>`` whose answers a test scripts.

    Answers queued with ``queue()`` are used once each, in order; when none
    is queued the standing answer is used, which ``accept()``, ``fail()`` and
    ``stall()`` set (initially: 200 with ``{"id": "provider-message-1"}``).
    Every request is recorded in ``requests``, including ones held back.

    Use it as a context manager, or call ``close()``; the contract kit's
    ``provider`` fixture does that for you.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._queued: deque[ProviderResponse] = deque()
        self._standing = ProviderResponse()
        self._requests: list[ReceivedRequest] = []
        self._released = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.provider = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"frontdesk-provider-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.accept()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash: ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def received(self) -> int:
        """How many requests arrived so far."""
        with self._lock:
            return len(self._requests)

    def queue(self, *responses: ProviderResponse) -> None:
        """Answer the next requests with these, one each, before the standing answer."""
        with self._lock:
            self._queued.extend(responses)

    def answer(self, response: ProviderResponse) -> None:
        """Answer every request with ``response`` from now on (after any queued ones)."""
        with self._lock:
            self._standing = response

    def accept(self, body: bytes = b'{"id": "provider-message-1"}') -> None:
        """Answer 200 with ``body`` from now on."""
        self.answer(ProviderResponse(status=200, body=body))

    def fail(self, status: int = 500) -> None:
        """Answer with a server error from now on."""
        self.answer(ProviderResponse(status=status, body=b'{"error": "scripted failure"}'))

    def stall(self, seconds: float) -> None:
        """Accept connections and read requests, but answer only after ``seconds``."""
        self.answer(ProviderResponse(status=200, delay=seconds))

    def close(self) -> None:
        """Stop serving; requests being held back are dropped unanswered."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _take(self, request: ReceivedRequest) -> ProviderResponse:
        with self._lock:
            self._requests.append(request)
            return self._queued.popleft() if self._queued else self._standing

    def __enter__(self) -> ProviderServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
