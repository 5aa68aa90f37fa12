"""Infrastructure: JetStream event store, embedded NATS, SQL engine, settings, logging."""
