"""The `caliper` emitter on real parts: the hub's log in, envelopes on the Caliper stream out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from connectors.caliper_emitter import SPEC, CaliperEmitter
from connectors.caliper_stream import CaliperStream, stream_name
from connectors.runner import ConnectorFailedError, ProcessSpec, Upstreams
from hub.application import Hub
from hub.caliper.iris import hex_of
from hub.caliper.mapping import SOURCES, Context, Reader
from hub.caliper.settings import CaliperConfig, configure_caliper
from schemas.caliper import CaliperEvent
from schemas.caliper_rules import validate_envelope
from tests.caliper.world import (
    BOX,
    TENANT,
    learner,
    on_stream,
    sign_in,
    submit,
    task,
    tenant,
)
from tests.connectors.world import Logs, RunnerThread, running, wait_for


def caught_up(logs: Logs, hub: Hub) -> None:
    """Waits until the emitter has passed everything the hub recorded so far."""
    position = hub.recorder.max_notification_id() or 0
    wait_for(lambda: logs.tracking("caliper", "hub") >= position, "the emitter to catch up")


def test_a_sign_in_and_a_graded_submission_become_validated_envelopes(
    env: dict[str, str], hub: Hub, stream: CaliperStream
) -> None:
    tenant(hub)
    sam = learner(hub, "sam")
    task(hub, "a-essay", max_points=50)
    with running(SPEC, env=env):
        session = sign_in(hub, sam, "sam")
        submission = submit(hub, "sam", grade=42)
        found = on_stream(stream, 3)

    assert [(p.tenant, p.event_type) for p in found] == [
        (TENANT, "SessionEvent"),
        (TENANT, "AssignableEvent"),
        (TENANT, "GradeEvent"),
    ]
    for published in found:
        validate_envelope(published.envelope)
        assert published.envelope["sensor"] == f"urn:hub:{TENANT}:sensor:caliper"
    login, submitted, graded = (p.envelope["data"][0] for p in found)
    person = f"urn:hub:{TENANT}:person:{hex_of(sam)}"
    assert (login["action"], login["actor"]["id"], login["actor"]["name"]) == (
        "LoggedIn",
        person,
        "Sam Famsam",
    )
    assert login["session"]["id"] == f"urn:hub:{TENANT}:session:{hex_of(session)}"
    assert submitted["object"]["name"] == "A-Essay"
    assert submitted["object"]["maxScore"] == 50.0
    assert submitted["generated"]["assignee"] == person
    assert submitted["generated"]["id"] == f"urn:hub:{TENANT}:attempt:{hex_of(submission)}"
    assert graded["generated"]["scoreGiven"] == 42.0
    assert graded["object"]["id"] == submitted["generated"]["id"]


def test_subjects_let_a_consumer_pick_one_tenant_and_one_event_type(
    env: dict[str, str], hub: Hub, stream: CaliperStream
) -> None:
    tenant(hub, "north")
    tenant(hub, "south")
    north, south = learner(hub, "n1", slug="north"), learner(hub, "s1", slug="south")
    with running(SPEC, env=env):
        sign_in(hub, north, "n1", slug="north")
        submit(hub, "s1", slug="south", grade=9)
        sign_in(hub, south, "s1", slug="south", nonce="n2")
        on_stream(stream, 4)
    prefix = env["NATS_STREAM_PREFIX"]
    assert [p.event_type for p in stream.read(0, tenant="south")] == [
        "AssignableEvent",
        "GradeEvent",
        "SessionEvent",
    ]
    assert [p.tenant for p in stream.read(0, tenant="north")] == ["north"]
    grades = [p for p in stream.read(0) if p.event_type == "GradeEvent"]
    assert [p.tenant for p in grades] == ["south"]
    assert stream.config["subjects"] == [f"{prefix}.caliper.>"]
    assert stream.name == stream_name(prefix) == f"{prefix.upper()}_CALIPER"


def test_the_stream_keeps_envelopes_90_days_by_default(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CaliperStream(env).config["max_age"] == 90 * 24 * 3600 * 10**9
    monkeypatch.setenv("HUB_CALIPER_RETENTION_DAYS", "30")
    shorter = CaliperStream(env)
    assert shorter.config["max_age"] == 30 * 24 * 3600 * 10**9
    shorter.ensure()  # the server takes it
    info = shorter.connection.run(
        lambda: shorter.connection.client.jetstream().stream_info(shorter.name)
    )
    assert info.config.max_age == 30 * 24 * 3600


def test_a_disabled_tenant_emits_nothing_and_a_tenant_without_settings_neither(
    env: dict[str, str], hub: Hub, logs: Logs, stream: CaliperStream
) -> None:
    tenant(hub, "off", enabled=False)
    hub.register_tenant("never", "Never", BOX)
    tenant(hub, "on")
    off, never, on = learner(hub, "u", slug="off"), learner(hub, "v", slug="never"), None
    on = learner(hub, "w", slug="on")
    with running(SPEC, env=env):
        sign_in(hub, off, "u", slug="off")
        submit(hub, "u", slug="off", grade=1)
        sign_in(hub, never, "v", slug="never")
        sign_in(hub, on, "w", slug="on")
        on_stream(stream, 1)
        caught_up(logs, hub)
    assert [p.tenant for p in stream.read(0)] == ["on"]


def test_turning_a_tenant_off_stops_what_is_recorded_after_and_event_types_filter(
    env: dict[str, str], hub: Hub, logs: Logs, stream: CaliperStream
) -> None:
    tenant(hub, event_types=("GradeEvent",))
    sam = learner(hub, "sam")
    with running(SPEC, env=env):
        sign_in(hub, sam, "sam")  # SessionEvent: not wanted
        submit(hub, "sam", grade=3)  # only its GradeEvent
        on_stream(stream, 1)
        configure_caliper(hub, BOX, TENANT, CaliperConfig(enabled=False))
        submit(hub, "sam", grade=4, submitted_at="2025-02-01T00:00:00+00:00")
        caught_up(logs, hub)
    assert [p.event_type for p in stream.read(0)] == ["GradeEvent"]
    assert stream.read(0)[0].envelope["data"][0]["generated"]["scoreGiven"] == 3.0


def test_a_pseudonymous_tenant_never_shows_a_real_id_name_or_email(
    env: dict[str, str], hub: Hub, stream: CaliperStream
) -> None:
    tenant(hub, pseudonymous=True)
    sam = learner(hub, "sam-real-id", given="Samantha")
    with running(SPEC, env=env):
        session = sign_in(hub, sam, "sam-real-id")
        submission = submit(hub, "sam-real-id", grade=88)
        found = on_stream(stream, 3)

    raw = json.dumps([p.envelope for p in found])
    hub_ids = [hex_of(sam), hex_of(session), hex_of(submission)]  # uuid5s of external ids
    for secret in ("sam-real-id", *hub_ids, "Samantha", "Famsam", "example.org"):
        assert secret not in raw
    actors = {p.envelope["data"][0]["actor"]["id"] for p in found[:2]}
    (actor,) = actors  # the same pseudonym in both events
    assert actor.startswith(f"urn:hub:{TENANT}:pseudonym:")
    assert found[1].envelope["data"][0]["generated"]["assignee"] == actor


def test_pseudonyms_differ_between_tenants_for_the_same_person_key(
    env: dict[str, str], hub: Hub, stream: CaliperStream
) -> None:
    for slug in ("one", "two"):
        tenant(hub, slug, pseudonymous=True)
    with running(SPEC, env=env):
        submit(hub, "same-user", slug="one")
        submit(hub, "same-user", slug="two")
        found = on_stream(stream, 2)
    first, second = (p.envelope["data"][0]["actor"]["id"] for p in found)
    assert first.rsplit(":", 1)[1] != second.rsplit(":", 1)[1]


def broken_reader(event: Any, ctx: Context) -> list[CaliperEvent]:
    """A mapping bug: a SessionEvent whose action is one a session never has."""
    (good,) = SOURCES["hub.domain.spark:SsoToken.Accepted"](event, ctx)
    return [good, good.model_copy(update={"action": "Graded"})]


def test_an_invalid_mapping_fails_loudly_and_publishes_nothing(
    env: dict[str, str], hub: Hub, logs: Logs, stream: CaliperStream
) -> None:
    table: Mapping[str, Reader] = {**SOURCES, "hub.domain.spark:SsoToken.Accepted": broken_reader}

    def build(env: Mapping[str, str], upstreams: Upstreams) -> CaliperEmitter:
        return CaliperEmitter(env, hub=upstreams["hub"], box=BOX, table=table)

    tenant(hub)
    sam = learner(hub, "sam")
    sign_in(hub, sam, "sam")
    runner = RunnerThread(ProcessSpec("caliper", build), env)
    error = runner.join()
    assert isinstance(error, ConnectorFailedError)
    assert "action: 'Graded' is not allowed for SessionEvent" in str(error)
    assert stream.read(0) == []
    assert logs.tracking("caliper", "hub") < (hub.recorder.max_notification_id() or 0)


@pytest.mark.parametrize("restarts", [1])
def test_a_restart_publishes_each_event_once(
    env: dict[str, str], hub: Hub, logs: Logs, stream: CaliperStream, restarts: int
) -> None:
    tenant(hub)
    sam = learner(hub, "sam")
    with running(SPEC, env=env):
        sign_in(hub, sam, "sam")
        on_stream(stream, 1)
    for _ in range(restarts):
        with running(SPEC, env=env):
            submit(hub, "sam", grade=5)
            on_stream(stream, 3)
            caught_up(logs, hub)
    ids = [p.envelope["data"][0]["id"] for p in stream.read(0)]
    assert len(ids) == len(set(ids)) == 3
