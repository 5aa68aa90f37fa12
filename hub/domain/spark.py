"""A tenant's connection to Spark, and the single use of its SSO tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def spark_connection_id(tenant: str) -> str:
    return aggregate_id(tenant, "SparkConnection", "spark")


def sso_token_id(tenant: str, token_key: str) -> str:
    """`token_key` is the nonce, or the token's SHA-256 when it has none."""
    return aggregate_id(tenant, "SsoToken", "spark", token_key)


class SparkConnection(HubAggregate):
    """Secrets are sealed with the hub's key; a read never returns them.

    A rotated secret is kept, sealed, as the retired one with the end of its overlap
    window (epoch seconds): until then both verify; after it, only the new one does.
    One retired secret per kind: a second rotation inside the window ends the first's.
    """

    retired_sso_sealed: str | None = None
    retired_sso_until: float = 0.0
    retired_webhook_sealed: str | None = None
    retired_webhook_until: float = 0.0
    last_course_sync_at: str | None = None

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return spark_connection_id(tenant)

    @event("Connected")
    def __init__(
        self,
        tenant: str,
        api_url: str,
        api_key_sealed: str,
        sso_secret_sealed: str,
        webhook_secret_sealed: str,
        issuer: str | None,
        allowed_evidence_hosts: list[str],
        webhook_limit_per_minute: int,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key_sealed = api_key_sealed
        self.sso_secret_sealed = sso_secret_sealed
        self.webhook_secret_sealed = webhook_secret_sealed
        self.issuer = issuer
        self.allowed_evidence_hosts = allowed_evidence_hosts
        self.webhook_limit_per_minute = webhook_limit_per_minute

    @event("Updated")
    def update(
        self,
        api_url: str,
        issuer: str | None,
        allowed_evidence_hosts: list[str],
        webhook_limit_per_minute: int,
        api_key_sealed: str | None,
    ) -> None:
        """New settings; `api_key_sealed` None keeps the API key."""
        self.api_url = api_url.rstrip("/")
        self.issuer = issuer
        self.allowed_evidence_hosts = allowed_evidence_hosts
        self.webhook_limit_per_minute = webhook_limit_per_minute
        if api_key_sealed is not None:
            self.api_key_sealed = api_key_sealed

    @event("SecretRotated")
    def rotate_secret(self, which: str, new_sealed: str, retired_until: float) -> None:
        """`which` is "sso" or "webhook"; the current secret retires at `retired_until`."""
        current = getattr(self, f"{which}_secret_sealed")
        setattr(self, f"retired_{which}_sealed", current)
        setattr(self, f"retired_{which}_until", retired_until)
        setattr(self, f"{which}_secret_sealed", new_sealed)

    @event("CourseSyncSucceeded")
    def course_sync_succeeded(
        self, job_id: str, started_at: str, finished_at: str, stats: Mapping[str, Mapping[str, int]]
    ) -> None:
        """A course sync that wrote its changes; `stats` counts quests and tasks."""
        self.last_course_sync_at = finished_at

    @event("CourseSyncFailed")
    def course_sync_failed(
        self, job_id: str, started_at: str, finished_at: str, error: str
    ) -> None:
        """A course sync that failed: Spark answered with an error, or a conflict."""
        self.last_course_sync_at = finished_at


class SsoToken(HubAggregate):
    """A sign-in by SSO token. It exists once the token was accepted: a replay conflicts.

    The accepted event is the sign-in's record (who, verified how, with which claims),
    standing alone: a returning learner's sign-in is this one event, one message, and
    the learner's own history changes only when the person does.
    """

    @staticmethod
    def create_id(tenant: str, token_key: str, **_: object) -> str:
        return sso_token_id(tenant, token_key)

    @event("Accepted")
    def __init__(
        self,
        tenant: str,
        token_key: str,
        subject: str,
        expires_at: int,
        learner_id: str,
        matched_by: str,
        claims: dict[str, Any],
    ) -> None:
        self.subject = subject
        self.expires_at = expires_at
        self.learner_id = learner_id
