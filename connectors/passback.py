"""Grade passback to Spark: the `passback` process application and its delivery loop.

`passback` follows the hub's log. For each event that carries a grade for a Spark
assignment (`GRADE_SOURCES`: today the submission webhook's `grade`) of a tenant
connected to Spark, it schedules one `Delivery` (connector `spark-grades`, keyed by
what carried the grade) whose payload is the `GradePassback` body. The
`passback-deliveries` loop (`run_deliveries`, its own lease) POSTs each to
`{api_url}/grades` with the delivery id as `Idempotency-Key`, on `RetrySchedule`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.deliveries import AttemptResult, RetrySchedule
from connectors.delivery_loop import run_delivery_loop
from connectors.domain import caused_by, topic_of
from connectors.runner import (
    DEFAULT_BACKOFF,
    Backoff,
    ProcessSpec,
    UpstreamLog,
    Upstreams,
    logged,
)
from connectors.spark_api import (
    SparkApiError,
    SparkClients,
    SparkRetryableError,
    box_from_env,
    spark_connection,
)
from hub.domain.base import event_context, tenant_of
from hub.domain.deliveries import Delivery, delivery_id
from hub.domain.lti_platform import LtiResult
from hub.domain.quests import task_id
from hub.domain.submissions import Submission
from infra.lease import DEFAULT_TTL
from schemas.spark import GradePassback

NAME = "passback"
CONNECTOR = "spark-grades"
SCHEDULER = "passback-deliveries"
DEFAULT_MAX_SCORE = 100.0
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GradeSignal:
    """A grade to pass back; `key` makes its delivery unique (the event that carried it)."""

    tenant: str
    key: str
    spark_user_id: str
    spark_assignment_id: str
    score: float
    completed_at: str
    max_score: float | None = None


def grade_of_submission(event: Any) -> GradeSignal | None:
    """`Submission.Received` from Spark with a grade."""
    if event.source != "spark" or event.grade is None:
        return None
    return GradeSignal(
        tenant=tenant_of(event.originator_id),
        key=str(event.originator_id),
        spark_user_id=event.learner_key,
        spark_assignment_id=event.assignment_key,
        score=float(event.grade),
        completed_at=event.submitted_at,
    )


def grade_of_lti_score(event: Any) -> GradeSignal | None:
    """`LtiResult.ScorePosted`/`ScoreUpdated` (AGS) on a Spark assignment's line item, graded."""
    score = event.score
    given, user = score.get("scoreGiven"), score.get("spark_user_id")
    assignment = score.get("spark_assignment_id")
    if given is None or not user or not assignment or score.get("gradingProgress") != "FullyGraded":
        return None
    return GradeSignal(
        tenant=tenant_of(event.originator_id),
        key=f"{event.originator_id}@{event.originator_version}",  # each newer score once
        spark_user_id=user,
        spark_assignment_id=assignment,
        score=float(given),
        completed_at=score["timestamp"],
        max_score=float(score["scoreMaximum"]),
    )


GRADE_SOURCES: dict[str, Callable[[Any], GradeSignal | None]] = {
    topic_of(Submission, "Received"): grade_of_submission,
    topic_of(LtiResult, "ScorePosted"): grade_of_lti_score,
    topic_of(LtiResult, "ScoreUpdated"): grade_of_lti_score,
}
"""The extension point: the topic of an event that carries a grade -> how to read it.

A later score event (an LTI AGS score POST, a teacher's grading) adds its reader here;
its `GradeSignal.key` is that event's aggregate id, so each score is delivered once.
"""


