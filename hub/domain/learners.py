"""People who learn (and the parents and admins who arrive the same way), and how we know them.

A person is found by an external identity (tenant, source, external id), else linked
by email, else created. `Identity` and `EmailIndex` are small aggregates whose ids are
derived from those keys, so finding a person is one read and linking is atomic with
the person's own event.
"""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def normalise_email(email: str) -> str:
    return email.strip().lower()


def learner_id(tenant: str, source: str, external_id: str) -> str:
    """The id of a person first seen through `source` with `external_id`."""
    return aggregate_id(tenant, "Learner", source, external_id)


def identity_id(tenant: str, source: str, external_id: str) -> str:
    return aggregate_id(tenant, "Identity", source, external_id)


def email_index_id(tenant: str, email: str) -> str:
    return aggregate_id(tenant, "EmailIndex", normalise_email(email))


class Learner(HubAggregate):
    """A person: a student, a parent or an admin (the role says which)."""

    @staticmethod
    def create_id(tenant: str, source: str, external_id: str, **_: object) -> str:
        return learner_id(tenant, source, external_id)

    @event("Registered")
    def __init__(
        self,
        tenant: str,
        source: str,
        external_id: str,
        email: str,
        given_name: str,
        family_name: str,
        role: str,
    ) -> None:
        self.email = normalise_email(email)
        self.given_name = given_name
        self.family_name = family_name
        self.role = role
        self.identities = [f"{source}:{external_id}"]
        self.quests: list[str] = []

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip() or self.email

    @event("ProfileUpdated")
    def update_profile(self, email: str, given_name: str, family_name: str, source: str) -> None:
        self.email = normalise_email(email)
        self.given_name = given_name
        self.family_name = family_name

    def completed_profile(
        self, email: str, given_name: str, family_name: str
    ) -> tuple[str, str, str] | None:
        """The profile with its empty fields filled from a verified source, if any was empty.

        Filled, never overwritten: two sources that spell a name differently would
        otherwise rewrite it at every sign-in.
        """
        filled = (
            self.email or normalise_email(email),
            self.given_name or given_name,
            self.family_name or family_name,
        )
        return None if filled == (self.email, self.given_name, self.family_name) else filled

    @event("RoleChanged")
    def change_role(self, role: str, source: str) -> None:
        """The source that registered the person says they hold another role."""
        self.role = role

    @event("IdentityLinked")
    def link_identity(self, source: str, external_id: str, matched_by: str) -> None:
        self.identities.append(f"{source}:{external_id}")

    @event("Enrolled")
    def enrol(self, quest_id: str, source: str) -> None:
        self.quests.append(quest_id)

    @event("Dropped")
    def drop(self, quest_id: str, source: str) -> None:
        self.quests.remove(quest_id)

    def is_enrolled(self, quest_id: str) -> bool:
        return quest_id in self.quests


class Identity(HubAggregate):
    """Points an external identity (Spark `sub`, LTI `sub`, OneRoster sourcedId) at a person."""

    @staticmethod
    def create_id(tenant: str, source: str, external_id: str, **_: object) -> str:
        return identity_id(tenant, source, external_id)

    @event("Claimed")
    def __init__(self, tenant: str, source: str, external_id: str, learner_id: str) -> None:
        self.learner_id = learner_id


class EmailIndex(HubAggregate):
    """Points a tenant's email address at the person who holds it."""

    @staticmethod
    def create_id(tenant: str, email: str, **_: object) -> str:
        return email_index_id(tenant, email)

    @event("Claimed")
    def __init__(self, tenant: str, email: str, learner_id: str) -> None:
        self.learner_id = learner_id
