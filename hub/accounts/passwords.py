"""Password hashes: argon2id, with the parameters stated here and in docs/accounts.md.

OWASP's first argon2id configuration: 19 MiB of memory, 2 passes, 1 lane, a 16-byte salt
and a 32-byte tag (about 60 ms on the bench machine; RFC 9106's 64 MiB x 3 x 4 took
415 ms there, over the sign-in budget). A hash records its parameters, so raising them
later rehashes each password at its next sign-in (`needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TIME_COST = 2
MEMORY_COST_KIB = 19456
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16


def password_hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=TIME_COST,
        memory_cost=MEMORY_COST_KIB,
        parallelism=PARALLELISM,
        hash_len=HASH_LEN,
        salt_len=SALT_LEN,
        type=Type.ID,
    )


class Passwords:
    """Hashes and checks passwords; checks a dummy hash when there is none, so an unknown
    address takes as long to refuse as a wrong password."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or password_hasher()
        self._dummy = self.hasher.hash("not a password of anyone's")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def matches(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)
