"""The hub's Standard Webhooks signatures, checked against the `standardwebhooks` package."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from infra.standard_webhooks import new_secret, signature, signed_headers

BODY = b'{"type":"Quest.Synced","data":{"tenant":"acme"}}'


def test_a_new_secret_is_whsec_and_24_random_bytes() -> None:
    made = {new_secret() for _ in range(20)}
    assert len(made) == 20
    for secret in made:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24


def test_a_signature_is_the_one_the_reference_implementation_makes() -> None:
    secret, moment = new_secret(), datetime(2026, 11, 22, 4, 0, 0, tzinfo=UTC)
    expected = Webhook(secret).sign("msg_1", moment, BODY.decode())
    assert signature(secret, "msg_1", int(moment.timestamp()), BODY) == expected


def test_every_secret_of_a_rotation_verifies_and_no_other() -> None:
    old, new, stranger = new_secret(), new_secret(), new_secret()
    headers = signed_headers([new, old], "msg_2", int(datetime.now(UTC).timestamp()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(BODY + b" ", headers)
