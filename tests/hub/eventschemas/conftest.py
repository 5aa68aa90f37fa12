"""The Spark ingress's fixtures (a runtime on the session's nats-server, a live HTTP app)."""

from __future__ import annotations

from tests.hub.spark.conftest import acme, app, client, readiness, runtime

__all__ = ["acme", "app", "client", "readiness", "runtime"]
