"""Accounts of people who arrive without a partner's sign-in (observers, for now).

An account is found by its tenant's email address (`EmailIndex`, the same index that
learners claim), so an observer invited twice, or later signed in from Spark with the
same address, is one person. Issue 9 adds passwords; today an account signs in by
accepting an invitation.
"""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id
from hub.domain.learners import normalise_email


def account_id(tenant: str, email: str) -> str:
    return aggregate_id(tenant, "Account", normalise_email(email))


class Account(HubAggregate):
    """A person of one tenant known by email, with a role (`observer`)."""

    @staticmethod
    def create_id(tenant: str, email: str, **_: object) -> str:
        return account_id(tenant, email)

    @event("Opened")
    def __init__(self, tenant: str, email: str, name: str, role: str, source: str) -> None:
        self.email = normalise_email(email)
        self.name = name
        self.role = role
