"""An NRPS roster read by the hub as tool becomes enrolments in the course's quest."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from eventsourcing.application import AggregateNotFoundError

from connectors.lti_nrps import CONNECTOR, LtiRoster, NrpsRosterReader, roster_id
from connectors.lti_services import DeliveryLog
from connectors.lti_token import ToolTokens
from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.deliveries import Delivery
from hub.domain.learners import Identity, Learner, identity_id
from hub.domain.lti_tool import context_key, person_key, registration_id
from hub.domain.quests import Quest
from hub.lti.keys import LtiKeys
from tests.lti.tool.platform_server import LEARNER, Platform

CONTEXT = "c-enrol"


@pytest.fixture(scope="module")
def log(runtime: Runtime) -> Iterator[DeliveryLog]:
    env = eventsourcing_env(runtime.settings, runtime.nats_url)
    with closing(DeliveryLog(env)) as made:
        yield made


def course(runtime: Runtime, platform: Platform, tenant: str) -> str:
    key = context_key(platform.issuer, platform.client_id, "dep-1", CONTEXT)
    made = Quest(tenant=tenant, source="lti", external_id=key, details={"title": "Biology"})
    runtime.hub.save(made)
    return made.id


def roster_reader(
    runtime: Runtime, platform: Platform, log: DeliveryLog, tenant: str, quest: str
) -> Any:
    """Read the platform's roster of the course into `quest`, as the delivery loop does."""
    reader = NrpsRosterReader(runtime.hub, log, ToolTokens(LtiKeys(runtime.hub, runtime.box)))
    delivery = Delivery(
        tenant,
        CONNECTOR,
        f"{quest}|today",
        f"{platform.base_url}/contexts/{CONTEXT}/memberships",
        {
            "registration_id": registration_id(tenant, platform.issuer, platform.client_id),
            "quest_id": quest,
        },
        "test",
    )

    def attempt(*members: dict[str, Any]) -> None:
        platform.members[:] = list(members)
        result = reader(delivery)
        assert result.delivered, result.error

    return attempt


@pytest.fixture(scope="module")
def quest(runtime: Runtime, platform: Platform) -> str:
    return course(runtime, platform, "acme")


@pytest.fixture(scope="module")
def read(runtime: Runtime, platform: Platform, log: DeliveryLog, quest: str) -> Any:
    return roster_reader(runtime, platform, log, "acme", quest)


def member(user_id: str, status: str = "Active") -> dict[str, Any]:
    return {
        "user_id": user_id,
        "roles": [LEARNER],
        "status": status,
        "name": f"Person {user_id}",
        "email": f"{user_id}@bio.example",
    }


def person(
    runtime: Runtime, platform: Platform, user_id: str, tenant: str = "acme"
) -> Learner | None:
    key = person_key(platform.issuer, platform.client_id, user_id)
    hub = runtime.hub
    try:
        identity: Identity = hub.repository.get(identity_id(tenant, "lti", key))
    except AggregateNotFoundError:
        return None
    learner: Learner = hub.repository.get(identity.learner_id)
    return learner


def enrolment_events(runtime: Runtime, learner: Learner) -> list[tuple[str, str]]:
    events = runtime.hub.repository.event_store.get(learner.id)
    return [
        (type(e).__qualname__, e.source)  # type: ignore[attr-defined]
        for e in events
        if type(e).__qualname__ in {"Learner.Enrolled", "Learner.Dropped"}
    ]


def test_a_roster_enrols_its_active_members_drops_the_gone_and_is_idempotent(
    runtime: Runtime, platform: Platform, log: DeliveryLog, quest: str, read: Any
) -> None:
    hub = runtime.hub
    read(member("a"), member("b"), member("c", status="Inactive"))
    a, b = person(runtime, platform, "a"), person(runtime, platform, "b")
    assert a is not None
    assert b is not None
    assert a.is_enrolled(quest)
    assert b.is_enrolled(quest)
    assert (a.email, a.given_name, a.family_name) == ("a@bio.example", "Person", "a")
    assert enrolment_events(runtime, a) == [("Learner.Enrolled", "lti")]
    assert person(runtime, platform, "c") is None  # inactive: not registered
    roster: LtiRoster = log.repository.get(roster_id("acme", quest))
    assert [m["user_id"] for m in roster.members] == ["a", "b", "c"]

    at = hub.recorder.max_notification_id()
    read(member("a"), member("b"), member("c", status="Inactive"))
    assert hub.recorder.max_notification_id() == at  # the same roster changes nothing

    read(member("a"), member("d"))
    a, b, d = (person(runtime, platform, u) for u in ("a", "b", "d"))
    assert a is not None
    assert b is not None
    assert d is not None
    assert a.is_enrolled(quest)
    assert d.is_enrolled(quest)
    assert not b.is_enrolled(quest)
    assert enrolment_events(runtime, b) == [("Learner.Enrolled", "lti"), ("Learner.Dropped", "lti")]
    assert enrolment_events(runtime, a) == [("Learner.Enrolled", "lti")]


def test_a_member_read_again_is_the_same_person_enrolled_once(
    runtime: Runtime, platform: Platform, quest: str, read: Any
) -> None:
    read(member("e"))
    e = person(runtime, platform, "e")
    assert e is not None
    read(member("e"), member("f"))
    again = person(runtime, platform, "e")
    assert again is not None
    assert again.id == e.id
    assert enrolment_events(runtime, again) == [("Learner.Enrolled", "lti")]


def test_another_tenant_s_roster_never_reaches_this_tenant_s_people(
    runtime: Runtime, platform: Platform, other: Platform, log: DeliveryLog, read: Any
) -> None:
    read(member("g"))
    g = person(runtime, platform, "g")
    assert g is not None
    at_acme: int = runtime.hub.repository.get(g.id).version
    beta_quest = course(runtime, other, "beta")
    # The same address on beta's platform: a person of beta, not acme's g linked by email.
    roster_reader(runtime, other, log, "beta", beta_quest)(member("g"))
    in_beta = person(runtime, other, "g", tenant="beta")
    assert in_beta is not None
    assert in_beta.id.startswith("beta.")
    assert in_beta.is_enrolled(beta_quest)
    assert in_beta.email == g.email
    assert runtime.hub.repository.get(g.id).version == at_acme
