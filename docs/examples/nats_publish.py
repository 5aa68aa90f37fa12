"""Publish a signed Spark submission to the hub over NATS, then print the hub's verdict.

Needs only nats-py (`pip install nats-py`). With `hub run` going, connect a tenant to
Spark (`hub spark connect demo --api-url https://spark.example/api` prints its webhook
secret), then:

    python docs/examples/nats_publish.py --tenant demo --secret <webhook secret>

It prints the stream's acknowledgement (the message is stored: the hub will handle it,
even if it is down right now) and then the hub's verdict, e.g.
`{"status": 202, "result": {"submission_id": "...", "position": 42}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import nats


def signed_headers(body: bytes, secret: str) -> dict[str, str]:
    """The same signature as the HTTP webhook: hex HMAC-SHA256 of the raw body."""
    return {"X-Spark-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


async def publish_submission(
    url: str, prefix: str, tenant: str, secret: str, submission: dict[str, Any]
) -> dict[str, Any]:
    client = await nats.connect(url)
    try:
        body = json.dumps(submission).encode()
        verdicts = await client.subscribe(client.new_inbox(), max_msgs=1)
        headers = {
            **signed_headers(body, secret),
            # The stream drops a repeat of this id within 2 minutes: retrying is safe.
            "Nats-Msg-Id": f"{submission['spark_user_id']}/{submission['spark_assignment_id']}",
            # Where the hub sends its verdict (leave it out to publish and forget).
            "reply_to": verdicts.subject,
        }
        subject = f"{prefix}.inbound.{tenant}.spark.submission"
        ack = await client.jetstream().publish(subject, body, headers=headers)
        print(f"stored in {ack.stream} at {ack.seq} (duplicate: {ack.duplicate})")
        answer = await verdicts.next_msg(timeout=30)
        verdict: dict[str, Any] = json.loads(answer.data)
        return verdict
    finally:
        await client.drain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=None,
        help="the hub's NATS server (default: the one `hub run` started, var/run/nats.url)",
    )
    parser.add_argument("--prefix", default="hub", help="HUB_STREAM_PREFIX")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--secret", required=True, help="the tenant's Spark webhook secret")
    parser.add_argument("--user", default="spark_user_123")
    parser.add_argument("--assignment", default="assignment_456")
    args = parser.parse_args()
    url = args.url or Path("var/run/nats.url").read_text().strip()
    submission = {
        "spark_user_id": args.user,
        "spark_assignment_id": args.assignment,
        "spark_course_id": "course_789",
        "submission_text": "My essay on photosynthesis.",
        "submission_files": [],
        "submitted_at": "2025-01-15T14:30:00Z",
        "grade": 95.5,
    }
    verdict = asyncio.run(
        publish_submission(url, args.prefix, args.tenant, args.secret, submission)
    )
    print(json.dumps(verdict))


if __name__ == "__main__":
    main()
