"""What the connector tests record on the hub's side, and how they run and read connectors."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application

from connectors.evidence import EvidenceCollector
from connectors.evidence_fetch import FetchLimits
from connectors.runner import Backoff, ProcessSpec, UpstreamLog, Upstreams, run_process
from hub.application import Hub
from hub.domain.learners import Identity, Learner
from hub.domain.quests import Quest, Task, quest_id
from hub.domain.spark import SparkConnection
from hub.domain.submissions import Submission
from infra.blobs import FolderBlobStore
from infra.secrets import SecretBox

T = TypeVar("T")
BOX = SecretBox.from_text("the connector tests' key")
TENANT = "acme"
COURSE = "course-bio"
TTL = 1.5
FAST = FetchLimits(
    max_bytes=64 * 1024, attempts=3, retry_delay_s=0.001, timeout_s=0.5, max_redirects=2
)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """`check()`'s first truthy value, polled; fails the test after `timeout` seconds."""
    deadline = monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert monotonic() < deadline, f"timed out waiting for {what}"
        sleep(0.02)


# The hub's side --------------------------------------------------------------------------


def connect_tenant(hub: Hub, tenant: str = TENANT, *, allowed_hosts: tuple[str, ...] = ()) -> None:
    hub.register_tenant(tenant, tenant.title(), BOX)
    hub.save(
        SparkConnection(
            tenant=tenant,
            api_url="https://spark.example.org",
            api_key_sealed=BOX.encrypt("spark-key", context=f"{tenant}:spark:api"),
            sso_secret_sealed=BOX.encrypt("sso-secret", context=f"{tenant}:spark-sso"),
            webhook_secret_sealed=BOX.encrypt("wh-secret", context=f"{tenant}:spark-webhook"),
            issuer=None,
            allowed_evidence_hosts=list(allowed_hosts),
            webhook_limit_per_minute=100,
        )
    )


def add_learner(hub: Hub, spark_user: str, tenant: str = TENANT) -> str:
    """A learner who signed in through Spark (with their identity); their id."""
    learner = Learner(
        tenant=tenant,
        source="spark",
        external_id=spark_user,
        email=f"{spark_user}@example.org",
        given_name="Sam",
        family_name=spark_user,
        role="student",
    )
    identity = Identity(
        tenant=tenant, source="spark", external_id=spark_user, learner_id=learner.id
    )
    hub.save(learner, identity)
    return str(learner.id)


def add_task(
    hub: Hub,
    assignment: str,
    *,
    title: str,
    pillar: str,
    xp: int,
    tenant: str = TENANT,
    course: str = COURSE,
) -> str:
    """A synced Spark assignment (and its course, the first time); the task's id."""
    try:
        quest = hub.repository.get(quest_id(tenant, "spark", course))
    except AggregateNotFoundError:
        quest = Quest(
            tenant=tenant, source="spark", external_id=course, details={"title": "Biology 101"}
        )
        hub.save(quest)
    task = Task(
        tenant=tenant,
        source="spark",
        external_id=assignment,
        quest_id=quest.id,
        details={"title": title, "pillar": pillar, "xp": xp},
    )
    hub.save(task)
    return str(task.id)


def submit(
    hub: Hub,
    spark_user: str,
    assignment: str,
    files: list[dict[str, Any]],
    *,
    submitted_at: str = "2025-01-15T14:30:00+00:00",
    text: str = "My essay.",
    tenant: str = TENANT,
) -> str:
    """Record `Submission.Received` as the ingress does; the submission's id."""
    submission = Submission(
        tenant=tenant,
        source="spark",
        learner_key=spark_user,
        assignment_key=assignment,
        submitted_at=submitted_at,
        course_key=COURSE,
        text=text,
        files=files,
        grade=None,
        verified={"signature": "hmac-sha256", "body": {}},
    )
    hub.save(submission)
    return str(submission.id)


