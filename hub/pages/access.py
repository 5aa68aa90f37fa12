"""Who may see a learner's portfolio: the learner; linked family (the family's `access`);
on the showcase page, whoever its visibility lets in. Nothing crosses tenants.

A refusal becomes the precise 403 of its reason (`refusal`): another tenant's learner, a
learner one is not linked to, an observer the student removed, a private page.
"""

from __future__ import annotations

from hub.domain.base import tenant_of
from hub.domain.showcases import OBSERVERS, PUBLIC
from hub.family.problems import access_problem
from hub.pages.readers import ANONYMOUS, SELF, Access, Decision, PageReaders
from hub.pages.web import FORBIDDEN, PageError
from hub.spark.sessions import Session

ANYONE = Decision(can_view=True, can_view_evidence=True, can_comment=False, reason="public")
PRIVATE_PAGE = Decision.denied("private")


def decide(readers: PageReaders, session: Session | None, learner_id: str) -> Access:
    """What `session`'s person may do with `learner_id`'s portfolio."""
    if session is None:
        return ANONYMOUS
    if session.tenant != tenant_of(learner_id):
        return Decision.denied("other_tenant")
    if session.person_id == learner_id:
        return SELF
    if readers.access is None:
        return Decision.denied("not_linked")
    return readers.access(session.tenant, session.person_id, session.role, learner_id)


def decide_showcase(
    readers: PageReaders, session: Session | None, learner_id: str, visibility: str
) -> Access:
    """As `decide`, widened by the showcase's visibility: public lets anyone in; observers
    only lets in the linked viewers `decide` lets in; private, only the learner."""
    decided = decide(readers, session, learner_id)
    if decided.reason == SELF.reason or visibility == OBSERVERS:
        return decided
    if visibility == PUBLIC:
        return ANYONE
    return PRIVATE_PAGE if session is not None else ANONYMOUS


def refusal(access: Access) -> PageError:
    """The 403 page of a refused `access`, precise about why."""
    if access.reason == ANONYMOUS.reason:
        return PageError(FORBIDDEN, "sign in as someone who may see this portfolio")
    if access.reason == PRIVATE_PAGE.reason:
        return PageError(FORBIDDEN, "this portfolio is private")
    problem = access_problem(access)
    return PageError(problem.kind, problem.detail)
