"""Why a family command is refused: the observers' domain errors, and these.

    FamilyError
    ├── CrossTenantError      a person of another tenant was named
    ├── UnknownPersonError    no learner or account has this id
    ├── SamePersonError       a guardian named as their own student
    └── RhythmDaysError       a rhythm outside 1-365 days

Observers' refusals (`hub.domain.observers.ObserverError` and its subclasses) are raised
as they are; `hub.family.problems` maps both families to problem types.
"""

from __future__ import annotations

MAX_RHYTHM_DAYS = 365


class FamilyError(Exception):
    """The base of the refusals of `hub.family.commands`."""


class CrossTenantError(FamilyError):
    """Raised when a person id belongs to another tenant than the command's."""


class UnknownPersonError(FamilyError):
    """Raised when a person id names nobody in the tenant."""


class SamePersonError(FamilyError):
    """Raised when a guardian and their student are one person."""


class RhythmDaysError(FamilyError):
    """Raised for a learning rhythm outside 1-`MAX_RHYTHM_DAYS` days."""
