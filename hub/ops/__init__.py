"""The operations pages under `/admin/ops` on an admin session (`hub.ops.session`), and the
hub's Prometheus metrics (`hub.ops.metrics`, `/metrics`).

`install_ops(app, runtime)` mounts the session (sign-in, sign-out, the `AdminPage`
dependency's redirect), the pages (on `ops_backend(runtime)`: the read models, redrive,
rebuild), their static files, `/metrics` and the HTTP latency middleware. This package
imports nothing at load time, so that `hub.ops.metrics` can be imported from anywhere
(connectors count their deliveries there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from hub.bootstrap import Runtime

__all__ = ["install_ops"]


def install_ops(app: FastAPI, runtime: Runtime) -> None:
    from hub.ops.install import install  # noqa: PLC0415 - see the module's docstring

    install(app, runtime)
