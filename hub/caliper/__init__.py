"""Caliper 1.2 for analytics: tenant settings, the mapping of hub events, the admin API."""
