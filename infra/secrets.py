"""Secrets at rest: AES-GCM under the hub's key, and hashes for API keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SecretBox:
    """Encrypts tenant secrets (webhook and SSO secrets) that must be usable again later."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            msg = "the hub's secret key must be 32 bytes"
            raise ValueError(msg)
        self._aead = AESGCM(key)

    @classmethod
    def from_text(cls, text: str) -> SecretBox:
        """From HUB_SECRET_KEY: any text; it is stretched to 32 bytes with SHA-256."""
        return cls(hashlib.sha256(text.encode()).digest())

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str) -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()


def load_or_create_key_file(path: Path) -> str:
    """The embedded mode's key: made once, readable only by its owner."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_api_key(key: str) -> str:
    """API keys are 256 random bits: a plain SHA-256 is enough and constant-time to compare."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_matches(key: str, digest: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), digest)
