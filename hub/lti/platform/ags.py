"""AGS 2.0 handlers: a tool's line items in a context, and the scores it posts.

Line items live in the tool's `LtiGradebook` for the context. A score is one event on
the `LtiResult` of (line item, user): `ScorePosted` first, `ScoreUpdated` after, and
only when its `timestamp` is newer than the one recorded (an older or equal one changes
nothing). The event carries the line item and, for a Spark assignment, the Spark ids,
so the gradebook and grade passback need nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from hub.domain.learners import Learner
from hub.domain.lti_platform import LtiGradebook, LtiResult, gradebook_id, result_id
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.reads import RecentReads
from hub.lti.platform.registrations import (
    ToolContext,
    get,
    line_item_record,
    placed_gradebook,
)
from schemas.lti import LineItemIn, ScoreIn

SCORE_ATTEMPTS = 3
FILTERS = {"resource_link_id": "resourceLinkId", "resource_id": "resourceId", "tag": "tag"}


@dataclass(frozen=True)
class ScoreOutcome:
    changed: bool
    position: int | None


def public_line_item(record: Mapping[str, Any], url: str) -> dict[str, Any]:
    shown = {k: v for k, v in record.items() if k not in {"id", "spark_assignment_id"}}
    return {"id": url, **shown}


def list_line_items(
    reads: RecentReads, at: ToolContext, filters: Mapping[str, str]
) -> list[dict[str, Any]]:
    book = reads.gradebook(at)
    wanted = {FILTERS[name]: value for name, value in filters.items() if name in FILTERS}
    return [
        item
        for item in book.items.values()
        if all(item.get(field) == value for field, value in wanted.items())
    ]


def line_item(reads: RecentReads, at: ToolContext, line_item_id: str) -> dict[str, Any]:
    item = reads.gradebook(at).items.get(line_item_id)
    if item is None:
        raise LtiRejectedError("line_item_unknown", f"no line item {line_item_id[:64]!r} here")
    return item


def _check_item(book: LtiGradebook, line_item_id: str) -> None:
    if line_item_id not in book.items:
        raise LtiRejectedError("line_item_unknown", f"no line item {line_item_id[:64]!r} here")


def create_line_item(
    reads: RecentReads, at: ToolContext, item: LineItemIn
) -> tuple[dict[str, Any], int]:
    hub, book = reads.hub, placed_gradebook(reads.hub, at)
    new_id, record = line_item_record(hub, at.tenant, item)
    book.create_line_item(new_id, record, "lti_ags")
    recordings = hub.save(book)
    reads.forget(book.id)
    return record, recordings[-1].notification.id


def update_line_item(
    reads: RecentReads, at: ToolContext, line_item_id: str, item: LineItemIn
) -> dict[str, Any]:
    hub, book = reads.hub, placed_gradebook(reads.hub, at)
    _check_item(book, line_item_id)
    _, record = line_item_record(hub, at.tenant, item, line_item_id)
    book.update_line_item(line_item_id, record)
    hub.save(book)
    reads.forget(book.id)
    return record


def delete_line_item(reads: RecentReads, at: ToolContext, line_item_id: str) -> None:
    book = placed_gradebook(reads.hub, at)
    _check_item(book, line_item_id)
    book.delete_line_item(line_item_id)
    reads.hub.save(book)
    reads.forget(book.id)


def scored_result(
    reads: RecentReads, at: ToolContext, line_item_id: str, score: ScoreIn, *, fresh: bool
) -> LtiResult | None:
    """The user's result with the score applied, to commit; None when the one recorded is as
    new. Not `fresh`: starts from the result this process wrote last (no read)."""
    hub, tenant = reads.hub, at.tenant
    item = line_item(reads, at, line_item_id)
    learner = reads.person(score.userId) if score.userId.startswith(f"{tenant}.") else None
    if learner is None:
        raise LtiRejectedError("body_invalid", f"userId {score.userId[:100]!r} is not a user here")
    record = _score_record(score, item, at, learner)
    the_id = result_id(tenant, line_item_id, score.userId)
    result = get(hub, the_id, LtiResult) if fresh else reads.last_written(the_id)
    if result is None:
        return LtiResult(tenant, line_item_id, score.userId, record)
    if datetime.fromisoformat(result.timestamp) >= score.timestamp:
        return None
    result.post(record)
    return result


async def post_score(
    reads: RecentReads, at: ToolContext, line_item_id: str, score: ScoreIn
) -> ScoreOutcome:
    """Record the score if it is newer than the user's last one on the line item.

    The commit is awaited on the request's loop (`Hub.save_async`). The last result this
    process wrote is tried first: with the line item and the person in `reads`, a score is
    one commit and no thread hop; when another writer got there before, the commit
    conflicts and the result is read again (in a thread).
    """
    hub = reads.hub
    the_id = result_id(at.tenant, line_item_id, score.userId)
    for attempt in range(SCORE_ATTEMPTS):
        fresh = attempt > 0
        if not fresh and reads.holds(
            gradebook_id(at.tenant, at.client_id, at.context_id), score.userId
        ):
            result = scored_result(reads, at, line_item_id, score, fresh=False)  # from memory
        else:
            result = await asyncio.to_thread(
                scored_result, reads, at, line_item_id, score, fresh=fresh
            )
        if result is None:
            return ScoreOutcome(changed=False, position=None)
        try:
            recordings = await hub.save_async(result)
        except IntegrityError:  # written meanwhile (or first seen here): read it and retry
            reads.forget_written(the_id)
            continue
        reads.remember_written(result)
        return ScoreOutcome(changed=True, position=recordings[-1].notification.id)
    raise LtiRejectedError("score_conflict", "scores for this user arrive too fast: retry")


def _score_record(
    score: ScoreIn, item: Mapping[str, Any], at: ToolContext, learner: Learner
) -> dict[str, Any]:
    spark_user = next(
        (i.split(":", 1)[1] for i in learner.identities if i.startswith("spark:")), None
    )
    return {
        **score.model_dump(mode="json", exclude_none=True),
        "timestamp": score.timestamp.isoformat(),
        "client_id": at.client_id,
        "context_id": at.context_id,
        "line_item": {k: v for k, v in item.items() if k != "spark_assignment_id"},
        "spark_assignment_id": item.get("spark_assignment_id"),
        "spark_user_id": spark_user,
        "source": "lti_ags",
    }
