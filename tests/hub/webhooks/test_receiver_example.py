"""The receiver's verifier in docs/webhooks.md works: run against the reference signer."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from infra.standard_webhooks import new_secret

DOC = Path(__file__).parents[3] / "docs" / "webhooks.md"
BODY = b'{"type":"Quest.Synced","data":{"tenant":"acme"}}'


def documented_verify() -> Callable[[str, bytes, dict[str, str]], Any]:
    """The `verify` function of the doc's standard-library example."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    (source,) = [b for b in blocks if "def verify(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)  # the doc's own code, on purpose
    verify: Callable[[str, bytes, dict[str, str]], Any] = namespace["verify"]
    return verify


def headers(secrets: list[str], moment: datetime, body: bytes = BODY) -> dict[str, str]:
    signatures = " ".join(Webhook(s).sign("msg_1", moment, body.decode()) for s in secrets)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }


def test_the_documented_verifier_accepts_what_the_reference_signs() -> None:
    verify = documented_verify()
    old, new = new_secret(), new_secret()
    now = datetime.now(UTC)
    assert verify(new, BODY, headers([new], now)) == {
        "type": "Quest.Synced",
        "data": {"tenant": "acme"},
    }
    assert verify(old, BODY, headers([old, new], now))["type"] == "Quest.Synced"


@pytest.mark.parametrize("case", ["stranger", "tampered", "old"])
def test_the_documented_verifier_refuses_a_bad_delivery(case: str) -> None:
    verify = documented_verify()
    secret = new_secret()
    moment = datetime.now(UTC) - timedelta(minutes=10 if case == "old" else 0)
    signed = headers([secret], moment)
    body = BODY + b" " if case == "tampered" else BODY
    key = new_secret() if case == "stranger" else secret
    with pytest.raises(PermissionError):
        verify(key, body, signed)
