"""JetStream persistence for eventsourcing: PERSISTENCE_MODULE=infra.jetstream selects it."""

from infra.jetstream.factory import JetStreamFactory

__all__ = ["JetStreamFactory"]
