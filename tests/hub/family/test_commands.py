"""Family commands on the hub's log: invitations (expiry, single use, cancellation), links to
existing or new accounts, removal, rights, comments, guardians, and tenants kept apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.bootstrap import Runtime
from hub.domain.base import tenant_of
from hub.domain.learners import EmailIndex, Learner, email_index_id, learner_id
from hub.domain.observers import (
    MAX_COMMENT_CHARS,
    CommentEmptyError,
    CommentNotAllowedError,
    CommentTooLongError,
    InvitationCancelledError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
    ObserverNotLinkedError,
    ObserverRemovedError,
    SelfObservationError,
    SignInRequiredError,
)
from hub.family import commands
from hub.family.errors import (
    CrossTenantError,
    RhythmDaysError,
    SamePersonError,
    UnknownPersonError,
)
from tests.hub.family.people import T0, person

DAY = timedelta(days=1)


def invite(runtime: Runtime, student: str, email: str, **rights: bool) -> commands.SentInvitation:
    return commands.invite_observer(
        runtime.hub,
        tenant_of(student),
        student,
        email=email,
        name="Grace Hopper",
        relationship="grandparent",
        now=T0,
        **rights,
    )


def test_a_new_address_gets_an_observer_account_and_a_link(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    sent = invite(runtime, sam, "Grace@Example.org")
    done = commands.accept_invitation(runtime.hub, sent.code, now=T0 + 6 * DAY, name="Grace H.")
    assert (done.tenant, done.student_id, done.new_account) == ("acme", sam, True)
    # a Learner of the hub's own, observer only: whoever arrives later by the address is them
    assert done.observer_id == learner_id("acme", "hub", "grace@example.org")
    observer: Learner = runtime.hub.repository.get(done.observer_id)
    assert (observer.email, observer.display_name, observer.roles) == (
        "grace@example.org",
        "Grace H.",
        ("observer",),
    )
    index: EmailIndex = runtime.hub.repository.get(email_index_id("acme", "grace@example.org"))
    assert index.learner_id == done.observer_id
    circle = commands.circle(runtime.hub, "acme", sam)
    assert circle is not None
    assert circle.links[done.observer_id]["status"] == "active"


def test_an_existing_person_is_linked_by_email_only_when_signed_in(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    aunt = person(runtime.hub, "acme", "aunt", role="parent", email="aunt@example.org")
    sent = invite(runtime, sam, "  AUNT@example.org ")
    # Holding the code is not being the aunt: the student who sent it holds it too.
    for someone in (None, sam):
        with pytest.raises(SignInRequiredError):
            commands.accept_invitation(runtime.hub, sent.code, now=T0, signed_in_as=someone)
    done = commands.accept_invitation(runtime.hub, sent.code, now=T0, signed_in_as=aunt)
    assert (done.observer_id, done.new_account) == (aunt, False)
    assert learner_id("acme", "hub", "aunt@example.org") not in runtime.hub.repository
    assert runtime.hub.repository.get(aunt).roles == ("parent", "observer")  # RoleAdded


def test_a_code_is_stored_only_as_its_hash(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    sent = invite(runtime, sam, "grace@example.org")
    commands.accept_invitation(runtime.hub, sent.code, now=T0)
    secret = sent.code.rsplit(".", 1)[1]
    stored = runtime.hub.recorder.select_notifications(1, 1000)
    assert stored
    assert all(secret.encode() not in notification.state for notification in stored)


def test_an_expired_code_is_refused(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    sent = invite(runtime, sam, "grace@example.org")
    with pytest.raises(InvitationExpiredError):
        commands.accept_invitation(runtime.hub, sent.code, now=T0 + 7 * DAY)
    # Just inside its 7 days it still works.
    assert commands.accept_invitation(
        runtime.hub, sent.code, now=T0 + 7 * DAY - timedelta(seconds=1)
    )


def test_a_code_works_once(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    sent = invite(runtime, sam, "grace@example.org")
    commands.accept_invitation(runtime.hub, sent.code, now=T0)
    with pytest.raises(InvitationUsedError):
        commands.accept_invitation(runtime.hub, sent.code, now=T0)


def test_unknown_malformed_and_cancelled_codes_are_refused(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    sent = invite(runtime, sam, "grace@example.org")
    tenant, hex_id, _ = sent.code.split(".")
    for code in ("nonsense", f"{tenant}.{hex_id}.{'x' * 43}", f"beta.{hex_id}.{'x' * 43}"):
        with pytest.raises(InvitationNotFoundError):
            commands.accept_invitation(runtime.hub, code, now=T0)
    commands.cancel_invitation(runtime.hub, "acme", sam, sent.invitation_id, now=T0)
    with pytest.raises(InvitationCancelledError):
        commands.accept_invitation(runtime.hub, sent.code, now=T0)
    with pytest.raises(InvitationCancelledError):  # nothing left to cancel either
        commands.cancel_invitation(runtime.hub, "acme", sam, sent.invitation_id, now=T0)


def test_a_student_cannot_observe_themself(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    sent = invite(runtime, sam, "sam@example.org")
    with pytest.raises(SelfObservationError):
        commands.accept_invitation(runtime.hub, sent.code, now=T0, signed_in_as=sam)


def test_comments_need_a_live_link_the_right_and_a_sensible_length(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    grace = commands.accept_invitation(
        runtime.hub, invite(runtime, sam, "grace@example.org").code, now=T0
    ).observer_id
    quiet = commands.accept_invitation(
        runtime.hub, invite(runtime, sam, "quiet@example.org", can_comment=False).code, now=T0
    ).observer_id
    stranger = person(runtime.hub, "acme", "stranger")
    hub = runtime.hub

    def comment(observer: str, text: str) -> commands.LeftComment:
        return commands.leave_comment(hub, "acme", observer, sam, task_id="t1", text=text, now=T0)

    left = comment(grace, "  Wonderful work!  ")
    assert comment(grace, "x" * MAX_COMMENT_CHARS).comment_id != left.comment_id
    with pytest.raises(CommentTooLongError):
        comment(grace, "x" * (MAX_COMMENT_CHARS + 1))
    with pytest.raises(CommentEmptyError):
        comment(grace, " \n\t ")
    with pytest.raises(CommentNotAllowedError):
        comment(quiet, "Well done")
    with pytest.raises(ObserverNotLinkedError):
        comment(stranger, "Well done")
    commands.remove_observer(hub, "acme", sam, grace, now=T0)
    with pytest.raises(ObserverRemovedError):
        comment(grace, "Still here?")
    with pytest.raises(ObserverRemovedError):
        commands.remove_observer(hub, "acme", sam, grace, now=T0)
    circle = commands.circle(hub, "acme", sam)
    assert circle is not None
    assert [c["text"] for c in circle.comments] == ["Wonderful work!", "x" * MAX_COMMENT_CHARS]


def test_a_removed_observer_invited_again_is_linked_again(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    grace = commands.accept_invitation(
        runtime.hub, invite(runtime, sam, "grace@example.org").code, now=T0
    ).observer_id
    commands.remove_observer(runtime.hub, "acme", sam, grace, now=T0)
    again = commands.accept_invitation(
        runtime.hub,
        invite(runtime, sam, "grace@example.org", can_comment=False).code,
        now=T0,
        signed_in_as=grace,
    )
    assert (again.observer_id, again.new_account) == (grace, False)
    circle = commands.circle(runtime.hub, "acme", sam)
    assert circle is not None
    assert circle.links[grace] | {"linked_at": ""} == {
        "relationship": "grandparent",
        "can_view_evidence": True,
        "can_comment": False,
        "linked_at": "",
        "status": "active",
    }


def test_permissions_change_once(runtime: Runtime) -> None:
    sam = person(runtime.hub, "acme", "sam")
    grace = commands.accept_invitation(
        runtime.hub, invite(runtime, sam, "grace@example.org").code, now=T0
    ).observer_id
    change = commands.change_permissions
    first = change(runtime.hub, "acme", sam, grace, can_view_evidence=False, can_comment=False)
    again = change(runtime.hub, "acme", sam, grace, can_view_evidence=False, can_comment=False)
    assert (first.changed, again.changed) == (True, False)


def test_guardian_links_are_idempotent_and_stay_in_their_tenant(runtime: Runtime) -> None:
    hub = runtime.hub
    sam, mum = person(hub, "acme", "sam"), person(hub, "acme", "mum", role="parent")
    first = commands.link_guardian(hub, "acme", mum, sam, relationship="mother", source="oneroster")
    again = commands.link_guardian(hub, "acme", mum, sam, relationship="mother", source="admin")
    assert (first.changed, again.changed, first.aggregate_id) == (True, False, again.aggregate_id)
    assert commands.unlink_guardian(hub, "acme", mum, sam, source="admin").changed
    assert not commands.unlink_guardian(hub, "acme", mum, sam, source="admin").changed
    assert commands.link_guardian(hub, "acme", mum, sam, relationship="mother", source="x").changed

    other = person(hub, "beta", "sam")
    with pytest.raises(CrossTenantError):
        commands.link_guardian(hub, "acme", mum, other, relationship="mother", source="admin")
    with pytest.raises(CrossTenantError):
        commands.link_guardian(hub, "beta", mum, other, relationship="mother", source="admin")
    with pytest.raises(UnknownPersonError):
        commands.link_guardian(
            hub, "acme", mum, "acme.Learner." + "0" * 32, relationship="mother", source="admin"
        )
    for nobody in ("acme", "acme.Tenant." + "0" * 32):
        with pytest.raises(UnknownPersonError):
            commands.link_guardian(hub, "acme", nobody, sam, relationship="x", source="admin")
    with pytest.raises(SamePersonError):
        commands.link_guardian(hub, "acme", mum, mum, relationship="self", source="admin")


def test_rhythm_days_are_bounded_and_idempotent(runtime: Runtime) -> None:
    assert commands.set_rhythm_days(runtime.hub, "acme", 10).changed
    assert not commands.set_rhythm_days(runtime.hub, "acme", 10).changed
    for days in (0, 366):
        with pytest.raises(RhythmDaysError):
            commands.set_rhythm_days(runtime.hub, "acme", days)


def test_another_tenants_student_is_out_of_reach(runtime: Runtime) -> None:
    sam = person(runtime.hub, "beta", "sam")
    with pytest.raises(CrossTenantError):
        commands.invite_observer(
            runtime.hub, "acme", sam, email="g@example.org", name="G", relationship="x", now=T0
        )
    with pytest.raises(CrossTenantError):
        commands.leave_comment(
            runtime.hub, "acme", "acme.Account." + "0" * 32, sam, task_id="t", text="hi", now=T0
        )
