"""The Spark simulator as a real HTTP server on loopback: in a thread (tests) or in front.

with SparkSimulator() as spark:          # started on a free port
    spark.url, spark.api_key             # give these to the hub's Spark connection
    spark.file_url("essay.pdf")          # a temporary file URL for a submission
    spark.fail_grades(503, times=5)      # the next five grades fail
    spark.delivered_grades()             # what the hub passed back, once per key
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import uvicorn

from hub.dev.spark_app import create_simulator_app
from hub.dev.spark_demo import DemoFile
from hub.dev.spark_state import Fault, FileDownload, GradeRequest, SparkState

DEFAULT_FILE_TTL_S = 24 * 3600  # Spark's temporary URLs live a day (seed 000)


class SimulatorError(RuntimeError):
    """Raised when the simulator's server cannot start."""


class SparkSimulator:
    """A fake Spark: its course API, temporary file URLs and a `/grades` receiver."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        api_rate_limit: int | None = 100,
        catalogue: list[dict[str, Any]] | None = None,
        access_log: bool = False,
    ) -> None:
        self.state = SparkState(
            api_key=api_key or f"spark_sim_{secrets.token_urlsafe(18)}",
            api_rate_limit=api_rate_limit,
        )
        if catalogue is not None:
            self.state.set_catalogue(catalogue)
        self.app = create_simulator_app(self.state)
        self.host = host
        self.port = port
        self._access_log = access_log
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def url(self) -> str:
        if self._socket is None:
            msg = "the simulator is not started"
            raise SimulatorError(msg)
        return f"http://{self.host}:{self.port}"

    # running

    def _bind(self) -> socket.socket:
        # Bound here, so the port is known (and cannot be taken) before uvicorn runs. The
        # protocol is named: asyncio disables Nagle's algorithm only on sockets whose proto
        # is IPPROTO_TCP, and without that a keep-alive client waits for a delayed ACK
        # (about 40 ms) between the two writes of a response.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            msg = f"cannot listen on {self.host}:{self.port}: {error}"
            raise SimulatorError(msg) from error
        self.port = sock.getsockname()[1]
        self._socket = sock
        return sock

    def _make_server(self) -> uvicorn.Server:
        config = uvicorn.Config(
            self.app,
            log_config=None if not self._access_log else uvicorn.config.LOGGING_CONFIG,
            access_log=self._access_log,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        return uvicorn.Server(config)

    def start(self, timeout: float = 10.0) -> Self:
        """Serve in a daemon thread; returns once the server accepts connections."""
        sock = self._bind()
        server = self._server = self._make_server()
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="spark-simulator", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                msg = "the Spark simulator did not start"
                raise SimulatorError(msg)
            time.sleep(0.01)
        return self

    def serve(self, on_ready: Callable[[SparkSimulator], None] | None = None) -> None:
        """Serve in this thread until Ctrl-C (or SIGTERM); `on_ready` once bound."""
        sock = self._bind()
        try:
            if on_ready is not None:
                on_ready(self)
            self._server = self._make_server()
            self._server.run(sockets=[sock])
        finally:
            self._close_socket()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._server = None
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # what tests use in process (the same as the /_control endpoints)

    def file_url(self, name: str, ttl_s: float = DEFAULT_FILE_TTL_S) -> str:
        """A temporary URL of file `name` that expires in `ttl_s` seconds."""
        return f"{self.url}/files/{name}?expires={int(time.time() + ttl_s)}"

    def add_file(self, name: str, content: bytes, content_type: str) -> str:
        """Serve `content` as `name` (declared as `content_type`); its temporary URL."""
        self.state.add_file(name, DemoFile(content, content_type))
        return self.file_url(name)

    def fail_grades(
        self,
        fail_with: int | None,
        *,
        times: int = 1,
        retry_after: float | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Answer the next `times` grades with `fail_with` (after `delay_s`)."""
        self.state.grade_faults.set(Fault(fail_with, times, retry_after, delay_s))

    def fail_files(
        self,
        fail_with: int | None,
        *,
        times: int = 1,
        retry_after: float | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Answer the next `times` file downloads with `fail_with` (after `delay_s`)."""
        self.state.file_faults.set(Fault(fail_with, times, retry_after, delay_s))

    def grades(self) -> list[GradeRequest]:
        """Every grade request that arrived, failed ones included, in order."""
        return self.state.grades()

    def delivered_grades(self) -> list[GradeRequest]:
        """The grades accepted, each once (retries of an accepted key are left out)."""
        return self.state.delivered_grades()

    def downloads(self) -> list[FileDownload]:
        return self.state.downloads()

    def set_catalogue(self, catalogue: list[dict[str, Any]]) -> None:
        self.state.set_catalogue(catalogue)
