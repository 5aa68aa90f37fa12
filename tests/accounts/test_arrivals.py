"""One address, one person, whichever way they arrived first (issue 9): Spark SSO, a
roster's user, an accepted invitation, an admin's account, a sign-in link. (LTI launches:
tests/lti/tool/test_arrivals.py.)"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.sis.people import person as roster_person
from hub.domain.accounts import Account
from hub.domain.base import EventContext, event_context
from hub.domain.learners import EmailIndex, Learner, email_index_id, normalise_email
from hub.family import commands as family
from hub.spark import handlers
from schemas.spark import SsoClaims
from tests.accounts.conftest import World, problem
from tests.accounts.test_quests import make_quest

PEOPLE = ("Learner.Registered", "Account.Opened")


def spark_sign_in(
    world: World, tenant: str, sub: str, email: str, role: str = "student"
) -> handlers.SignInResult:
    now = int(time.time())
    claims = SsoClaims(sub=sub, email=email, iat=now, exp=now + 60, role=role)  # type: ignore[arg-type]
    with event_context(EventContext("test", "test")):
        return handlers.sign_in(world.hub, tenant, claims, token_key=sub, token_sha256="0" * 64)


def roster_user(world: World, tenant: str, sourced_id: str, email: str) -> str:
    """The roster-people connector's decision for one users.csv row."""
    row = {"sourcedId": sourced_id, "email": email, "givenName": "Rosa", "familyName": "Ster"}
    with event_context(EventContext("test", "test", source="oneroster")):
        return roster_person(world.hub, tenant, "oneroster", row)


def invitation(world: World, student: str, email: str) -> str:
    """A student's invitation to `email`; its code."""
    sent = family.invite_observer(
        world.hub,
        student.split(".", 1)[0],
        student,
        email=email,
        name="Gran",
        relationship="grandparent",
        now=datetime.now(UTC),  # the family's routes run on the real clock here
    )
    return sent.code


def accept(world: World, code: str, signed_in_as: str | None = None) -> family.Acceptance:
    return family.accept_invitation(
        world.hub, code, now=datetime.now(UTC), signed_in_as=signed_in_as
    )


def admin_opens(world: World, tenant: str, email: str, role: str) -> dict[str, Any]:
    opened = world.http.post(
        "/api/v1/admin/accounts",
        json={"tenant": tenant, "email": email, "name": "Gran Smith", "role": role},
        headers=world.admin(),
    )
    assert opened.status_code == 200, opened.text
    body: dict[str, Any] = opened.json()
    return body


def people_with(world: World, tenant: str, email: str) -> list[str]:
    """Every person (learner or account) ever opened in `tenant` for `email`."""
    found = []
    for notification in world.events():
        if not notification.originator_id.startswith(f"{tenant}."):
            continue
        event = world.hub.mapper.to_domain_event(notification)
        if type(event).__qualname__ in PEOPLE and normalise_email(event.email) == email:
            found.append(event.originator_id)
    return found


def check_one_person(world: World, tenant: str, email: str, person_id: str) -> Learner:
    """`person_id` is the only person of `email`, and holds the address."""
    index: EmailIndex = world.hub.repository.get(email_index_id(tenant, email))
    assert index.learner_id == person_id
    assert people_with(world, tenant, email) == [person_id]
    found: Learner = world.hub.repository.get(person_id)
    return found


def link_session(world: World, tenant: str, email: str) -> dict[str, str]:
    """Signed in through HTTP with an emailed sign-in link: the session's cookie header."""
    asked = world.http.post(
        "/api/v1/accounts/sign-in-links", json={"tenant": tenant, "email": email}
    )
    assert asked.status_code == 202, asked.text
    used = world.http.post(
        "/api/v1/accounts/sign-in-links/use", json={"token": world.token_in_last_mail(tenant)}
    )
    assert used.status_code == 200, used.text
    return {"Cookie": f"hub_session={used.cookies['hub_session']}"}


def reaches(world: World, headers: dict[str, str], path: str) -> httpx.Response:
    return world.http.get(path, headers=headers)


# -- an observer first ----------------------------------------------------------------------


