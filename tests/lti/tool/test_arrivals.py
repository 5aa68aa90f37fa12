"""An LTI launch and an observer with the same address are one person, whichever came
first (issue 9; the other ways in: tests/accounts/test_arrivals.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from hub.bootstrap import Runtime
from hub.domain.learners import EmailIndex, Learner, email_index_id
from hub.family import commands as family
from tests.hub.http.conftest import admin
from tests.lti.tool.conftest import launch
from tests.lti.tool.platform_server import Platform, user
from tests.lti.tool.test_launch import session_of


def student(runtime: Runtime, key: str) -> str:
    """A student of tenant acme who invites observers."""
    made = Learner(
        tenant="acme",
        source="spark",
        external_id=key,
        email=f"{key}@school.example",
        given_name=key.title(),
        family_name="",
        role="student",
    )
    runtime.hub.save(made, EmailIndex(tenant="acme", email=made.email, learner_id=made.id))
    return str(made.id)


def invited(runtime: Runtime, student_id: str, email: str) -> str:
    sent = family.invite_observer(
        runtime.hub,
        "acme",
        student_id,
        email=email,
        name="Gran",
        relationship="grandparent",
        now=datetime.now(UTC),
    )
    return sent.code


def holder(runtime: Runtime, email: str) -> str:
    index: EmailIndex = runtime.hub.repository.get(email_index_id("acme", email))
    return index.learner_id


def test_an_admins_observer_launched_from_a_platform_is_the_same_person(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    opened = client.post(
        "/api/v1/admin/accounts",
        json={"tenant": "acme", "email": "nan@school.example", "name": "Nan", "role": "observer"},
        headers=admin(),
    )
    assert opened.status_code == 200, opened.text
    nan = opened.json()["person_id"]
    user(platform, "u-nan", name="Nan Smith", email="Nan@School.example")

    session = session_of(runtime, launch(client, platform, "u-nan"))

    assert (session.learner_id, session.role) == (nan, "student")
    assert holder(runtime, "nan@school.example") == nan
    person: Learner = runtime.hub.repository.get(nan)
    assert person.roles == ("student", "observer")
    assert any(i.startswith(f"lti:{platform.issuer}|") for i in person.identities)


def test_an_invited_observer_launched_from_a_platform_is_the_same_person(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    kid = student(runtime, "kid")
    done = family.accept_invitation(
        runtime.hub, invited(runtime, kid, "pop@school.example"), now=datetime.now(UTC)
    )
    user(platform, "u-pop", name="Pop Smith", email="pop@school.example")

    session = session_of(runtime, launch(client, platform, "u-pop"))

    assert session.learner_id == done.observer_id == holder(runtime, "pop@school.example")
    assert runtime.hub.repository.get(done.observer_id).roles == ("student", "observer")


def test_a_launched_learner_who_accepts_an_invitation_is_the_same_person(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    kid = student(runtime, "kiddo")
    user(platform, "u-sis", name="Sis Smith", email="sis@school.example")
    sis = session_of(runtime, launch(client, platform, "u-sis")).learner_id

    done = family.accept_invitation(
        runtime.hub,
        invited(runtime, kid, "SIS@school.example"),
        now=datetime.now(UTC),
        signed_in_as=sis,
    )

    assert (done.observer_id, done.new_account) == (sis, False)
    assert holder(runtime, "sis@school.example") == sis
    assert runtime.hub.repository.get(sis).roles == ("student", "observer")
