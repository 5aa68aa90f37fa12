"""Reading the logs a projection follows: one plain application per upstream, by name.

A projection only reads: it needs an upstream's recorder (its notifications) and
mapper (stored events back into domain events, by topic), never its command methods.
So an upstream is opened as a bare `eventsourcing.application.Application` with the
upstream's `name` and the shared environment; the factory derives the application's
subjects from that name (`<prefix>.ev.<name>.>`), and the events' topics resolve as
long as their classes are importable here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager
from functools import cache
from typing import Any

from eventsourcing.application import Application

from projections.audit_stream import AUDIT_UPSTREAM, AuditLog


@cache
def reader_class(name: str) -> type[Application[Any]]:
    """A plain application class named `name` (one per name, so every reader shares it);
    `audit` reads the audit stream of rejections (`projections.audit_stream`)."""
    if name == AUDIT_UPSTREAM:
        return AuditLog
    return type(f"{name.title().replace('_', '')}Log", (Application,), {"name": name})


def open_reader(name: str, env: Mapping[str, str]) -> Application[Any]:
    """A reader of application `name`'s log; close it when done."""
    return reader_class(name)(dict(env))


@contextmanager
def open_readers(names: Sequence[str], env: Mapping[str, str]) -> Iterator[list[Application[Any]]]:
    """Readers of every upstream in `names`, in that order, closed on exit."""
    with ExitStack() as stack:
        yield [stack.enter_context(closing(open_reader(name, env))) for name in names]


def head(app: Application[Any]) -> int:
    """The position of the last event `app` recorded (0 for an empty log)."""
    return app.recorder.max_notification_id() or 0
