"""The hub's HTTP ingress (FastAPI): probes, admin API, problem details, request context."""

from hub.http.app import build_http_app, create_app
from hub.http.readiness import Readiness, database_check, nats_check, runtime_readiness

__all__ = [
    "Readiness",
    "build_http_app",
    "create_app",
    "database_check",
    "nats_check",
    "runtime_readiness",
]
