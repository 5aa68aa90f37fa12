"""People who learn (and the parents and admins who arrive the same way), and how we know them.

A person is found by an external identity (tenant, source, external id), else linked
by email, else created. `Identity` and `EmailIndex` are small aggregates whose ids are
derived from those keys, so finding a person is one read and linking is atomic with
the person's own event.
"""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

OBSERVER = "observer"
HUB = "hub"  # the source of the people the hub opens itself


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

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role the person holds, their main one (`role`) first."""
        # `also` exists once a role was added: older learners (and snapshots) lack it
        also = [role for role in getattr(self, "also", ()) if role != self.role]
        return (self.role, *also)

    @property
    def only_observes(self) -> bool:
        """An observer and nothing else: they follow students' work, never hand in any."""
        return self.roles == (OBSERVER,)

    def take_on_role(self, role: str, source: str) -> bool:
        """Hold `role` too (a person who arrives another way stays one person); whether
        that was new. An observer's is the role of least reach, so a person who held only
        it makes the new one their main role (read models and rosters show that one)."""
        if not role or role in self.roles:
            return False
        self.add_role(added=role, role=role if self.role == OBSERVER else self.role, source=source)
        return True

    @event("RoleAdded")
    def add_role(self, added: str, role: str, source: str) -> None:
        """`role` is the main role after, as in `Registered` and `RoleChanged`."""
        held = self.roles
        self.role = role
        self.also = [other for other in (*held, added) if other != role]

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


def hub_person(tenant: str, email: str, name: str, role: str) -> Learner:
    """A person the hub opens itself (an admin, an accepted invitation), known by address:
    an observer too is a `Learner`, so whoever arrives later by the same address (SSO, LTI,
    a roster) is linked to them (issue 9)."""
    address = normalise_email(email)
    given_name, _, family_name = name.strip().partition(" ")
    return Learner(
        tenant=tenant,
        source=HUB,
        external_id=address,
        email=address,
        given_name=given_name,
        family_name=family_name.strip(),
        role=role,
    )


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