def url_file(
    url: str,
    type_: str = "application/pdf",
    filename: str = "essay.pdf",
) -> dict[str, Any]:
    return {"url": url, "type": type_, "filename": filename}


# Running and reading connectors ----------------------------------------------------------


def evidence_spec(blobs: FolderBlobStore, limits: FetchLimits = FAST) -> ProcessSpec:
    """The evidence connector with the tests' blob folder and quick limits."""

    def build(env: Mapping[str, str], upstreams: Upstreams) -> EvidenceCollector:
        return EvidenceCollector(env, hub=upstreams["hub"], blobs=blobs, limits=limits)

    return ProcessSpec("evidence", build, upstreams=("hub",))


class RunnerThread:
    """`run_process` in a thread; `stop()` ends it and re-raises what it raised."""

    def __init__(self, spec: ProcessSpec, env: Mapping[str, str], **options: Any) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        options.setdefault("lease_ttl", TTL)
        options.setdefault("backoff", Backoff(initial=0.01, maximum=0.1))
        self._thread = threading.Thread(
            target=self._run,
            args=(spec, env),
            kwargs=options,
            name=f"test-{spec.name}",
            daemon=True,
        )
        self._thread.start()

    def _run(self, spec: ProcessSpec, env: Mapping[str, str], **options: Any) -> None:
        try:
            run_process(spec, env, self.stop_event, **options)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            self.error = error

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float = 30) -> BaseException | None:
        self._thread.join(timeout=timeout)
        assert not self._thread.is_alive(), "the runner did not end"
        return self.error

    def stop(self) -> None:
        self.stop_event.set()
        if self.join() is not None:
            raise self.error  # type: ignore[misc]


@contextmanager
def running(
    *specs: ProcessSpec,
    env: Mapping[str, str],
    **options: Any,
) -> Iterator[list[RunnerThread]]:
    runners = [RunnerThread(spec, env, **options) for spec in specs]
    try:
        yield runners
    finally:
        errors = []
        for runner in runners:
            try:
                runner.stop()
            except BaseException as error:  # noqa: BLE001 - all are stopped, then raised
                errors.append(error)
        if errors:
            raise errors[0]


@dataclass
class Logs:
    """Readers of the connectors' logs, by application name."""

    env: Mapping[str, str]

    def __post_init__(self) -> None:
        self._readers: dict[str, Application[Any]] = {}

    def reader(self, name: str) -> Application[Any]:
        if name not in self._readers:
            self._readers[name] = UpstreamLog(name, self.env)
        return self._readers[name]

    def get(self, app: str, originator_id: str) -> Any:
        try:
            return self.reader(app).repository.get(originator_id)
        except AggregateNotFoundError:
            return None

    def wait(
        self, app: str, originator_id: str, what: str, until: Callable[[Any], bool] = bool
    ) -> Any:
        def found() -> Any:
            aggregate = self.get(app, originator_id)
            return aggregate if aggregate is not None and until(aggregate) else None

        return wait_for(found, what)

    def events(self, app: str) -> list[Any]:
        reader = self.reader(app)
        notifications = reader.recorder.select_notifications(start=1, limit=100_000)
        return [reader.mapper.to_domain_event(n) for n in notifications]

    def tracking(self, app: str, upstream: str) -> int:
        """Where `app` is in `upstream`'s log (0 before its first notification)."""
        recorder = self.reader(app).factory.tracking_recorder()
        return recorder.max_tracking_id(upstream) or 0

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()


def comparable(events: list[Any]) -> dict[str, list[tuple[str, int, dict[str, Any]]]]:
    """Events by aggregate, each as (type, version, fields but the time it was recorded)."""
    out: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for event in events:
        fields = {k: v for k, v in vars(event).items() if k != "timestamp"}
        out.setdefault(str(event.originator_id), []).append(
            (type(event).__qualname__, event.originator_version, fields)
        )
    return out
