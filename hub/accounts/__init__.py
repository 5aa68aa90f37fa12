"""Accounts of the hub's own: passwords, one-time email links, sign-in limits, mail."""
