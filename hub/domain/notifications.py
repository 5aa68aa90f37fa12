"""Notifications to observers and parents: what each chooses to hear about, and what was sent.

`NotificationPreferences` (the hub's log) holds one person's choice: for each kind of
achievement (`KINDS`), the channels (`CHANNELS`) it reaches them by. Without a choice,
every kind is shown in the page and nothing is emailed.

What was sent lives in the `notifications` connector's log (`connectors.notifications`):
each notification is one `Inbox.Notified` event, keyed by what caused it, so it is
recorded, and sent, once.
"""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

TASK_COMPLETED, BADGE_EARNED, COMMENT_REPLY = "task_completed", "badge_earned", "comment_reply"
KINDS = (TASK_COMPLETED, BADGE_EARNED, COMMENT_REPLY)
EMAIL, IN_PAGE = "email", "in_page"
CHANNELS = (EMAIL, IN_PAGE)
DEFAULT_CHOICE: dict[str, list[str]] = {kind: [IN_PAGE] for kind in KINDS}


def preferences_id(tenant: str, person_id: str) -> str:
    return aggregate_id(tenant, "NotificationPreferences", person_id)


def inbox_id(tenant: str, person_id: str) -> str:
    """A person's notifications (in the `notifications` log)."""
    return aggregate_id(tenant, "Inbox", person_id)


class PreferencesError(ValueError):
    """Raised for a kind or a channel that does not exist."""


def check_choice(choice: dict[str, list[str]]) -> dict[str, list[str]]:
    """The choice with every kind present (unnamed kinds: no channel), or why it is wrong."""
    unknown = sorted(set(choice) - set(KINDS))
    if unknown:
        msg = f"unknown kinds {unknown}: choose among {list(KINDS)}"
        raise PreferencesError(msg)
    for kind, channels in choice.items():
        wrong = sorted(set(channels) - set(CHANNELS))
        if wrong:
            msg = f"unknown channels {wrong} for {kind}: choose among {list(CHANNELS)}"
            raise PreferencesError(msg)
    return {kind: sorted(set(choice.get(kind, []))) for kind in KINDS}


class NotificationPreferences(HubAggregate):
    """One person's choice of kinds and channels."""

    @staticmethod
    def create_id(tenant: str, person_id: str, **_: object) -> str:
        return preferences_id(tenant, person_id)

    @event("Opened")
    def __init__(self, tenant: str, person_id: str) -> None:
        self.person_id = person_id
        self.choice: dict[str, list[str]] = dict(DEFAULT_CHOICE)

    @event("Chosen")
    def choose(self, choice: dict[str, list[str]]) -> None:
        self.choice = choice
