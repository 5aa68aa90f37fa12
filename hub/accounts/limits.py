"""Sign-in attempt limits: per address (every attempt) and per account (failures).

Kept in this process's memory, as the webhooks' limits are (`hub.http.ratelimit`):
with several `hub serve` processes each allows its own share. A failure is counted
against the account (tenant and email, whether or not it exists, so a refusal says
nothing about who has an account); every attempt against the client's address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.accounts.errors import SignInLimitedError
from hub.http.ratelimit import SlidingWindowLimiter

PER_ADDRESS = 120  # attempts a minute from one client address (a school's NAT shares one)
PER_ACCOUNT = 5  # failures in 15 minutes for one account
ACCOUNT_WINDOW_S = 15 * 60.0


class FailureWindow(SlidingWindowLimiter):
    """A sliding window that can also be looked at without counting."""

    def wait_s(self, key: tuple[str, ...], limit: int) -> int:
        """Seconds until `key` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                return 0
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if not hits:
                del self._hits[key]  # memory follows the failures of the last window only
                return 0
            return 0 if len(hits) < limit else self._until_free(hits, now)


@dataclass
class SignInLimits:
    """The two limits, checked before a password is hashed (the work they protect)."""

    per_address: int = PER_ADDRESS
    per_account: int = PER_ACCOUNT
    addresses: SlidingWindowLimiter = field(default_factory=SlidingWindowLimiter)
    failures: FailureWindow = field(
        default_factory=lambda: FailureWindow(window_s=ACCOUNT_WINDOW_S)
    )

    def check(self, address: str, tenant: str, email: str) -> None:
        """Count the attempt from `address`; refuse it if either limit is used up."""
        decision = self.addresses.hit(("address", address), self.per_address)
        if not decision.allowed:
            msg = f"too many sign-in attempts from your address: retry in {decision.retry_after_s}s"
            raise SignInLimitedError(msg, decision.retry_after_s)
        wait = self.failures.wait_s(("account", tenant, email), self.per_account)
        if wait:
            msg = f"too many failed sign-ins for this account: retry in {wait}s or ask for a link"
            raise SignInLimitedError(msg, wait)

    def failed(self, tenant: str, email: str) -> None:
        self.failures.hit(("account", tenant, email), self.per_account)
