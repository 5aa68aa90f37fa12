"""The server-rendered pages: learner dashboard, portfolio and showcase, family pages.

`install_pages(app, runtime)` mounts them, with the one stylesheet they use
(`/static/hub.css`: no CDN), the session signer and the evidence blob store.
"""

from __future__ import annotations

from fastapi import FastAPI

from hub.bootstrap import Runtime
from hub.pages import (
    evidence,
    family_pages,
    learner,
    observers_pages,
    portfolio_routes,
    showcase_routes,
    signout,
    static,
)
from hub.pages.web import install_page_errors
from hub.spark.sessions import SessionSigner, session_key
from infra.blobs import FolderBlobStore

__all__ = ["install_pages"]


def install_pages(app: FastAPI, runtime: Runtime) -> None:
    app.state.page_signer = SessionSigner(session_key(runtime.settings))
    app.state.page_blobs = FolderBlobStore(runtime.settings.data_dir / "blobs")
    install_page_errors(app)
    for module in (
        learner,
        portfolio_routes,
        showcase_routes,
        evidence,
        family_pages,
        observers_pages,
        signout,
        static,
    ):
        app.include_router(module.router)
