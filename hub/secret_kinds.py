"""Which secret a rotation replaces (no imports: the `hub` command line's options use them)."""

from __future__ import annotations

from enum import StrEnum


class TenantSecret(StrEnum):
    """A tenant's own secrets: replaced at once by a rotation."""

    API_KEY = "api_key"
    WEBHOOK = "webhook"


class SparkSecret(StrEnum):
    """A Spark connection's secrets: the old one verifies until the overlap window ends."""

    SSO = "sso"
    WEBHOOK = "webhook"
