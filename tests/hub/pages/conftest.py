"""The pages on real parts: the Spark ingress's fixtures (nats-server, uvicorn, httpx)."""

from __future__ import annotations

from tests.hub.spark.conftest import acme, app, beta, client, readiness, runtime

__all__ = ["acme", "app", "beta", "client", "readiness", "runtime"]
