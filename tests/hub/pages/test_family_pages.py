"""The parent dashboard, the observer dashboard and the invitation page over HTTP: each
refusal with its precise problem, and the comment an observer leaves on the student's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hub.domain.learners import EmailIndex, email_index_id
from hub.family import commands
from tests.hub.family.people import person
from tests.hub.pages.site import Site

PROBLEM = "https://hub.example/problems/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Family:
    ivy: str  # a student, with completed work
    oli: str  # another student
    mum: str  # Ivy's parent
    dad: str  # Oli's parent


@pytest.fixture(scope="module")
def family(site: Site) -> Family:
    hub = site.runtime.hub
    ivy, oli = person(hub, "acme", "ivy"), person(hub, "acme", "oli")
    mum = person(hub, "acme", "mum", role="parent")
    dad = person(hub, "acme", "dad", role="parent")
    commands.link_guardian(hub, "acme", mum, ivy, relationship="mother", source="sso")
    commands.link_guardian(hub, "acme", dad, oli, relationship="father", source="sso")
    quest = site.course("acme", "c-poem", "Poetry", ("a-poem", "Write a poem communication", 1))
    site.world.enrol(ivy, quest)
    recent = datetime.now(UTC).isoformat()
    site.complete("acme", ivy, "a-poem", text="<i>Roses</i> are red", submitted_at=recent)
    site.settle()
    return Family(ivy, oli, mum, dad)


def invite(site: Site, student: str, email: str, *, days_ago: int = 0, comment: bool = True) -> str:
    sent = commands.invite_observer(
        site.runtime.hub,
        "acme",
        student,
        email=email,
        name="Gran <Ma>",
        relationship="grandmother",
        now=datetime.now(UTC) - timedelta(days=days_ago),
        can_comment=comment,
    )
    return sent.code


def accept(http: httpx.Client, site: Site, code: str) -> httpx.Response:
    return http.post(
        f"/observer/accept/{code}", content="name=Gran", headers={**FORM, "Origin": site.url}
    )


def signed_in_cookie(response: httpx.Response) -> dict[str, str]:
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    return {"Cookie": cookie.split(";", 1)[0]}


def test_a_parent_sees_their_student_and_not_another(
    site: Site, http: httpx.Client, family: Family
) -> None:
    mum = site.headers("acme", family.mum, "parent")
    page = http.get("/parent", headers=mum)
    assert page.status_code == 200, page.text
    assert "Ivy Example" in page.text
    assert "Learning rhythm: green" in page.text
    assert "Write a poem communication" in page.text
    assert "&lt;i&gt;Roses&lt;/i&gt; are red" in page.text
    assert "Oli Example" not in page.text
    assert http.get(f"/learners/{family.ivy}/portfolio", headers=mum).status_code == 200
    other = http.get(f"/learners/{family.oli}/portfolio", headers=mum)
    assert other.status_code == 403
    assert other.json()["type"] == PROBLEM + "not-linked"


def test_the_family_pages_are_for_their_roles(
    site: Site, http: httpx.Client, family: Family
) -> None:
    student = site.headers("acme", family.ivy)
    for path in ("/parent", "/observer"):
        refused = http.get(path, headers=student)
        assert refused.status_code == 403
        assert refused.json()["type"] == PROBLEM + "role-not-allowed"


def test_an_observer_accepts_follows_comments_and_loses_access_when_removed(
    site: Site, http: httpx.Client, family: Family
) -> None:
    code = invite(site, family.ivy, "gran@example.org")
    shown = http.get(f"/observer/accept/{code}")
    assert shown.status_code == 200
    assert "Ivy Example invites you" in shown.text
    assert "Gran &lt;Ma&gt;" in shown.text
    accepted = accept(http, site, code)
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/observer"
    gran = signed_in_cookie(accepted)
    site.settle()
    dashboard = http.get("/observer", headers=gran)
    assert "Ivy Example" in dashboard.text
    assert "Write a poem communication" in dashboard.text
    task = site.made["a-poem"]
    sent = http.post(
        f"/observer/students/{family.ivy}/comments",
        content=f"task_id={task}&text=Lovely+poem%21+%3Cb%3E",
        headers={**gran, **FORM, "Origin": site.url},
    )
    assert sent.status_code == 303, sent.text
    site.settle()
    ivy = http.get("/dashboard", headers=site.headers("acme", family.ivy))
    assert "Lovely poem! &lt;b&gt;" in ivy.text
    # A code works once.
    again = http.get(f"/observer/accept/{code}")
    assert again.status_code == 409
    assert again.json()["type"] == PROBLEM + "invitation-used"
    # Removed: the portfolio and the comment form refuse, precisely.
    index: EmailIndex = site.runtime.hub.repository.get(email_index_id("acme", "gran@example.org"))
    commands.remove_observer(
        site.runtime.hub, "acme", family.ivy, index.learner_id, now=datetime.now(UTC)
    )
    site.settle()
    refused = http.get(f"/learners/{family.ivy}/portfolio", headers=gran)
    assert refused.status_code == 403
    assert refused.json()["type"] == PROBLEM + "observer-removed"
    late = http.post(
        f"/observer/students/{family.ivy}/comments",
        content=f"task_id={task}&text=Still+here",
        headers={**gran, **FORM, "Origin": site.url},
    )
    assert late.status_code == 403
    assert late.json()["type"] == PROBLEM + "observer-removed"


def test_an_expired_or_unknown_code_is_refused(
    site: Site, http: httpx.Client, family: Family
) -> None:
    expired = invite(site, family.oli, "late@example.org", days_ago=8)
    for response in (http.get(f"/observer/accept/{expired}"), accept(http, site, expired)):
        assert response.status_code == 410
        assert response.json()["type"] == PROBLEM + "invitation-expired"
    unknown = http.get("/observer/accept/not-a-code")
    assert unknown.status_code == 404
    assert unknown.json()["type"] == PROBLEM + "invitation-not-found"


def test_an_observer_without_comment_rights_cannot_comment(
    site: Site, http: httpx.Client, family: Family
) -> None:
    code = invite(site, family.ivy, "quiet@example.org", comment=False)
    quiet = signed_in_cookie(accept(http, site, code))
    site.settle()
    assert "Send comment" not in http.get("/observer", headers=quiet).text
    refused = http.post(
        f"/observer/students/{family.ivy}/comments",
        content=f"task_id={site.made['a-poem']}&text=Hi",
        headers={**quiet, **FORM, "Origin": site.url},
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == PROBLEM + "comment-not-allowed"


def test_a_student_invites_cancels_and_removes_from_the_dashboard(
    site: Site, http: httpx.Client, family: Family
) -> None:
    oli = {**site.headers("acme", family.oli), **FORM, "Origin": site.url}
    form = "email=uncle%40example.org&name=Uncle+Bo&relationship=uncle&can_view_evidence=on"
    sent = http.post("/dashboard/observers/invite", content=form, headers=oli)
    assert sent.status_code == 200, sent.text
    code = sent.text.split(f'value="{site.url}/observer/accept/', 1)[1].split('"', 1)[0]
    assert http.get(f"/observer/accept/{code}").status_code == 200
    dashboard = http.get("/dashboard", headers=site.headers("acme", family.oli)).text
    assert "Cancel the invitation of Uncle Bo" in dashboard
    invitation = dashboard.split('action="/dashboard/invitations/', 1)[1].split("/cancel", 1)[0]
    cancelled = http.post(f"/dashboard/invitations/{invitation}/cancel", headers=oli)
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == "/dashboard?saved=invitation-cancelled"
    refused = http.get(f"/observer/accept/{code}")
    assert refused.status_code == 410
    assert refused.json()["type"] == PROBLEM + "invitation-cancelled"
    # A second invitation, accepted, then the observer removed from the dashboard.
    sent = http.post("/dashboard/observers/invite", content=form, headers=oli)
    code = sent.text.split(f'value="{site.url}/observer/accept/', 1)[1].split('"', 1)[0]
    uncle = signed_in_cookie(accept(http, site, code))
    site.settle()
    assert http.get(f"/learners/{family.oli}/portfolio", headers=uncle).status_code == 200
    dashboard = http.get("/dashboard", headers=site.headers("acme", family.oli)).text
    assert "Remove Uncle Bo" in dashboard
    observer = dashboard.split('action="/dashboard/observers/', 1)[1].split("/remove", 1)[0]
    removed = http.post(f"/dashboard/observers/{observer}/remove", headers=oli)
    assert removed.status_code == 303
    site.settle()
    gone = http.get(f"/learners/{family.oli}/portfolio", headers=uncle)
    assert gone.status_code == 403
    assert gone.json()["type"] == PROBLEM + "observer-removed"
    again = http.post(f"/dashboard/observers/{observer}/remove", headers=oli)
    assert again.status_code == 409
    assert again.json()["type"] == PROBLEM + "observer-already-removed"


def test_an_invitation_form_with_a_bad_address_is_422(
    site: Site, http: httpx.Client, family: Family
) -> None:
    headers = {**site.headers("acme", family.oli), **FORM, "Origin": site.url}
    response = http.post(
        "/dashboard/observers/invite",
        content="email=not-an-address&name=X&relationship=y",
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM + "validation-failed"


def test_an_existing_person_accepts_only_signed_in_as_themself(
    site: Site, http: httpx.Client, family: Family
) -> None:
    code = invite(site, family.oli, "mum@example.org")  # Ivy's mother's address
    anonymous = accept(http, site, code)
    assert anonymous.status_code == 401
    assert anonymous.json()["type"] == PROBLEM + "invitation-sign-in-required"
    mum = site.headers("acme", family.mum, "parent")
    linked = http.post(
        f"/observer/accept/{code}", content="name=", headers={**mum, **FORM, "Origin": site.url}
    )
    assert linked.status_code == 303
    assert linked.headers["location"] == f"/learners/{family.oli}/portfolio"
    # Her own session stays hers (a parent), renewed to say she observes too (issue 9).
    renewed = linked.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    session = site.signer.read(renewed, now=0)
    assert (session.person_id, session.role, session.roles) == (family.mum, "parent", ("observer",))
    site.settle()
    assert http.get(f"/learners/{family.oli}/portfolio", headers=mum).status_code == 200
