"""Inbound over NATS on real parts: the session's nats-server, the Spark tests' tenants."""

from __future__ import annotations

from tests.hub.spark.conftest import acme, beta, runtime

__all__ = ["acme", "beta", "runtime"]
