"""`hub dev spark`: SSO links the hub's verifier accepts, webhooks whose signature it accepts."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI, Request, Response
from typer.testing import CliRunner

from hub.cli.main import app
from hub.dev import SparkSimulator
from hub.spark.verify import (
    SignalRejectedError,
    verify_sso_token,
    verify_webhook_signature,
)
from schemas.spark import RosterWebhook, SubmissionWebhook
from tests.hub.http.live_server import live_server

SSO_SECRET = "sso-secret-for-tests-0123456789abcdef"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"


@dataclass
class Captured:
    """What a stand-in hub received: (path, headers, raw body) per request."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 202


@pytest.fixture
def hub() -> Iterator[tuple[str, Captured]]:
    captured = Captured()
    stand_in = FastAPI()

    @stand_in.post("/t/{tenant}/spark/webhook/{kind}")
    async def webhook(request: Request) -> Response:
        captured.requests.append((request.url.path, dict(request.headers), await request.body()))
        return Response('{"ok":true}', captured.status, media_type="application/json")

    with live_server(stand_in) as url:
        yield url, captured


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["dev", "spark", *args], env=env or {})
    return result.exit_code, result.output


def test_sso_link_carries_a_token_the_hub_accepts() -> None:
    code, output = invoke(
        "sso-link",
        "--tenant", "school-a",
        "--hub-url", "http://hub.test",
        "--sub", "spark_user_123",
        "--email", "Sarah@Example.com",
        "--given-name", "Sarah",
        "--family-name", "Johnson",
        "--course", "course_bio",
        "--course", "course_art",
        "--issuer", "spark-lms",
        env={"SPARK_SSO_SECRET": SSO_SECRET},
    )  # fmt: skip
    assert code == 0, output
    link = urlsplit(output.strip())
    assert (link.scheme, link.netloc, link.path) == ("http", "hub.test", "/t/school-a/spark/sso")
    [token] = parse_qs(link.query)["token"]

    claims = verify_sso_token(token, [SSO_SECRET], now=int(time.time()), issuer="spark-lms")
    assert (claims.sub, claims.email, claims.given_name, claims.family_name, claims.role) == (
        "spark_user_123",
        "Sarah@Example.com",
        "Sarah",
        "Johnson",
        "student",
    )
    assert claims.spark_course_ids == ["course_bio", "course_art"]
    assert claims.exp - claims.iat == 600
    assert claims.nonce

    with pytest.raises(SignalRejectedError) as rejected:
        verify_sso_token(token, ["another-secret"], now=int(time.time()))
    assert rejected.value.reason == "token_signature"


def test_sso_links_differ_each_time_unless_without_nonce() -> None:
    args = ("sso-link", "--sub", "u1", "--email", "u1@example.com", "--secret", SSO_SECRET)
    first, second = invoke(*args)[1], invoke(*args)[1]
    assert first != second
    _, plain = invoke(*args, "--no-nonce")
    [token] = parse_qs(urlsplit(plain.strip()).query)["token"]
    assert verify_sso_token(token, [SSO_SECRET], now=int(time.time())).nonce is None


def test_sso_link_needs_the_secret() -> None:
    code, output = invoke("sso-link", "--sub", "u1", "--email", "u1@example.com")
    assert code == 2
    assert "--secret" in output


def test_send_submission_is_signed_and_well_formed(
    hub: tuple[str, Captured], tmp_path: Path
) -> None:
    url, captured = hub
    drawing = tmp_path / "drawing.png"
    drawing.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with SparkSimulator() as spark:
        spark_url = spark.url
        code, output = invoke(
            "send-submission",
            "--tenant", "school-a",
            "--hub-url", url,
            "--user", "user_123",
            "--assignment", "assignment_bio_lab",
            "--text", "My lab report",
            "--file", "essay.pdf",
            "--file", "https://files.example.org/temp/plant.jpg?expires=1",
            "--embed", str(drawing),
            "--grade", "95.5",
            "--submitted-at", "2025-01-15T14:30:00",
            env={"SPARK_WEBHOOK_SECRET": WEBHOOK_SECRET, "SPARK_SIM_URL": spark_url},
        )  # fmt: skip
    assert code == 0, output
    assert output.startswith("HTTP 202")

    [(path, headers, body)] = captured.requests
    assert path == "/t/school-a/spark/webhook/submission"
    assert headers["content-type"] == "application/json"
    assert verify_webhook_signature(body, headers["x-spark-signature"], [WEBHOOK_SECRET]) == 0
    with pytest.raises(SignalRejectedError):
        verify_webhook_signature(body + b" ", headers["x-spark-signature"], [WEBHOOK_SECRET])

    webhook = SubmissionWebhook.model_validate_json(body)
    assert (webhook.spark_user_id, webhook.spark_assignment_id, webhook.spark_course_id) == (
        "user_123",
        "assignment_bio_lab",
        "course_bio",  # the demo course of the assignment
    )
    assert webhook.submission_text == "My lab report"
    assert webhook.grade == 95.5
    assert webhook.submitted_at.isoformat() == "2025-01-15T14:30:00+00:00"
    essay, photo, embedded = webhook.submission_files
    assert str(essay.url).startswith(f"{spark_url}/files/essay.pdf?expires=")
    assert (essay.type, essay.filename) == ("application/pdf", "essay.pdf")
    assert (photo.type, photo.filename) == ("image/jpeg", "plant.jpg")
    assert embedded.content_base64 is not None
    assert base64.b64decode(embedded.content_base64) == drawing.read_bytes()
    assert (embedded.type, embedded.filename) == ("image/png", "drawing.png")


def test_send_roster_is_signed(hub: tuple[str, Captured]) -> None:
    url, captured = hub
    code, output = invoke(
        "send-roster", "--hub-url", url, "--user", "user_123", "--course", "course_art",
        "--action", "drop", "--secret", WEBHOOK_SECRET,
    )  # fmt: skip
    assert code == 0, output
    [(path, headers, body)] = captured.requests
    assert path == "/t/demo/spark/webhook/roster"
    assert verify_webhook_signature(body, headers["x-spark-signature"], [WEBHOOK_SECRET]) == 0
    roster = RosterWebhook.model_validate_json(body)
    assert (roster.spark_user_id, roster.spark_course_id, roster.action) == (
        "user_123",
        "course_art",
        "drop",
    )


def test_a_refused_webhook_fails_the_command(hub: tuple[str, Captured]) -> None:
    url, captured = hub
    captured.status = 401
    code, output = invoke(
        "send-roster", "--hub-url", url, "--user", "u", "--course", "c", "--secret", "s"
    )
    assert code == 1
    assert "HTTP 401" in output


def test_clear_errors_without_a_hub_or_a_course() -> None:
    code, output = invoke(
        "send-submission", "--hub-url", "http://127.0.0.1:9", "--user", "u",
        "--assignment", "assignment_story", "--secret", "s",
    )  # fmt: skip
    assert code == 2
    assert "cannot reach the hub" in output
    code, output = invoke(
        "send-submission", "--user", "u", "--assignment", "not-a-demo", "--secret", "s"
    )
    assert code == 2
    assert "--course" in output
    code, output = invoke(
        "send-submission", "--user", "u", "--assignment", "assignment_story", "--secret", "s",
        "--file", "essay.pdf",
    )  # fmt: skip
    assert code == 2
    assert "--spark-url" in output
