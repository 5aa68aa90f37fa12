"""A tool built with pylti1p3, in the test's process: its HTTP calls (JWKS, token, AGS,
NRPS) reach the hub over real HTTP; the browser's hops are made by the test with httpx.
"""

from __future__ import annotations

from typing import Any

from joserfc.jwk import RSAKey
from pylti1p3.cookie import CookieService
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfDict

TOOL_URL = "https://tool.example"
LOGIN_URL = f"{TOOL_URL}/login"
LAUNCH_URL = f"{TOOL_URL}/launch"


class ToolRequest(Request):
    def __init__(self, params: dict[str, str], session: dict[str, Any]) -> None:
        self.params = params
        self.session = session

    @property
    def session(self) -> dict[str, Any]:  # pylti1p3's session storage reads request.session
        return self._session

    @session.setter
    def session(self, value: dict[str, Any]) -> None:
        self._session = value

    def is_secure(self) -> bool:
        return False

    def get_param(self, key: str) -> str:
        return self.params.get(key, "")


class ToolCookies(CookieService):
    def __init__(self, jar: dict[str, str]) -> None:
        self.jar = jar

    def get_cookie(self, name: str) -> str | None:
        return self.jar.get(name)

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.jar[name] = str(value)


class ToolRedirect(Redirect[str]):
    def __init__(self, location: str) -> None:
        self.location = location

    def do_redirect(self) -> str:
        return self.location

    def do_js_redirect(self) -> str:
        return self.location

    def set_redirect_url(self, location: str) -> None:
        self.location = location

    def get_redirect_url(self) -> str:
        return self.location


class ToolLogin(OIDCLogin[ToolRequest, ToolConfDict, SessionService, ToolCookies, str]):
    def get_redirect(self, url: str) -> Redirect[str]:
        return ToolRedirect(url)


class ToolLaunch(MessageLaunch[ToolRequest, ToolConfDict, SessionService, ToolCookies]):
    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"})


def public_jwk(key: RSAKey) -> dict[str, Any]:
    """pylti1p3 names its key by its RFC 7638 thumbprint."""
    return {**key.as_dict(private=False), "kid": key.thumbprint()}


class PyltiTool:
    """One tool (one browser session) configured with the platform's issuer and URLs."""

    def __init__(
        self, platform: dict[str, str], client_id: str, deployments: list[str], key: RSAKey
    ) -> None:
        self.key = key
        self.issuer = platform["issuer"]
        self.config = ToolConfDict(
            {
                self.issuer: [
                    {
                        "default": True,
                        "client_id": client_id,
                        "auth_login_url": platform["authorization_url"],
                        "auth_token_url": platform["token_url"],
                        "key_set_url": platform["jwks_url"],
                        "deployment_ids": deployments,
                    }
                ]
            }
        )
        self.config.set_private_key(
            self.issuer, self.key.as_pem(private=True).decode(), client_id=client_id
        )
        self.config.set_public_key(
            self.issuer, self.key.as_pem(private=False).decode(), client_id=client_id
        )
        self.session: dict[str, Any] = {}
        self.cookies: dict[str, str] = {}

    @property
    def public_jwk(self) -> dict[str, Any]:
        return public_jwk(self.key)

    def login(self, params: dict[str, str]) -> str:
        """The tool's login initiation: where it sends the browser (the hub's authorize URL)."""
        request = ToolRequest(params, self.session)
        login = ToolLogin(request, self.config, SessionService(request), ToolCookies(self.cookies))
        return login.redirect(LAUNCH_URL)

    def launch(self, form: dict[str, str]) -> ToolLaunch:
        """The tool's launch endpoint: validate what the hub posted."""
        request = ToolRequest(form, self.session)
        launch = ToolLaunch(
            request, self.config, SessionService(request), ToolCookies(self.cookies)
        )
        launch.validate()
        return launch
