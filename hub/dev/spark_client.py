"""What Spark sends the hub, made the way Spark makes it: SSO links and signed webhooks.

Mirrors the seed's Node examples: the SSO token is an HS256 JWT signed with the
tenant's SSO secret; a webhook body is compact JSON (`JSON.stringify`) whose hex
HMAC-SHA256 with the tenant's webhook secret goes in `X-Spark-Signature`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey

SSO_LIFETIME_S = 600
WebhookKind = Literal["submission", "roster"]


def sso_token(
    secret: str,
    *,
    sub: str,
    email: str,
    given_name: str = "",
    family_name: str = "",
    role: str = "student",
    course_ids: Sequence[str] = (),
    issuer: str | None = None,
    nonce: str | None = "",
    lifetime_s: int = SSO_LIFETIME_S,
    now: int | None = None,
) -> str:
    """An SSO token as Spark signs it. `nonce=""` makes a random one; None leaves it out."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "sub": sub,
        "email": email,
        "given_name": given_name,
        "family_name": family_name,
        "role": role,
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    if course_ids:
        claims["spark_course_ids"] = list(course_ids)
    if issuer is not None:
        claims["iss"] = issuer
    if nonce is not None:
        claims["nonce"] = nonce or secrets.token_urlsafe(16)
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(secret.encode()))


def sso_link(hub_url: str, tenant: str, token: str) -> str:
    """Where Spark sends the browser: the hub's SSO endpoint of `tenant`."""
    return f"{hub_url.rstrip('/')}/t/{quote(tenant, safe='')}/spark/sso?token={token}"


def webhook_url(hub_url: str, tenant: str, kind: WebhookKind) -> str:
    return f"{hub_url.rstrip('/')}/t/{quote(tenant, safe='')}/spark/webhook/{kind}"


def encode(payload: dict[str, Any]) -> bytes:
    """The body as `JSON.stringify` writes it (compact, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def sign(body: bytes, secret: str) -> str:
    """`X-Spark-Signature`: the hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def url_file(url: str, content_type: str | None = None) -> dict[str, Any]:
    """A submission file by temporary URL; its name and type from the URL's path."""
    filename = Path(urlsplit(url).path).name or "file"
    return {"url": url, "type": content_type or guess_type(filename), "filename": filename}


def embedded_file(path: Path, content_type: str | None = None) -> dict[str, Any]:
    """A submission file embedded as base64 (seed 001's fallback)."""
    return {
        "content_base64": base64.b64encode(path.read_bytes()).decode(),
        "type": content_type or guess_type(path.name),
        "filename": path.name,
    }


def submission_payload(
    *,
    user: str,
    assignment: str,
    course: str,
    text: str = "",
    files: Sequence[dict[str, Any]] = (),
    grade: float | None = None,
    submitted_at: datetime | None = None,
) -> dict[str, Any]:
    """The submission webhook's body (seed 000's fields, in its order); a naive
    `submitted_at` is taken as UTC."""
    moment = submitted_at or datetime.now(UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    payload: dict[str, Any] = {
        "spark_user_id": user,
        "spark_assignment_id": assignment,
        "spark_course_id": course,
        "submission_text": text,
        "submission_files": list(files),
        "submitted_at": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if grade is not None:
        payload["grade"] = grade
    return payload


def roster_payload(*, user: str, course: str, action: Literal["enroll", "drop"]) -> dict[str, Any]:
    return {"spark_user_id": user, "spark_course_id": course, "action": action}


def send_webhook(
    hub_url: str,
    tenant: str,
    kind: WebhookKind,
    payload: dict[str, Any],
    secret: str,
    *,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST `payload` signed with `secret` to the hub's `kind` webhook of `tenant`."""
    body = encode(payload)
    headers = {"Content-Type": "application/json", "X-Spark-Signature": sign(body, secret)}
    url = webhook_url(hub_url, tenant, kind)
    if client is not None:
        return client.post(url, content=body, headers=headers)
    with httpx.Client(timeout=timeout) as own:
        return own.post(url, content=body, headers=headers)
