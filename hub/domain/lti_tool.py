"""The hub as an LTI 1.3 tool: platforms registered per tenant, launches, resource links.

    PlatformRegistration  Registered, Updated       a platform (issuer, client_id) that launches us
    LtiLaunch             Initiated, Accepted,      one OIDC login and its launch; its id comes
                          DeepLinkResponded         from the `state`, so the launch that consumes
                                                    it a second time conflicts (single use)
    LtiResourceLink       Mapped, Updated           a platform's resource link -> quest (and task)
    LtiTaskLinks          Started, Linked           a task -> the resource links that grade it

A platform's course (its LTI context) is a `Quest` of source "lti"; a person is a
`Learner` found by an `Identity` of source "lti" (issuer, client_id and `sub`).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

SOURCE = "lti"
STATE_TTL_S = 600


def registration_id(tenant: str, issuer: str, client_id: str) -> str:
    return aggregate_id(tenant, "LtiPlatform", issuer, client_id)


def launch_id(tenant: str, state: str) -> str:
    return aggregate_id(tenant, "LtiLaunch", state)


def person_key(issuer: str, client_id: str, sub: str) -> str:
    """The external id of a platform's user: `sub` is unique per issuer and client."""
    return f"{issuer}|{client_id}|{sub}"


def context_key(issuer: str, client_id: str, deployment_id: str, context_id: str) -> str:
    return f"{issuer}|{client_id}|{deployment_id}|{context_id}"


def resource_link_id(
    tenant: str, issuer: str, client_id: str, deployment_id: str, link_id: str
) -> str:
    return aggregate_id(tenant, "LtiResourceLink", issuer, client_id, deployment_id, link_id)


def task_links_id(tenant: str, task_id: str) -> str:
    return aggregate_id(tenant, "LtiTaskLinks", task_id)


class PlatformRegistration(HubAggregate):
    """A platform that launches the hub: where it signs people in, its keys, its token URL."""

    @staticmethod
    def create_id(tenant: str, issuer: str, client_id: str, **_: object) -> str:
        return registration_id(tenant, issuer, client_id)

    @event("Registered")
    def __init__(
        self,
        tenant: str,
        name: str,
        issuer: str,
        client_id: str,
        deployment_ids: list[str],
        auth_login_url: str,
        auth_token_url: str,
        jwks_url: str,
        allowed_hosts: list[str],
    ) -> None:
        self.name = name
        self.issuer = issuer
        self.client_id = client_id
        self._set(deployment_ids, auth_login_url, auth_token_url, jwks_url, allowed_hosts)

    def _set(
        self,
        deployment_ids: list[str],
        auth_login_url: str,
        auth_token_url: str,
        jwks_url: str,
        allowed_hosts: list[str],
    ) -> None:
        self.deployment_ids = list(deployment_ids)
        self.auth_login_url = auth_login_url
        self.auth_token_url = auth_token_url
        self.jwks_url = jwks_url
        self.allowed_hosts = list(allowed_hosts)

    @event("Updated")
    def update(
        self,
        name: str,
        deployment_ids: list[str],
        auth_login_url: str,
        auth_token_url: str,
        jwks_url: str,
        allowed_hosts: list[str],
    ) -> None:
        self.name = name
        self._set(deployment_ids, auth_login_url, auth_token_url, jwks_url, allowed_hosts)


class LtiLaunch(HubAggregate):
    """One login initiation and the launch that consumes it (state and nonce kept here)."""

    @staticmethod
    def create_id(tenant: str, state: str, **_: object) -> str:
        return launch_id(tenant, state)

    @event("Initiated")
    def __init__(
        self,
        tenant: str,
        state: str,
        nonce: str,
        registration_id: str,
        issuer: str,
        client_id: str,
        login_hint: str,
        target_link_uri: str,
        lti_message_hint: str | None,
        deployment_id: str | None,
        issued_at: int,
    ) -> None:
        self.nonce = nonce
        self.registration_id = registration_id
        self.issued_at = issued_at
        self.accepted = False
        self.learner_id: str | None = None
        self.message_type: str | None = None
        self.deep_linking: dict[str, Any] | None = None
        self.deployment_id: str | None = None
        self.responded = False

    @event("Accepted")
    def accept(
        self,
        learner_id: str,
        role: str,
        matched_by: str,
        message_type: str,
        quest_id: str | None,
        resource_link: str | None,
        task_id: str | None,
        claims: dict[str, Any],
        verified: dict[str, Any],
    ) -> None:
        self.accepted = True
        self.learner_id = learner_id
        self.message_type = message_type
        self.deployment_id = str(claims.get("deployment_id", ""))
        self.deep_linking = claims.get("deep_linking")

    @event("DeepLinkResponded")
    def respond(self, items: list[dict[str, Any]], return_url: str, jwt_sha256: str) -> None:
        self.responded = True


class LtiResourceLink(HubAggregate):
    """A platform's resource link: the quest of its context, the task it opens, its line item."""

    @staticmethod
    def create_id(
        tenant: str, issuer: str, client_id: str, deployment_id: str, link_id: str, **_: object
    ) -> str:
        return resource_link_id(tenant, issuer, client_id, deployment_id, link_id)

    @event("Mapped")
    def __init__(
        self,
        tenant: str,
        issuer: str,
        client_id: str,
        deployment_id: str,
        link_id: str,
        registration_id: str,
        quest_id: str | None,
        task_id: str | None,
        title: str,
        lineitem: str | None,
        scopes: list[str],
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.link_id = link_id
        self.registration_id = registration_id
        self._set(quest_id, task_id, title, lineitem, scopes)

    def _set(
        self,
        quest_id: str | None,
        task_id: str | None,
        title: str,
        lineitem: str | None,
        scopes: list[str],
    ) -> None:
        self.quest_id = quest_id
        self.task_id = task_id
        self.title = title
        self.lineitem = lineitem
        self.scopes = scopes

    def changes(self, **values: Any) -> bool:
        """Whether `values` (the `Updated` fields) differ from what the link holds."""
        return any(getattr(self, name) != value for name, value in values.items())

    @event("Updated")
    def update(
        self,
        quest_id: str | None,
        task_id: str | None,
        title: str,
        lineitem: str | None,
        scopes: list[str],
    ) -> None:
        self._set(quest_id, task_id, title, lineitem, scopes)


class LtiTaskLinks(HubAggregate):
    """The resource links that open one task: where its scores go back."""

    @staticmethod
    def create_id(tenant: str, task_id: str, **_: object) -> str:
        return task_links_id(tenant, task_id)

    @event("Started")
    def __init__(self, tenant: str, task_id: str, link: str) -> None:
        self.links = [link]

    @event("Linked")
    def link(self, link: str) -> None:
        self.links.append(link)
