"""Families: parents and guardians, observers and their invitations, and who may see whom."""
