"""A running hub for the page tests: its log, the portfolio projection, blobs, and the app
on loopback; learners, courses and completions with real evidence files; session cookies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Engine

from connectors.domain import Progress, progress_id
from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from hub.dev.spark_demo import png_bytes
from hub.http.app import build_http_app
from hub.spark.sessions import SessionSigner, session_key
from infra.blobs import FolderBlobStore
from infra.nats_client import NatsConnection
from infra.settings import Settings
from infra.sql import make_engine
from projections import family
from projections.portfolio import wait_for
from projections.portfolio_pages import page_readers
from projections.registry import start_projections
from tests.conftest import drop_streams, new_prefix
from tests.hub.http.live_server import live_server
from tests.projections.portfolio_world import ProgressLog, World, submission_of, task_of

ADMIN_TOKEN = "the page tests' admin token"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour."""
    return png_bytes(width, height, rgb)


@dataclass
class Site:
    """The hub the page tests talk to."""

    runtime: Runtime
    world: World
    engine: Engine
    url: str
    signer: SessionSigner
    blobs: FolderBlobStore
    made: dict[str, str] = field(default_factory=dict)

    def cookie(self, tenant: str, person_id: str, role: str = "student") -> str:
        cookie, _ = self.signer.issue(
            tenant=tenant, learner_id=person_id, role=role, position=0, now=int(time.time())
        )
        return cookie

    def headers(self, tenant: str, person_id: str, role: str = "student") -> dict[str, str]:
        return {"Cookie": f"hub_session={self.cookie(tenant, person_id, role)}"}

    def course(self, tenant: str, course: str, title: str, *tasks: tuple[str, str, float]) -> str:
        """A quest with tasks (assignment, title, hours); the quest's id."""
        quest = self.world.quest(tenant, course, title)
        for assignment, task_title, hours in tasks:
            self.made[assignment] = self.world.task(tenant, quest, assignment, task_title, hours)
        return quest

    def complete(
        self,
        tenant: str,
        learner_id: str,
        assignment: str,
        *,
        text: str = "",
        files: tuple[tuple[str, str, bytes], ...] = (),
        source: str = "spark",
        submitted_at: str = "2025-01-15T14:30:00Z",
    ) -> list[dict[str, Any]]:
        """A first completion of a task, with files (name, type, bytes) stored as blobs."""
        task = task_of(self.world, self.made[assignment])
        evidence = []
        for name, content_type, data in files:
            stored = self.blobs.put(data, content_type)
            evidence.append(
                {"blob": stored.sha256, "type": content_type, "filename": name, "size": len(data)}
            )
        found = progress_id(tenant, learner_id)
        try:
            progress: Progress | None = self.world.progress.repository.get(found)
        except AggregateNotFoundError:
            progress = None
        progress = Progress.record(
            progress,
            found,
            Progress.TaskCompleted,
            learner_id=learner_id,
            task_id=task["task_id"],
            quest_id=task["quest_id"],
            task_title=task["title"],
            quest_title=None,
            pillar=task["pillar"],
            xp=task["xp"],
            evidence=evidence,
            evidence_rejected=[],
            text=text,
            submitted_at=submitted_at,
            grade=None,
            source=source,
            submission_id=submission_of(tenant, learner_id, task["task_id"], submitted_at),
        )
        self.world.positions.saw(self.world.progress, self.world.progress.save(progress))
        return evidence

    def settle(self) -> None:
        """Wait until the portfolio, family and badge read models have applied everything
        recorded so far (in both logs)."""
        heads = {
            "hub": self.runtime.hub.recorder.max_notification_id() or 0,
            "progress": self.world.progress.recorder.max_notification_id() or 0,
        }
        positions = {name: position for name, position in heads.items() if position}
        wait_for(self.engine, positions, timeout=30)
        family.wait_for(self.engine, positions, timeout=30)


@contextmanager
def running_site(nats_url: str, folder: Path, database_url: str | None = None) -> Iterator[Site]:
    """The hub on fresh streams; its read models in `database_url` (default: SQLite)."""
    prefix = new_prefix()
    database_url = database_url or f"sqlite:///{folder / 'read.sqlite3'}"
    settings = Settings(
        data_dir=folder, stream_prefix=prefix, database_url=database_url, demo_tenant=None
    )
    runtime = build_runtime(settings, nats_url)
    env = eventsourcing_env(settings, nats_url)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    engine = make_engine(database_url)
    progress = ProgressLog(env)
    try:
        for tenant in ("acme", "beta"):
            runtime.hub.register_tenant(tenant, tenant.title(), runtime.box)
        threads += start_projections(env, database_url, stop)
        app = build_http_app(runtime, admin_token=ADMIN_TOKEN, portfolio=None, pages=page_readers)
        with live_server(app) as url:
            yield Site(
                runtime,
                World(runtime.hub, progress),
                engine,
                url,
                SessionSigner(session_key(settings)),
                FolderBlobStore(folder / "blobs"),
            )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        engine.dispose()
        progress.close()
        runtime.hub.close()
        connection = NatsConnection.shared(nats_url)
        js = connection.client.jetstream()
        with suppress(Exception):
            connection.run(lambda: js.delete_key_value(f"{prefix}_leases"), timeout=10)
        drop_streams(nats_url, prefix)
