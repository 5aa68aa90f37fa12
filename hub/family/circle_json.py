"""A student's circle (invitations, observers, comments) as the JSON API answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.domain.observers import ACTIVE, ObserverCircle


def circle_json(circle: ObserverCircle | None, now: datetime) -> dict[str, Any]:
    """Invitations newest first (status against `now`), then the active observers."""
    if circle is None:
        return {"invitations": [], "observers": []}
    invitations = [
        {
            "invitation_id": invitation_id,
            "email": invitation["email"],
            "name": invitation["name"],
            "relationship": invitation["relationship"],
            "status": circle.status_of(invitation_id, now),
            "sent_at": invitation["sent_at"],
            "expires_at": invitation["expires_at"],
            "can_view_evidence": invitation["can_view_evidence"],
            "can_comment": invitation["can_comment"],
        }
        for invitation_id, invitation in circle.invitations.items()
    ]
    invitations.sort(key=lambda line: (line["sent_at"], line["invitation_id"]), reverse=True)
    names = _names(circle)
    observers = [
        {
            "observer_id": observer_id,
            "name": names.get(observer_id, ("", ""))[0],
            "email": names.get(observer_id, ("", ""))[1],
            "relationship": link["relationship"],
            "can_view_evidence": link["can_view_evidence"],
            "can_comment": link["can_comment"],
            "linked_at": link["linked_at"],
        }
        for observer_id, link in circle.links.items()
        if link["status"] == ACTIVE
    ]
    return {"invitations": invitations, "observers": observers}


def comments_json(circle: ObserverCircle | None) -> list[dict[str, Any]]:
    """The comments left on the student's work, newest first, with who left them."""
    if circle is None:
        return []
    names = _names(circle)
    found = [
        {**comment, "observer_name": names.get(comment["observer_id"], ("", ""))[0]}
        for comment in circle.comments
    ]
    return sorted(found, key=lambda line: (line["left_at"], line["comment_id"]), reverse=True)


def _names(circle: ObserverCircle) -> dict[str, tuple[str, str]]:
    """Each observer's name and address, as the student invited them (latest invitation)."""
    accepted = sorted(
        (i for i in circle.invitations.values() if i.get("observer_id")),
        key=lambda i: str(i["sent_at"]),
    )
    return {str(i["observer_id"]): (str(i["name"]), str(i["email"])) for i in accepted}
