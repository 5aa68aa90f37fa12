"""The inbound subjects, the stream that keeps them until they are handled, and its consumers.

    <prefix>.inbound.<tenant>.spark.submission   a Spark submission webhook body
    <prefix>.inbound.<tenant>.spark.roster       a Spark roster webhook body

The stream `<PREFIX>_INBOUND` is a work queue: a message stays until the hub has stored
its event (or recorded its rejection) and acknowledged it. It is bounded, and refuses a
new message when full, so a publisher hears "no" rather than losing one silently.
"""

from __future__ import annotations

from typing import Any

SOURCE = "spark"
KINDS = ("submission", "roster")
SECOND_NS = 1_000_000_000
MAX_AGE_S = 7 * 24 * 3600
MAX_BYTES = 1 << 30
DUPLICATE_WINDOW_S = 120


def inbound_subject(prefix: str, tenant: str, kind: str, source: str = SOURCE) -> str:
    return f"{prefix}.inbound.{tenant}.{source}.{kind}"


def inbound_stream(prefix: str) -> str:
    return f"{prefix.upper()}_INBOUND"


def durable_name(kind: str, source: str = SOURCE) -> str:
    """One durable consumer per kind (a work queue's consumers must not overlap)."""
    return f"hub_inbound_{source}_{kind}"


def inbound_stream_config(prefix: str) -> dict[str, Any]:
    return {
        "name": inbound_stream(prefix),
        "subjects": [inbound_subject(prefix, "*", kind) for kind in KINDS],
        "storage": "file",
        "retention": "workqueue",
        "discard": "new",
        "max_age": MAX_AGE_S * SECOND_NS,
        "max_bytes": MAX_BYTES,
        # A publisher that sets Nats-Msg-Id may retry freely within this window.
        "duplicate_window": DUPLICATE_WINDOW_S * SECOND_NS,
    }
