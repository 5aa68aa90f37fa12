"""Who may see a learner's portfolio: the learner; linked family (the family's `access`);
on the showcase page, whoever its visibility lets in. Nothing crosses tenants."""

from __future__ import annotations

from hub.domain.base import tenant_of
from hub.domain.showcases import OBSERVERS, PUBLIC
from hub.pages.readers import NOBODY, SELF, Access, Decision, PageReaders
from hub.spark.sessions import Session

ANYONE = Decision(can_view=True, can_view_evidence=True, can_comment=False)


def decide(readers: PageReaders, session: Session | None, learner_id: str) -> Access:
    """What `session`'s person may do with `learner_id`'s portfolio."""
    if session is None or session.tenant != tenant_of(learner_id):
        return NOBODY
    if session.person_id == learner_id:
        return SELF
    if readers.access is None:
        return NOBODY
    return readers.access(session.tenant, session.person_id, session.role, learner_id)


def decide_showcase(
    readers: PageReaders, session: Session | None, learner_id: str, visibility: str
) -> Access:
    """As `decide`, widened by the showcase's visibility: public lets anyone in; observers
    only lets in the linked viewers `decide` lets in; private, only the learner."""
    decided = decide(readers, session, learner_id)
    if decided is SELF or visibility == OBSERVERS:
        return decided
    if visibility == PUBLIC:
        return ANYONE
    return NOBODY
