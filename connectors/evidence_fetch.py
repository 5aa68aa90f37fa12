"""Downloading one evidence file: SSRF-guarded, size-limited, retried on transient failures.

Errors (none leaves the evidence connector: each becomes a rejected file):

    FileRejectedError          the file will not be stored; `reason` says why
     └── _RetryableError       a timeout, a connection error or a 5xx: tried again
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.http import BlockedAddressError

SSRF_BLOCKED = "ssrf_blocked"
TOO_LARGE = "too_large"
TYPE_MISMATCH = "type_mismatch"
DOWNLOAD_FAILED = "download_failed"
INVALID_URL = "invalid_url"
BLOB_MISSING = "blob_missing"
INVALID_ENTRY = "invalid_entry"


class FetchLimits(BaseSettings):
    """`HUB_EVIDENCE_*`: how evidence files are fetched."""

    model_config = SettingsConfigDict(env_prefix="HUB_EVIDENCE_", extra="ignore", frozen=True)

    max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    attempts: int = Field(default=3, ge=1, le=10)
    retry_delay_s: float = Field(default=0.5, ge=0)
    """Before the second attempt; doubled before each next one."""
    timeout_s: float = Field(default=10.0, gt=0)
    max_redirects: int = Field(default=3, ge=0)

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1-based)."""
        return float(self.retry_delay_s * 2.0 ** (attempt - 1))


class FileRejectedError(Exception):
    """Raised when a file will not be stored: `reason` is a stable code, `detail` for people."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class _RetryableError(FileRejectedError):
    """A failure that may pass: a timeout, a connection error, a server error (5xx)."""


def fetch(
    client: httpx.Client,
    url: str,
    limits: FetchLimits,
    *,
    sleep: Callable[[float], object] = time.sleep,
) -> bytes:
    """The body at `url`, at most `limits.max_bytes`; raises `FileRejectedError`."""
    for attempt in range(1, limits.attempts + 1):
        try:
            return _get(client, url, limits)
        except _RetryableError as error:
            if attempt == limits.attempts:
                raise FileRejectedError(
                    error.reason, f"{error.detail} (after {attempt} attempts)"
                ) from error
        sleep(limits.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _get(client: httpx.Client, url: str, limits: FetchLimits) -> bytes:
    # The guard checks every address dialled, so following a redirect cannot reach
    # what the first URL could not. Identity encoding: the size limit counts what the
    # server sends, and a small compressed body cannot expand in memory.
    try:
        with client.stream(
            "GET", url, follow_redirects=True, headers={"Accept-Encoding": "identity"}
        ) as response:
            _check_status(response.status_code)
            return _read_limited(response, limits.max_bytes)
    except BlockedAddressError as error:
        raise FileRejectedError(SSRF_BLOCKED, str(error)) from error
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as error:
        # UnicodeError: a host name IDNA cannot encode (an empty or overlong label).
        # The detail never quotes the URL: a temporary URL carries its access token.
        msg = f"not a URL that can be fetched over http(s) ({type(error).__name__})"
        raise FileRejectedError(INVALID_URL, msg) from error
    except httpx.TooManyRedirects as error:
        raise FileRejectedError(DOWNLOAD_FAILED, "too many redirects") from error
    except httpx.TransportError as error:  # timeouts, refused connections, broken bodies
        detail = f"{type(error).__name__}: {error}".rstrip(": ")
        raise _RetryableError(DOWNLOAD_FAILED, detail) from error
    except httpx.HTTPError as error:  # anything else httpx raises: not worth a retry
        raise FileRejectedError(DOWNLOAD_FAILED, type(error).__name__) from error


def _check_status(status: int) -> None:
    if status >= 500:
        raise _RetryableError(f"http_{status}", "the file server failed")
    if status >= 300:  # a redirect left unfollowed is a refusal too
        raise FileRejectedError(f"http_{status}", "the file server refused the download")


def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        msg = f"{declared} bytes declared; the limit is {max_bytes}"
        raise FileRejectedError(TOO_LARGE, msg)
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > max_bytes:
            msg = f"more than {max_bytes} bytes sent; the download was stopped"
            raise FileRejectedError(TOO_LARGE, msg)
    return bytes(body)