class Passback(EventSourcedProjection[str]):
    """The `passback` process application: schedules one delivery per grade."""

    name = NAME
    topics = tuple(GRADE_SOURCES)

    def __init__(self, env: Mapping[str, str], *, hub: Application[Any]) -> None:
        super().__init__(dict(env))
        self.hub = hub

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        read = GRADE_SOURCES.get(get_topic(type(domain_event)))
        signal = read(domain_event) if read is not None else None
        if signal is None:
            return
        connection = spark_connection(self.hub, signal.tenant)
        if connection is None:
            log.info("passback.not_connected", tenant_id=signal.tenant, key=signal.key)
            return
        new_id = delivery_id(signal.tenant, CONNECTOR, signal.key)
        if self._exists(new_id):
            return
        grade = GradePassback(
            spark_user_id=signal.spark_user_id,
            spark_assignment_id=signal.spark_assignment_id,
            score=signal.score,
            max_score=signal.max_score or self._max_points(signal),
            completed_at=signal.completed_at,  # pydantic parses the ISO string
        )
        with event_context(caused_by(domain_event, source=NAME)):
            delivery = Delivery(
                tenant=signal.tenant,
                connector=CONNECTOR,
                key=signal.key,
                target=f"{connection.api_url}/grades",
                payload=grade.model_dump(mode="json"),
                caused_by=f"{domain_event.originator_id}@{domain_event.originator_version}",
            )
        processing_event.collect_events(delivery)
        log.info(
            "passback.scheduled", tenant_id=signal.tenant, delivery_id=delivery.id, key=signal.key
        )

    def _exists(self, aggregate_id: str) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def _max_points(self, signal: GradeSignal) -> float:
        """The task's max points when the course sync knows the assignment, else 100."""
        try:
            task: Any = self.hub.repository.get(
                task_id(signal.tenant, "spark", signal.spark_assignment_id)
            )
        except AggregateNotFoundError:
            return DEFAULT_MAX_SCORE
        points = task.details.get("max_points")
        return float(points) if points else DEFAULT_MAX_SCORE


def build(env: Mapping[str, str], upstreams: Upstreams) -> Passback:
    return Passback(env, hub=upstreams["hub"])


SPEC = ProcessSpec(NAME, build, upstreams=("hub",))


@dataclass
class SparkGradeSender:
    """One attempt: POST the payload to the tenant's Spark `/grades` (its current connection)."""

    hub: Application[Any]
    clients: SparkClients

    def __call__(self, delivery: Delivery) -> AttemptResult:
        connection = spark_connection(self.hub, tenant_of(delivery.id))
        if connection is None:
            return AttemptResult(False, error="the tenant has no Spark connection")
        try:
            grade = GradePassback.model_validate(delivery.payload)
            with self.clients.open(connection) as api:
                status = api.post_grade(grade, idempotency_key=delivery.id)
        except SparkRetryableError as error:
            return AttemptResult(
                False, error.status_code, str(error), retryable=True, retry_after=error.retry_after
            )
        except SparkApiError as error:
            return AttemptResult(False, error.status_code, str(error))
        except ValidationError as error:
            return AttemptResult(False, error=f"the payload is not a grade: {error}")
        return AttemptResult(True, status)


class PassbackSettings(BaseSettings):
    """`HUB_PASSBACK_*`: the retry schedule of grade deliveries."""

    model_config = SettingsConfigDict(env_prefix="HUB_PASSBACK_", extra="ignore")

    retry_base_s: float = 1.0
    retry_cap_s: float = 300.0
    max_attempts: int = 8

    def schedule(self) -> RetrySchedule:
        return RetrySchedule(
            base_s=self.retry_base_s, cap_s=self.retry_cap_s, max_attempts=self.max_attempts
        )


class DeliveryLog(UpstreamLog):
    """The `passback` log, written by the delivery loop (attempts) and by redrives."""

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(NAME, env)


def run_deliveries(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    retry: RetrySchedule | None = None,
    clients: SparkClients | None = None,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    idle_s: float = 1.0,
) -> None:
    """Attempt due grade deliveries while this process holds the `passback-deliveries` lease."""

    @contextmanager
    def open_sender() -> Iterator[SparkGradeSender]:
        spark = clients or SparkClients(box_from_env(env))
        with closing(UpstreamLog("hub", env)) as hub:
            yield SparkGradeSender(hub, spark)

    run_delivery_loop(
        env,
        stop,
        lease=SCHEDULER,
        log_name=NAME,
        open_sender=open_sender,
        retry=retry or PassbackSettings().schedule(),
        idle_s=idle_s,
        lease_ttl=lease_ttl,
        owner=owner,
        backoff=backoff,
    )


run_deliveries_logged = logged(run_deliveries, SCHEDULER)
