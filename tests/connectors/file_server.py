"""A real loopback HTTP server of evidence files: plain, flaky, failing, slow and huge routes.

    /files/<name>        the bytes and type given to `serve` (404 if none)
    /flaky/<name>        503 for the first `fail_first` requests, then the file
    /status/<code>       always that status
    /slow/<name>         waits (until the server closes) before answering
    /huge/<n>            n bytes of PDF-looking data, no Content-Length (streamed)
    /huge-declared/<n>   declares n bytes in Content-Length, then sends a few
    /redirect/<url>      302 to the (percent-encoded) URL

Every request is counted per path, so tests can tell a retry from none.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote


@dataclass
class FileServer:
    base_url: str = ""
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    failures_left: dict[str, int] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    closing: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, name: str, data: bytes, content_type: str, *, fail_first: int = 0) -> str:
        """The URL of `name` (under /flaky/ when it fails first)."""
        with self.lock:
            self.files[name] = (data, content_type)
            if fail_first:
                self.failures_left[name] = fail_first
                return f"{self.base_url}/flaky/{name}"
        return f"{self.base_url}/files/{name}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def redirect(self, to: str) -> str:
        return f"{self.base_url}/redirect/{quote(to, safe='')}"

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits[path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            state.hits[self.path] += 1
        _, kind, arg = [*self.path.split("/", 2), "", ""][:3]
        if kind == "status":
            self._answer(int(arg), b"", "text/plain")
        elif kind == "flaky":
            with state.lock:
                left = state.failures_left.get(arg, 0)
                state.failures_left[arg] = max(0, left - 1)
            if left:
                self._answer(503, b"try later", "text/plain")
            else:
                self._file(arg)
        elif kind == "slow":
            state.closing.wait(30)
            self._file(arg)
        elif kind == "huge":
            self._huge(int(arg), declared=False)
        elif kind == "huge-declared":
            self._huge(int(arg), declared=True)
        elif kind == "redirect":
            self._redirect(unquote(arg))
        else:
            self._file(arg)

    def _file(self, name: str) -> None:
        state = self.server.state
        with state.lock:
            found = state.files.get(name)
        if found is None:
            self._answer(404, b"no such file", "text/plain")
        else:
            self._answer(200, *found)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        with suppress(OSError):  # the client may have given up (a timeout test)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        with suppress(OSError):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _huge(self, size: int, *, declared: bool) -> None:
        with suppress(OSError):  # the client stops reading past its limit
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            if declared:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.write(b"%PDF-1.7\n")
            if declared:
                return  # closes well short of what it declared
            chunk = b"0" * 65536
            sent = 9
            while sent < size:
                self.wfile.write(chunk[: size - sent])
                sent += len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FileServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up is what some tests do on purpose


@contextmanager
def file_server() -> Iterator[FileServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    state = FileServer(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.state = state
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="file-server", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        state.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