def test_an_invited_observer_who_signs_in_from_spark_is_the_same_person(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    gran = accept(world, invitation(world, sam, "gran@example.org")).observer_id

    signed = spark_sign_in(world, tenant, "spark-gran", "GRAN@Example.org")

    assert (signed.learner_id, signed.matched_by) == (gran, "email")
    person = check_one_person(world, tenant, "gran@example.org", gran)
    assert person.roles == ("student", "observer")  # a learner now, still observing Sam
    assert "spark:spark-gran" in person.identities
    assert signed.roles == ("student", "observer")  # what her Spark session carries
    assert family.circle(world.hub, tenant, sam).links[gran]["status"] == "active"


def test_an_admins_observer_who_signs_in_from_spark_is_the_same_person(world: World) -> None:
    tenant = world.tenant()
    gran = admin_opens(world, tenant, "gran@example.org", "observer")["person_id"]

    signed = spark_sign_in(world, tenant, "spark-gran", "gran@example.org", role="parent")

    assert signed.learner_id == gran
    assert check_one_person(world, tenant, "gran@example.org", gran).roles == (
        "parent",
        "observer",
    )


def test_an_admins_parent_who_signs_in_from_spark_is_the_same_person(world: World) -> None:
    tenant = world.tenant()
    mum = admin_opens(world, tenant, "Mum@example.org", "parent")["person_id"]

    assert spark_sign_in(world, tenant, "spark-mum", "MUM@example.org", "parent").learner_id == mum
    person = check_one_person(world, tenant, "mum@example.org", mum)
    assert person.identities == ["hub:mum@example.org", "spark:spark-mum"]
    assert person.roles == ("parent",)  # nothing new: no RoleAdded


def test_an_observer_on_a_later_roster_is_the_same_person(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    gran = accept(world, invitation(world, sam, "gran@example.org")).observer_id

    assert roster_user(world, tenant, "u-42", "gran@example.org") == gran
    person = check_one_person(world, tenant, "gran@example.org", gran)
    assert person.roles == ("student", "observer")
    assert "oneroster:u-42" in person.identities


def test_one_person_with_both_roles_reaches_both_views(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    gran = accept(world, invitation(world, sam, "gran@example.org")).observer_id
    observer_only = link_session(world, tenant, "gran@example.org")
    assert reaches(world, observer_only, "/observer").status_code == 200
    assert reaches(world, observer_only, "/dashboard").status_code == 200
    garden = f"/api/v1/me/quests/{make_quest(world, tenant)}/enrolment"
    problem(world.http.put(garden, headers=observer_only), 403, "not-a-learner")

    spark_sign_in(world, tenant, "spark-gran", "gran@example.org")
    both = link_session(world, tenant, "gran@example.org")

    session = world.app.state.spark.signer.read(both["Cookie"].split("=", 1)[1], now=0)
    assert (session.person_id, session.role, session.roles) == (gran, "student", ("observer",))
    assert world.http.put(garden, headers=both).status_code == 200  # she learns now
    for path in ("/dashboard", "/observer"):
        shown = reaches(world, both, path)
        assert shown.status_code == 200, (path, shown.text)
    assert 'href="/observer"' in shown.text  # the navigation offers both
    assert 'href="/dashboard"' in shown.text


# -- a learner first ------------------------------------------------------------------------


def test_a_spark_learner_who_accepts_an_invitation_is_the_same_person(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    ann = spark_sign_in(world, tenant, "spark-ann", "ann@example.org").learner_id
    as_ann = world.cookie(ann, "student")
    problem(reaches(world, as_ann, "/observer"), 403, "role-not-allowed")

    code = invitation(world, sam, "Ann@Example.org")
    accepted = world.http.post(
        "/api/v1/observers/invitations/accept", json={"code": code}, headers=as_ann
    )

    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["observer_id"], accepted.json()["new_account"]) == (ann, False)
    assert check_one_person(world, tenant, "ann@example.org", ann).roles == (
        "student",
        "observer",
    )
    renewed = {"Cookie": f"hub_session={accepted.cookies['hub_session']}"}
    assert reaches(world, renewed, "/observer").status_code == 200
    assert reaches(world, renewed, "/dashboard").status_code == 200


def test_a_roster_learner_met_by_spark_or_an_invitation_is_the_same_person(
    world: World,
) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    rosa = roster_user(world, tenant, "u-7", "rosa@example.org")

    assert spark_sign_in(world, tenant, "spark-rosa", "rosa@example.org").learner_id == rosa
    done = accept(world, invitation(world, sam, "rosa@example.org"), signed_in_as=rosa)

    assert (done.observer_id, done.new_account) == (rosa, False)
    person = check_one_person(world, tenant, "rosa@example.org", rosa)
    assert person.roles == ("student", "observer")
    assert person.identities == ["oneroster:u-7", "spark:spark-rosa"]


def test_an_admin_opening_a_known_address_adds_the_role_not_a_person(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    opened = admin_opens(world, tenant, "sam@example.org", "observer")
    assert (opened["person_id"], opened["created"]) == (sam, False)
    again = admin_opens(world, tenant, "sam@example.org", "observer")
    assert again["position"] is None  # held already: nothing recorded
    assert check_one_person(world, tenant, "sam@example.org", sam).roles == (
        "student",
        "observer",
    )


# -- before the fix -------------------------------------------------------------------------


def test_an_observer_account_of_before_met_by_spark_sso_is_not_a_500(world: World) -> None:
    """Observers opened before issue 9's fix are `Account`s, which cannot learn: the Spark
    identity gets a learner of its own, and the address stays the observer's."""
    tenant = world.tenant()
    old = Account(
        tenant=tenant, email="gran@example.org", name="Gran", role="observer", source="admin"
    )
    world.hub.save(old, EmailIndex(tenant=tenant, email=old.email, learner_id=old.id))

    learner = spark_sign_in(world, tenant, "spark-gran", "gran@example.org").learner_id

    index: EmailIndex = world.hub.repository.get(email_index_id(tenant, "gran@example.org"))
    assert index.learner_id == old.id
    assert learner.split(".")[1] == "Learner"
    assert roster_user(world, tenant, "u-9", "gran@example.org").split(".")[1] == "Learner"
