"""The outbox page over HTTP: the admin token in a form, the tenant's emails delivered to
the embedded folder listed, links to the hub followable; wrong token or tenant refused."""

from __future__ import annotations

import re

from connectors import outbox
from connectors.runner import UpstreamLog
from hub.domain.deliveries import DELIVERED
from hub.pages.outbox_page import parts
from tests.accounts.conftest import World
from tests.accounts.test_outbox import ask_link, delivering, status
from tests.accounts.test_sign_in_pages import HTML, post, shown_error
from tests.connectors.world import wait_for
from tests.hub.http.conftest import ADMIN_TOKEN


def test_the_outbox_page_lists_the_tenants_emails_with_their_links(
    world: World,
) -> None:
    tenant, other = world.tenant(), world.tenant()
    world.learner(tenant, "sam")
    deliveries = UpstreamLog(outbox.NAME, world.env)
    try:
        with delivering(world):
            message = ask_link(world, tenant, "sam@example.org")
            wait_for(lambda: status(deliveries, tenant, message) == DELIVERED, "the delivery")
    finally:
        deliveries.close()
    token = world.token_in_last_mail(tenant)

    form = world.http.get("/admin/outbox", params={"tenant": tenant}, headers=HTML)
    assert form.status_code == 200
    assert 'type="password" id="token" name="token"' in form.text

    listed = post(world, "/admin/outbox", {"tenant": tenant, "token": ADMIN_TOKEN})
    assert listed.status_code == 200, listed.text
    assert "Your sign-in link" in listed.text
    assert "To sam@example.org · sign-in-link" in listed.text
    [href] = re.findall(r'<a href="(/accounts/sign-in\?token=[^"]+)"', listed.text)
    assert href.endswith(token)
    assert ADMIN_TOKEN not in listed.text
    followed = world.http.get(href.replace("&amp;", "&"), headers=HTML)
    assert (followed.status_code, 'action="/accounts/sign-in"' in followed.text) == (200, True)

    empty = post(world, "/admin/outbox", {"tenant": other, "token": ADMIN_TOKEN})
    assert "No emails for" in empty.text
    assert token not in empty.text


def test_the_outbox_page_needs_the_admin_token_and_a_known_tenant(world: World) -> None:
    tenant = world.tenant()
    world.learner(tenant, "sam")
    ask_link(world, tenant, "sam@example.org")
    wrong = shown_error(
        post(world, "/admin/outbox", {"tenant": tenant, "token": "guess"}), 401, "unauthorized"
    )
    assert "sam@example.org" not in wrong
    unknown = post(world, "/admin/outbox", {"tenant": "no-such-tenant", "token": ADMIN_TOKEN})
    shown_error(unknown, 404, "not-found")
    bad = post(world, "/admin/outbox", {"tenant": "Not A Slug", "token": ADMIN_TOKEN})
    shown_error(bad, 422, "form-invalid")


def test_only_links_to_this_hub_become_links_relative_to_the_page() -> None:
    body = (
        "Accept here:\n\nhttps://hub.example/observer/accept/abc?x=1\n\n"
        "Not ours: https://evil.example/observer/accept/abc and https://hub.example.evil/x\n"
    )
    found = parts(body, "https://hub.example")
    assert [p.href for p in found if p.href] == ["/observer/accept/abc?x=1"]
    assert "".join(p.text for p in found) == body  # nothing lost, nothing added
