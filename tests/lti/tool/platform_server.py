"""A small LTI 1.3 platform (an LMS), written from the IMS specifications, not from the hub's code.

It imports nothing of the hub: it plays Canvas or Moodle for the hub as a tool.

    GET  /auth                      OIDC authorization: checks the request, answers with the
                                    form_post page carrying id_token and state
    GET  /jwks                      its public keys (rotate with `rotate()`)
    POST /token                     client credentials with a JWT assertion checked against
                                    the tool's JWKS; bearer tokens with the granted scopes
    POST /lineitems/{id}/scores     AGS scores (media type and scope checked)
    GET  /contexts/{id}/memberships NRPS, paged with Link: rel="next"
    POST /deep_links                receives the tool's LtiDeepLinkingResponse (`JWT` field)
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
)
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def new_key() -> RSAKey:
    key = RSAKey.generate_key(2048)
    return RSAKey.import_key({**key.as_dict(private=True), "kid": key.thumbprint()})


@dataclass
class Platform:
    """The platform's state; the FastAPI app in `build_app` serves it."""

    issuer: str
    client_id: str
    deployment_id: str
    tool_jwks_url: str = ""
    base_url: str = ""
    keys: list[RSAKey] = field(default_factory=lambda: [new_key()])
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_launch: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, tuple[list[str], float]] = field(default_factory=dict)
    token_requests: int = 0
    used_jtis: set[str] = field(default_factory=set)
    scores: list[dict[str, Any]] = field(default_factory=list)
    score_failures: list[int] = field(default_factory=list)
    deep_link_responses: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def signing_key(self) -> RSAKey:
        return self.keys[-1]

    def rotate(self) -> RSAKey:
        key = new_key()
        self.keys.append(key)
        return key

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {**key.as_dict(private=False), "kid": key.kid, "alg": "RS256", "use": "sig"}
                for key in self.keys
            ]
        }

    def claims(self, *, user: str, nonce: str, **overrides: Any) -> dict[str, Any]:
        """A resource link launch for `user` in course "c1" (overrides replace any claim)."""
        now = int(time.time())
        person = self.users.get(user, {})
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": user,
            "iat": now - 5,
            "exp": now + 300,
            "nonce": nonce,
            "name": person.get("name", ""),
            "email": person.get("email", ""),
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": "https://tool.example/launch",
            LTI + "roles": person.get("roles", [LEARNER]),
            LTI + "resource_link": {"id": "rl-1", "title": "Essay"},
            LTI + "context": {"id": "c1", "label": "BIO", "title": "Biology"},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": list(AGS_SCOPES),
                "lineitems": f"{self.base_url}/contexts/c1/lineitems",
                "lineitem": f"{self.base_url}/lineitems/li-1",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.base_url}/contexts/c1/memberships",
                "service_versions": ["2.0"],
            },
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: RSAKey | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        signing = key or self.signing_key
        return jwt.encode(
            header or {"alg": "RS256", "kid": signing.kid, "typ": "JWT"}, claims, signing
        )

    def check_assertion(self, assertion: str, token_url: str) -> str | None:
        """The reason a client assertion is refused, or None when it is good."""
        keys = KeySet.import_key_set(httpx.get(self.tool_jwks_url, timeout=10).json())
        try:
            token = jwt.decode(assertion, keys, algorithms=["RS256"])
        except JoseError:
            return "signature"
        claims = token.claims
        now = int(time.time())
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "iss/sub"
        if claims.get("aud") not in (token_url, [token_url]):
            return "aud"
        if not now - 300 <= int(claims.get("iat", 0)) <= now + 30 or int(claims["exp"]) < now:
            return "times"
        with self.lock:
            if claims.get("jti") in self.used_jtis:
                return "jti replayed"
            self.used_jtis.add(str(claims.get("jti")))
        return None


def _form_post(action: str, fields: dict[str, str]) -> HTMLResponse:
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return HTMLResponse(
        f'<html><body onload="document.forms[0].submit()"><form method="post" '
        f'action="{html.escape(action)}">{inputs}</form></body></html>'
    )


