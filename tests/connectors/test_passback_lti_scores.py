"""AGS scores on a Spark assignment's line item reach Spark's grade passback, once each."""

from __future__ import annotations

from hub.application import Hub
from hub.domain.deliveries import DELIVERED, delivery_id
from hub.domain.lti_platform import LtiResult
from tests.connectors.spark_fake import FakeSpark
from tests.connectors.test_passback import TENANT, connected, delivery, fake, passback, spark_url
from tests.connectors.world import Logs

__all__ = ["connected", "fake", "spark_url"]  # fixtures shared with test_passback


def score(
    given: float | None,
    timestamp: str,
    *,
    assignment: str | None = "a-quiz",
    grading: str = "FullyGraded",
) -> dict[str, object]:
    """A score as `hub.lti.platform.ags` records it."""
    return {
        "userId": f"{TENANT}.Learner.0123",
        "scoreGiven": given,
        "scoreMaximum": 20.0,
        "activityProgress": "Completed",
        "gradingProgress": grading,
        "timestamp": timestamp,
        "client_id": "tool-1",
        "context_id": "c" * 32,
        "line_item": {"id": "li-1", "label": "Quiz", "scoreMaximum": 20.0},
        "spark_assignment_id": assignment,
        "spark_user_id": "u-9",
        "source": "lti_ags",
    }


def test_each_newer_graded_score_on_a_spark_assignment_is_passed_back(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    first = LtiResult(TENANT, "li-1", "user-1", score(12, "2026-11-22T01:00:00+00:00"))
    not_spark = LtiResult(
        TENANT, "li-2", "user-1", score(5, "2026-11-22T01:00:00+00:00", assignment=None)
    )
    pending = LtiResult(
        TENANT, "li-3", "user-1", score(None, "2026-11-22T01:00:00+00:00", grading="Pending")
    )
    connected.save(first, not_spark, pending)
    first.post(score(18, "2026-11-22T02:00:00+00:00"))
    connected.save(first)
    keys = [delivery_id(TENANT, "spark-grades", f"{first.id}@{version}") for version in (1, 2)]
    with passback(env):
        for key in keys:
            delivery(logs, key, DELIVERED)
    assert fake.delivered() == dict.fromkeys(keys, 1)
    bodies = {g.idempotency_key: g.body for g in fake.grades()}
    assert [bodies[k]["score"] for k in keys] == [12.0, 18.0]
    assert bodies[keys[1]] == {
        "spark_user_id": "u-9",
        "spark_assignment_id": "a-quiz",
        "score": 18.0,
        "max_score": 20.0,
        "completed_at": "2026-11-22T02:00:00Z",
    }
