"""Parents and guardians linked to students, and each tenant's family settings.

A `Guardianship` is one guardian and one student: its id is derived from the pair, so
the same link arriving again (a roster re-imported, an admin's retry) lands on the same
aggregate and changes nothing.
"""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

DEFAULT_RHYTHM_DAYS = 7


def guardianship_id(tenant: str, guardian_id: str, student_id: str) -> str:
    return aggregate_id(tenant, "Guardianship", guardian_id, student_id)


def family_settings_id(tenant: str) -> str:
    return aggregate_id(tenant, "FamilySettings", tenant)


class Guardianship(HubAggregate):
    """A parent or guardian's link to a student; `active` until unlinked."""

    @staticmethod
    def create_id(tenant: str, guardian_id: str, student_id: str, **_: object) -> str:
        return guardianship_id(tenant, guardian_id, student_id)

    @event("Linked")
    def __init__(
        self, tenant: str, guardian_id: str, student_id: str, relationship: str, source: str
    ) -> None:
        self.guardian_id = guardian_id
        self.student_id = student_id
        self.relationship = relationship
        self.active = True

    def relink(self, relationship: str, source: str) -> None:
        self._relinked(self.guardian_id, self.student_id, relationship, source)

    def unlink(self, source: str) -> None:
        self._unlinked(self.guardian_id, self.student_id, source)

    # The pair is repeated in every event, so each one stands alone.

    @event("Relinked")
    def _relinked(self, guardian_id: str, student_id: str, relationship: str, source: str) -> None:
        self.relationship = relationship
        self.active = True

    @event("Unlinked")
    def _unlinked(self, guardian_id: str, student_id: str, source: str) -> None:
        self.active = False


class FamilySettings(HubAggregate):
    """A tenant's choices for family dashboards: how recent work keeps the rhythm green."""

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return family_settings_id(tenant)

    @event("Configured")
    def __init__(self, tenant: str, rhythm_days: int) -> None:
        self.rhythm_days = rhythm_days

    @event("RhythmChanged")
    def change_rhythm(self, rhythm_days: int) -> None:
        self.rhythm_days = rhythm_days
