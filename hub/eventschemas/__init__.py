"""JSON Schema for every event type the hub writes, generated from the domain event classes."""
