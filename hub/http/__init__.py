"""The hub's HTTP ingress (FastAPI): probes, admin API, problem details, request context.

The names below are loaded when first used, not when the package is imported: the app
module imports every feature's routes, and those import small modules of this package
(`hub.http.problems`, `hub.http.ratelimit`, ...), which must not pull the app in first.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.http.app import build_http_app, create_app
    from hub.http.readiness import Readiness, database_check, nats_check, runtime_readiness

_HOMES = {
    "build_http_app": "hub.http.app",
    "create_app": "hub.http.app",
    "Readiness": "hub.http.readiness",
    "database_check": "hub.http.readiness",
    "nats_check": "hub.http.readiness",
    "runtime_readiness": "hub.http.readiness",
}

__all__ = [
    "Readiness",
    "build_http_app",
    "create_app",
    "database_check",
    "nats_check",
    "runtime_readiness",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        msg = f"module 'hub.http' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
