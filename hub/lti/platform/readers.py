"""What AGS results and NRPS read from the read models, through callables the app is given
(`hub` does not import `projections`: the composition root passes the readers in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.reads import RecentReads
from hub.lti.platform.registrations import ToolContext
from schemas.lti import HUB_ROLE_URIS, Member, MembersQuery


@dataclass(frozen=True)
class MembersPage:
    context: dict[str, str]
    members: list[Member]
    has_more: bool
    share: tuple[bool, bool]  # (name, email)


# A page of a context's members, in a stable order.
MembersOf = Callable[[MembersQuery], Sequence[Member]]
# (tenant, line item id, user id or None, limit) -> the latest score rows (`ScorePosted` bodies).
ResultsOf = Callable[[str, str, str | None, int], Sequence[dict[str, Any]]]
# The read-model engine -> both readers (`projections.gradebook.lti_readers`).
LtiReadersOf = Callable[[Any], tuple[MembersOf, ResultsOf]]


def hub_roles_for(role_uri: str) -> list[str]:
    """The hub roles whose LTI roles include `role_uri` or its short name (`Learner`),
    compared without case: paging URLs come back lower-cased from some tools."""
    wanted = role_uri.lower()
    return [
        role
        for role, uris in HUB_ROLE_URIS.items()
        if any(wanted in {u.lower(), u.rsplit("#", 1)[-1].lower()} for u in uris)
    ]


def members_page(
    reads: RecentReads,
    at: ToolContext,
    members: MembersOf | None,
    *,
    role: str | None,
    offset: int,
    limit: int,
) -> MembersPage:
    tenant, context_id = at.tenant, at.context_id
    reads.gradebook(at)
    quest = reads.quest(tenant, context_id)
    if members is None:
        raise LtiRejectedError("context_unknown", "the roster is not available on this server")
    settings = reads.registration(tenant, at.client_id).settings
    roles = tuple(hub_roles_for(role)) if role else None
    query = MembersQuery(tenant, quest.id, roles, offset, limit + 1)
    found = list(members(query)) if roles != () else []
    title = str(quest.details.get("title", ""))
    return MembersPage(
        context={"id": context_id, "label": title[:100], "title": title},
        members=found[:limit],
        has_more=len(found) > limit,
        share=(bool(settings.get("share_name")), bool(settings.get("share_email"))),
    )


def results(
    reads: RecentReads,
    at: ToolContext,
    reader: ResultsOf | None,
    line_item_id: str,
    *,
    user_id: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    book = reads.gradebook(at)
    if line_item_id not in book.items:
        raise LtiRejectedError("line_item_unknown", f"no line item {line_item_id[:64]!r} here")
    if reader is None:
        return []
    return list(reader(at.tenant, line_item_id, user_id, limit))


def public_result(score: dict[str, Any], line_item_url: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": f"{line_item_url}/results/{score['userId']}",
        "scoreOf": line_item_url,
        "userId": score["userId"],
    }
    if score.get("scoreGiven") is not None:
        maximum = float(score.get("scoreMaximum") or 1)
        item_max = float(score["line_item"].get("scoreMaximum") or maximum)
        result["resultScore"] = float(score["scoreGiven"]) * item_max / maximum
        result["resultMaximum"] = item_max
    if score.get("comment"):
        result["comment"] = score["comment"]
    return result
