"""Errors raised by the infrastructure.

   HubInfraError
    ├── NatsUnavailableError      the NATS server cannot be reached (connect or request timed out)
    ├── NatsServerTooOldError     the server is older than the features the event store needs
    ├── EmbeddedServerError       the bundled nats-server binary is missing or did not start
└── LeaseLostError            another runner holds the lease this one thought it held
"""

from __future__ import annotations


class HubInfraError(Exception):
    """Base of every error raised by `infra`."""


class NatsUnavailableError(HubInfraError):
    """Raised when NATS cannot be reached in time; the caller should answer 503, not hang."""


class NatsServerTooOldError(HubInfraError):
    """Raised on connect when the server lacks atomic batches and Direct Get batches."""


class EmbeddedServerError(HubInfraError):
    """Raised when the bundled nats-server cannot be found or does not become ready."""


class LeaseLostError(HubInfraError):
    """Raised when a runner's lease was taken over (it stalled past its time to live)."""
