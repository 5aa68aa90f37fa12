"""The webhook's hot path maps `Submission.Received` itself: the bytes the aggregate's way
writes, an event replay reads back, and a redelivery that stays one submission."""

from __future__ import annotations

import asyncio

from hub.bootstrap import Runtime
from hub.domain.base import EventContext, event_context
from hub.domain.submissions import RECEIVED_TOPIC, Submission, received_state
from hub.spark.handlers import SubmissionResult, record_submission_async
from infra.jetstream.loop_wires import close_wires_here
from schemas.spark import SubmissionWebhook

FIELDS = (
    "acme",
    "spark",
    "user-1",
    "assignment-1",
    "2025-01-01T00:00:00.001000+00:00",
    "course-1",
    'Essay text, ünïcode \u2028 and "quotes"',
    [{"url": "https://files.example/e.pdf", "type": "application/pdf", "filename": "e.pdf"}],
    90.5,
    {"signature_scheme": "hmac-sha256", "secret_index": 0, "body_size": 12},
)
CONTEXT = EventContext(correlation_id="corr-1", causation_id="req-1", source="spark")


def test_the_state_maps_to_the_bytes_the_aggregate_writes(runtime: Runtime) -> None:
    mapper = runtime.hub.mapper
    with event_context(CONTEXT):
        (event,) = Submission(*FIELDS).collect_events()
        aggregate_id, state = received_state(*FIELDS)
    state["timestamp"] = event.timestamp  # the one value that differs: when it was made
    expected = mapper.to_stored_event(event)
    assert (aggregate_id, RECEIVED_TOPIC) == (expected.originator_id, expected.topic)
    assert mapper.transcoder.encode(state) == expected.state


def test_a_submission_recorded_on_the_loop_replays_and_a_redelivery_is_the_same_one(
    runtime: Runtime,
) -> None:
    webhook = SubmissionWebhook(
        spark_user_id="user-1",
        spark_assignment_id="assignment-1",
        spark_course_id="course-1",
        submission_text="My essay",
        submitted_at="2025-01-01T00:00:00.001Z",  # type: ignore[arg-type]
        grade=80.0,
    )
    files = [{"url": "https://files.example/e.pdf", "type": "application/pdf"}]

    async def twice() -> tuple[SubmissionResult, SubmissionResult]:
        try:
            with event_context(CONTEXT):
                first = await record_submission_async(
                    runtime.hub, "acme", webhook, files=files, verified={"k": 1}
                )
                again = await record_submission_async(
                    runtime.hub, "acme", webhook, files=files, verified={"k": 1}
                )
            return first, again
        finally:
            await close_wires_here()

    first, again = asyncio.run(twice())
    assert (again.submission_id, again.position, again.duplicate) == (
        first.submission_id,
        first.position,
        True,
    )
    replayed: Submission = runtime.hub.repository.get(first.submission_id)
    assert replayed.version == 1
    assert (replayed.learner_key, replayed.assignment_key, replayed.course_key) == (
        "user-1",
        "assignment-1",
        "course-1",
    )
    assert (replayed.text, replayed.files, replayed.grade) == ("My essay", files, 80.0)
    assert replayed.submitted_at == "2025-01-01T00:00:00.001000+00:00"
    (stored,) = runtime.hub.recorder.select_events(first.submission_id)
    assert stored.topic == RECEIVED_TOPIC
    event = runtime.hub.mapper.to_domain_event(stored)
    assert event.context == {  # type: ignore[attr-defined]
        "correlation_id": "corr-1",
        "causation_id": "req-1",
        "source": "spark",
        "verified_by": "none",
    }