def parse_form_post(page: str) -> tuple[str, dict[str, str]]:
    """The action and fields of an auto-submitting form page."""
    action = html.unescape(re.search(r'action="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page)
    }
    return action, fields


def build_app(platform: Platform) -> FastAPI:
    app = FastAPI()

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return platform.jwks()

    @app.get("/auth")
    def auth(request: Request) -> Response:
        params = request.query_params
        expected = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": platform.client_id,
        }
        wrong = [k for k, v in expected.items() if params.get(k) != v]
        if wrong or not params.get("nonce") or not params.get("state"):
            return JSONResponse({"error": "invalid_request", "wrong": wrong}, status_code=400)
        user = params["login_hint"]
        claims = platform.claims(user=user, nonce=params["nonce"], **platform.next_launch)
        return _form_post(
            params["redirect_uri"], {"id_token": platform.sign(claims), "state": params["state"]}
        )

    @app.post("/token")
    def token(
        grant_type: str = Form(),
        client_assertion_type: str = Form(),
        client_assertion: str = Form(),
        scope: str = Form(""),
    ) -> JSONResponse:
        platform.token_requests += 1
        if grant_type != "client_credentials" or not client_assertion_type.endswith("jwt-bearer"):
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        refused = platform.check_assertion(client_assertion, f"{platform.base_url}/token")
        if refused:
            return JSONResponse({"error": "invalid_client", "why": refused}, status_code=401)
        access = secrets.token_urlsafe(24)
        granted = [s for s in scope.split() if s in (*AGS_SCOPES, NRPS_SCOPE)]
        platform.tokens[access] = (granted, time.time() + 3600)
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": " ".join(granted),
            }
        )

    def _scopes(authorization: str | None) -> list[str]:
        found = platform.tokens.get((authorization or "").removeprefix("Bearer "))
        return found[0] if found and found[1] > time.time() else []

    @app.post("/lineitems/{item}/scores")
    async def scores(
        item: str, request: Request, authorization: str | None = Header(None)
    ) -> Response:
        if AGS_SCOPES[1] not in _scopes(authorization):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        if request.headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
            return JSONResponse({"error": "media type"}, status_code=415)
        if platform.score_failures:
            return Response(status_code=platform.score_failures.pop(0))
        platform.scores.append({"lineitem": item, **(await request.json())})
        return Response(status_code=200)

    @app.get("/contexts/{context}/memberships")
    def memberships(
        context: str,
        request: Request,
        authorization: str | None = Header(None),
        limit: int = 2,
        offset: int = 0,
    ) -> Response:
        if NRPS_SCOPE not in _scopes(authorization):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        page = platform.members[offset : offset + limit]
        headers = {"Content-Type": "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"}
        if offset + limit < len(platform.members):
            nxt = f"{platform.base_url}/contexts/{context}/memberships"
            nxt += f"?limit={limit}&offset={offset + limit}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        body = {"id": str(request.url), "context": {"id": context}, "members": page}
        return JSONResponse(body, headers=headers)

    @app.post("/deep_links")
    def deep_links(JWT: str = Form()) -> dict[str, str]:  # noqa: N803 - the spec's field name
        keys = KeySet.import_key_set(httpx.get(platform.tool_jwks_url, timeout=10).json())
        token = jwt.decode(JWT, keys, algorithms=["RS256"])
        header = jws.extract_compact(JWT.encode()).headers()
        platform.deep_link_responses.append({"header": header, "claims": token.claims})
        return {"status": "received"}

    return app


def user(
    platform: Platform, sub: str, *, name: str, email: str, roles: list[str] | None = None
) -> None:
    platform.users[sub] = {"name": name, "email": email, "roles": roles or [LEARNER]}


def new_platform(issuer: str | None = None) -> Platform:
    return Platform(
        issuer=issuer or f"https://lms-{uuid.uuid4().hex[:6]}.example",
        client_id="tool-" + uuid.uuid4().hex[:8],
        deployment_id="dep-1",
    )
