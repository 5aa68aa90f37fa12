"""Where this process finds NATS: HUB_NATS_URL, a running hub's bundled server, or a new one."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from infra.nats_server import EmbeddedNatsServer
from infra.settings import Settings


def _url_file(data_dir: Path) -> Path:
    return data_dir / "run" / "nats.url"


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout=0.5
        ):
            return True
    except OSError:
        return False


@contextmanager
def nats_endpoint(settings: Settings) -> Iterator[str]:
    """Yield a NATS URL for the duration of the block.

    With HUB_NATS_URL set, that. Otherwise the bundled server of `data_dir`: the one a
    running `hub run` started (its URL is in `data_dir/run/nats.url`), or one started
    here and stopped when the block ends (JetStream allows one server per store).
    """
    if settings.nats_url:
        yield settings.nats_url
        return
    url_file = _url_file(settings.data_dir)
    if url_file.exists():
        url = url_file.read_text().strip()
        if _reachable(url):
            yield url
            return
    server = EmbeddedNatsServer(settings.data_dir / "nats")
    server.start()
    url_file.parent.mkdir(parents=True, exist_ok=True)
    url_file.write_text(server.url)
    try:
        yield server.url
    finally:
        url_file.unlink(missing_ok=True)
        server.stop()
