"""One address, several ways in: whoever arrived first, nobody is refused with a 500."""

from __future__ import annotations

import time

from hub.accounts import commands
from hub.domain.base import EventContext, event_context
from hub.domain.learners import EmailIndex, email_index_id
from hub.spark import handlers
from schemas.spark import SsoClaims
from tests.accounts.conftest import World


def spark_sign_in(world: World, tenant: str, sub: str, email: str) -> str:
    now = int(time.time())
    claims = SsoClaims(sub=sub, email=email, iat=now, exp=now + 60, role="parent")
    with event_context(EventContext("test", "test")):
        done = handlers.sign_in(world.hub, tenant, claims, token_key=sub, token_sha256="0" * 64)
    return done.learner_id


def test_a_hub_account_met_later_by_spark_sso_is_linked(world: World) -> None:
    tenant = world.tenant()
    with event_context(EventContext("test", "test")):
        mum = commands.open_account(
            world.hub, tenant, email="mum@example.org", name="Mum", role="parent"
        ).person_id
    assert spark_sign_in(world, tenant, "spark-mum", "MUM@example.org") == mum
    assert world.hub.repository.get(mum).identities == [
        "hub:mum@example.org",
        "spark:spark-mum",
    ]


def test_an_observer_account_met_later_by_spark_sso_is_not_a_500(world: World) -> None:
    tenant = world.tenant()
    with event_context(EventContext("test", "test")):
        gran = commands.open_account(
            world.hub, tenant, email="gran@example.org", name="Gran", role="observer"
        ).person_id
    learner = spark_sign_in(world, tenant, "spark-gran", "gran@example.org")
    index: EmailIndex = world.hub.repository.get(email_index_id(tenant, "gran@example.org"))
    assert index.learner_id == gran  # the address stays the observer's
    assert learner.split(".")[1] == "Learner"
