"""A process recorder that hangs at a chosen notification, for runners killed mid-way.

A child process runs a connector with `<APP>_PROCESS_RECORDER_TOPIC` pointing here and
`arm()`ed: when the trapped notification comes, the recorder signals the parent and
waits for SIGKILL, either before anything of it is written (`before`), or after its
event (carrying its tracking position) is stored but before the tracking pointer is
(`after`: the restart must find the position in the event's headers).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent

from connectors.runner import ProcessSpec, run_process
from infra.jetstream.recorders import H_TRACK_APP, H_TRACK_ID, JetStreamProcessRecorder
from infra.jetstream.wire import OutMsg

TOPIC = f"{__name__}:TrappedRecorder"
_trap: dict[str, Any] = {}


def arm(kind: str, upstream: str, notification_id: int, reached: Any) -> None:
    _trap.update(kind=kind, upstream=upstream, at=notification_id, reached=reached)


def _spring() -> None:
    _trap["reached"].set()
    threading.Event().wait()  # until SIGKILL


class TrappedRecorder(JetStreamProcessRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        tracking = kwargs.get("tracking")
        if (
            _trap.get("kind") == "before"
            and tracking is not None
            and tracking.application_name == _trap["upstream"]
            and tracking.notification_id == _trap["at"]
        ):
            _spring()
        return super().insert_events(stored_events, **kwargs)

    def _write_pointer(self, pointer: OutMsg) -> None:
        if (
            _trap.get("kind") == "after"
            and pointer.headers.get(H_TRACK_APP) == _trap["upstream"]
            and pointer.headers.get(H_TRACK_ID) == str(_trap["at"])
        ):
            _spring()
        super()._write_pointer(pointer)


def trapped_child(
    spec: ProcessSpec,
    env: Mapping[str, str],
    kind: str,
    upstream: str,
    notification_id: int,
    reached: Any,
    ttl: float,
) -> None:
    """In a child process: run `spec` until the trap is reached, then hang there."""
    arm(kind, upstream, notification_id, reached)
    env = {**env, f"{spec.name.upper()}_PROCESS_RECORDER_TOPIC": TOPIC}
    run_process(spec, env, threading.Event(), lease_ttl=ttl, owner=f"child-{kind}")
