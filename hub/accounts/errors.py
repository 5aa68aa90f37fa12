"""Refusals of the accounts commands (the domain's own are in `hub.domain.accounts`).

AccountsError
├── SignInFailedError        wrong password, no password, or no such address (one
│                            answer for all three: an address is never confirmed)
├── SignInLimitedError       too many attempts for the account or from the address
└── RoleNotAllowedError      an account of a role the hub does not open
"""

from __future__ import annotations


class AccountsError(Exception):
    """The base of the accounts commands' refusals."""


class SignInFailedError(AccountsError):
    """Raised for a wrong password, a person without one, or an unknown address."""


class SignInLimitedError(AccountsError):
    """Raised when the account or the address has used up its attempts."""

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class RoleNotAllowedError(AccountsError):
    """Raised for an account role other than student, parent, guardian or observer."""
