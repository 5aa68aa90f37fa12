"""Mount the LTI platform's parts on the HTTP app (the JWKS first: tools need it to trust us)."""

from __future__ import annotations

from fastapi import FastAPI

from hub.bootstrap import Runtime
from hub.lti.keys import install_lti_keys


def install_lti_platform(app: FastAPI, runtime: Runtime) -> None:
    install_lti_keys(app, runtime)
