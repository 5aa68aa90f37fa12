"""What Spark sends, made in the tests: signed SSO tokens and signed webhook bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from hub.audit import Rejection, rejections
from hub.bootstrap import Runtime
from infra.nats_client import NatsConnection

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@dataclass(frozen=True)
class Partner:
    """A connected tenant and the secrets Spark was given for it."""

    tenant: str
    sso_secret: str
    webhook_secret: str


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    made: dict[str, Any] = {
        "sub": "spark_user_123",
        "email": "sarah@example.com",
        "given_name": "Sarah",
        "family_name": "Johnson",
        "role": "student",
        "iat": now,
        "exp": now + 600,
        "nonce": secrets.token_hex(8),
    }
    made.update(overrides)
    return {k: v for k, v in made.items() if v is not None}


def sso_token(secret: str, **overrides: Any) -> str:
    return jwt.encode({"alg": "HS256"}, claims(**overrides), OctKey.import_key(secret.encode()))


def rs256_token(**overrides: Any) -> str:
    key = RSAKey.generate_key(2048)
    return jwt.encode({"alg": "RS256"}, claims(**overrides), key)


def unsigned_token(**overrides: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(**overrides))}."


def submission(**overrides: Any) -> dict[str, Any]:
    made: dict[str, Any] = {
        "spark_user_id": "spark_user_123",
        "spark_assignment_id": "assignment_456",
        "spark_course_id": "course_789",
        "submission_text": "My essay on photosynthesis.",
        "submission_files": [
            {
                "url": "https://spark-storage.example/temp/file_abc?expires=1",
                "type": "application/pdf",
                "filename": "essay.pdf",
            }
        ],
        "submitted_at": "2025-01-15T14:30:00Z",
        "grade": 95.5,
    }
    made.update(overrides)
    return made


def embedded(data: bytes, type_: str = "image/png", filename: str = "plant.png") -> dict[str, Any]:
    return {"content_base64": base64.b64encode(data).decode(), "type": type_, "filename": filename}


def signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_signed(
    client: httpx.Client, path: str, payload: dict[str, Any] | bytes, secret: str, **headers: str
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {
        "Content-Type": "application/json",
        "X-Spark-Signature": signature(body, secret),
        **headers,
    }
    return client.post(path, content=body, headers=sent)


def head(runtime: Runtime) -> int:
    """The `hub` app's last log position (0 when empty)."""
    return runtime.hub.recorder.max_notification_id() or 0


def audit(runtime: Runtime, tenant: str | None = None) -> list[Rejection]:
    connection = NatsConnection.shared(runtime.nats_url)
    return rejections(connection, runtime.settings.stream_prefix, tenant, limit=1000)


def session_cookie(response: httpx.Response) -> str:
    """The session cookie's value (sent by hand: httpx keeps Secure cookies off plain HTTP)."""
    header = response.headers["set-cookie"]
    name, _, rest = header.partition("=")
    assert name == "hub_session"
    return rest.split(";", 1)[0]


def cookie_attributes(response: httpx.Response) -> set[str]:
    parts = [part.strip() for part in response.headers["set-cookie"].split(";")[1:]]
    return {part.lower() for part in parts}
