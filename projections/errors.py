"""The errors of the projections package.

ProjectionError                 base of everything raised here
├── UnknownProjectionError      no projection is registered under that name
├── VersionRetiredError         a writer's read-model version is no longer live nor building
└── RebuildInProgressError      another process is rebuilding that projection
"""

from __future__ import annotations

from infra.errors import LeaseLostError  # re-exported: runners raise it

__all__ = [
    "LeaseLostError",
    "ProjectionError",
    "RebuildInProgressError",
    "UnknownProjectionError",
    "VersionRetiredError",
]


class ProjectionError(Exception):
    """Base of the projections package's errors."""


class UnknownProjectionError(ProjectionError, KeyError):
    """Raised when no projection is registered under the name asked for."""


class VersionRetiredError(ProjectionError):
    """Raised inside a write when its version was switched away from (a rebuild finished).

    The runner catches it and carries on with the live version.
    """


class RebuildInProgressError(ProjectionError):
    """Raised when another process holds the rebuild lease of that projection."""
