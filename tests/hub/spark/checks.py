"""One check for every rejection: its status and type, one audit record, nothing else written."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from hub.audit import Rejection
from hub.bootstrap import Runtime
from tests.hub.spark.signals import audit, head

PROBLEMS = "https://hub.example/problems/"


@dataclass(frozen=True)
class Before:
    head: int
    audited: int


def before(runtime: Runtime) -> Before:
    return Before(head(runtime), len(audit(runtime)))


def blobs(runtime: Runtime) -> list[Path]:
    root = runtime.settings.data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_rejected(
    response: httpx.Response,
    runtime: Runtime,
    was: Before,
    *,
    status: int,
    reason: str,
    tenant: str | None,
    secret: str | None = None,
) -> Rejection:
    """The precise problem, one rejection in the audit stream, and no event or blob."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == PROBLEMS + reason.replace("_", "-")
    assert problem["reason"] == reason
    assert problem["status"] == status
    assert problem["detail"]
    assert head(runtime) == was.head, "a rejected signal recorded an event"
    assert blobs(runtime) == [], "a rejected signal wrote a blob"
    new = audit(runtime)[was.audited :]
    assert [(r.tenant, r.reason) for r in new] == [(tenant or "_unknown", reason)]
    rejection = new[0]
    assert rejection.evidence["request_id"] == response.headers["x-request-id"]
    assert rejection.evidence["remote_addr"] == "127.0.0.1"
    if secret is not None:
        assert secret not in json.dumps(asdict(rejection))
    return rejection
