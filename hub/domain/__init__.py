"""Aggregates and rules: no framework, no I/O."""
