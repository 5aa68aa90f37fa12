"""Every event class the hub records, found by walking the packages that define aggregates.

An event's public type is `hub.replay.event_type_of(topic)`, its class's qualified name
(`Submission.Received`). The abstract bases (`<Aggregate>.Event`, and a `Created` or
`Opening` that adds nothing to the library's) are never recorded and are left out.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Iterator

from hub.domain.base import HubAggregate
from hub.replay import event_type_of

# The packages whose modules define aggregates (the write side and the connectors' logs).
PACKAGES = ("hub", "connectors")
# Never imported: the command line and the development helpers define no events.
SKIPPED = ("hub.cli", "hub.dev")
_BASE_FIELDS = frozenset(f.name for f in dataclasses.fields(HubAggregate.Created))


def _import_all() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not module.name.startswith(SKIPPED):
                importlib.import_module(module.name)


def _subclasses(cls: type) -> Iterator[type]:
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _subclasses(sub)


def _is_abstract(cls: type) -> bool:
    name = cls.__qualname__.rsplit(".", 1)[-1]
    if name == "Event":
        return True
    own = {f.name for f in dataclasses.fields(cls)} - _BASE_FIELDS
    return name in {"Created", "Opening"} and not own


def event_classes() -> dict[str, type]:
    """Public event type -> its class (one per type; the library may derive twins of one)."""
    _import_all()
    found: dict[str, type] = {}
    for cls in _subclasses(HubAggregate.Event):
        if _is_abstract(cls) or cls.__qualname__.startswith("HubAggregate."):
            continue
        if cls.__module__.split(".", 1)[0] not in PACKAGES:  # a test's own aggregate
            continue
        # The topic as the library spells it (`get_topic` would register twins and refuse).
        found.setdefault(event_type_of(f"{cls.__module__}:{cls.__qualname__}"), cls)
    return dict(sorted(found.items()))
