"""Inbound signals over NATS: per-tenant subjects, verified and handled as over HTTP."""
