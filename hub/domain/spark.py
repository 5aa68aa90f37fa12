"""A tenant's connection to Spark, and the single use of its SSO tokens."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def spark_connection_id(tenant: str) -> str:
    return aggregate_id(tenant, "SparkConnection", "spark")


def sso_token_id(tenant: str, token_key: str) -> str:
    """`token_key` is the nonce, or the token's SHA-256 when it has none."""
    return aggregate_id(tenant, "SsoToken", "spark", token_key)


class SparkConnection(HubAggregate):
    """Secrets are sealed with the hub's key; a read never returns them."""

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
