"""The operations pages on real parts: the HTTP tests' app (nats-server, SQLite, uvicorn)."""

from __future__ import annotations

from tests.hub.http.conftest import app, base_url, client, engine, readiness, runtime

__all__ = ["app", "base_url", "client", "engine", "readiness", "runtime"]
