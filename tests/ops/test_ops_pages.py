"""The operations pages in headless Chromium on a running hub (its projections running):
sign-in through the form, each page's labels, keyboard and phone viewport, a redrive that
re-arms a dead letter in the log, a rebuild whose progress reaches 100%."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import uuid4

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from connectors.course_sync import sync_tenant
from connectors.runner import UpstreamLog
from connectors.spark_api import SparkApiError, SparkClients
from hub.bootstrap import eventsourcing_env
from hub.domain.deliveries import DEAD, RETRYING, Delivery
from infra.secrets import SecretBox
from projections import projection_statuses
from projections.status import wait_for
from tests.connectors.spark_fake import FakeSpark, connect_spark, serve
from tests.hub.pages.browser import DESKTOP, PHONE, chromium, screenshot
from tests.hub.pages.conftest import http, site
from tests.hub.pages.site import ADMIN_TOKEN, Site
from tests.hub.pages.test_browser import check_accessible
from tests.ops.test_metrics import scrape, value

__all__ = ["http", "site"]
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
PAGES = [
    ("/admin/ops", "Hub operations"),
    ("/admin/ops/integrations", "Integrations"),
    ("/admin/ops/sync", "Sync jobs"),
    ("/admin/ops/dead-letters", "Dead letters"),
    ("/admin/ops/projections", "Projections"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as made:
        yield made


def signed_in(browser: Browser, site: Site, viewport: dict[str, int] = DESKTOP) -> BrowserContext:
    """A browser context signed in through the sign-in form, as an admin would."""
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        base_url=site.url,
    )
    page = context.new_page()
    page.goto("/admin/ops/integrations")
    assert page.url.endswith("/admin/sign-in?next=/admin/ops/integrations")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/ops/integrations")
    page.close()
    return context


@pytest.fixture(scope="module")
def admin(browser: Browser, site: Site) -> Iterator[Page]:
    context = signed_in(browser, site)
    yield context.new_page()
    context.close()


@dataclass(frozen=True)
class Kind:
    """Where a kind of delivery is recorded: its application's log, connector, target."""

    log: str
    connector: str
    target: str
    payload: dict[str, str]


EMAIL = Kind("outbox", "email", "mailto:sam@example.org", {})
WEBHOOK = Kind(
    "webhooks", "webhooks", "https://hooks.example.org/in", {"subscription_id": "sub-ops-1"}
)


def dead_letter(
    site: Site, tenant: str, error: str = "mailbox unavailable", kind: Kind = EMAIL
) -> tuple[str, int]:
    """A dead-lettered delivery (an email by default) in its log, seen by the health read
    model: (its id, the log position)."""
    env = eventsourcing_env(site.runtime.settings, site.runtime.nats_url)
    log = UpstreamLog(kind.log, env)
    try:
        delivery = Delivery(
            tenant=tenant,
            connector=kind.connector,
            key=uuid4().hex,
            target=kind.target,
            payload=kind.payload,
            caused_by="test",
        )
        delivery.record_attempt(DEAD, 550, error, None)
        recordings = log.save(delivery)
    finally:
        log.close()
    position = recordings[-1].notification.id
    wait_for(site.engine, "integration_health", position, timeout=20, upstream=kind.log)
    return delivery.id, position


def status_in_log(site: Site, delivery_id: str, kind: Kind = EMAIL) -> str:
    env = eventsourcing_env(site.runtime.settings, site.runtime.nats_url)
    log = UpstreamLog(kind.log, env)
    try:
        delivery: Delivery = log.repository.get(delivery_id)
        return delivery.status
    finally:
        log.close()


def goto_fresh(page: Page, path: str, wanted: Locator, tries: int = 50) -> None:
    """Open `path` until `wanted` is on it: the pages' figures may be a second old."""
    for _ in range(tries):
        page.goto(path)
        if wanted.count() > 0:
            return
        time.sleep(0.2)
    pytest.fail(f"{path} never showed {wanted}")


def tab_to(page: Page, name: str, limit: int = 80) -> None:
    """Press Tab until the control named `name` has the focus (fails if never)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.getAttribute('aria-label') || e.textContent || '').trim() : ''; }"
        )
        if focused == name:
            return
    pytest.fail(f"{name!r} is not reachable with the keyboard")


@pytest.mark.parametrize(("path", "_"), PAGES)
def test_each_page_sends_a_browser_without_a_session_to_sign_in(
    http: httpx.Client, path: str, _: str
) -> None:
    answer = http.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/sign-in?next={path}"


@pytest.mark.parametrize(("path", "heading"), PAGES)
def test_each_page_on_a_desktop_and_a_phone(
    browser: Browser, admin: Page, site: Site, path: str, heading: str
) -> None:
    admin.goto(path)
    assert admin.get_by_role("heading", level=1, name=heading).is_visible()
    assert admin.get_by_role("navigation", name="Operations").is_visible()
    check_accessible(admin)
    name = path.strip("/").replace("/", "-")
    screenshot(admin, name)
    phone = signed_in(browser, site, PHONE)
    try:
        page = phone.new_page()
        page.goto(path)
        assert page.get_by_role("heading", level=1, name=heading).is_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        check_accessible(page)
        screenshot(page, f"{name}-phone")
    finally:
        phone.close()


def test_an_integrations_failures_show_on_its_row(admin: Page, site: Site) -> None:
    dead_letter(site, "acme", "mailbox unavailable")
    row = admin.locator("tr", has_text="Outbox email").filter(has_text="acme")
    goto_fresh(admin, "/admin/ops/integrations", row.filter(has_text="mailbox unavailable"))
    expect(row).to_contain_text("HTTP 550: mailbox unavailable")
    expect(row).to_contain_text("failing")
    assert admin.get_by_role("columnheader", name="Errors, last hour").is_visible()


def test_the_redrive_button_re_arms_a_dead_letter(admin: Page, site: Site) -> None:
    delivery_id, _ = dead_letter(site, "beta", "550 no such mailbox")
    assert status_in_log(site, delivery_id) == DEAD
    button = admin.get_by_role("button", name=f"Redrive delivery {delivery_id}")
    goto_fresh(admin, "/admin/ops/dead-letters", button)
    row = admin.locator("tr").filter(has=button)
    expect(row).to_contain_text("HTTP 550: 550 no such mailbox")
    expect(row).to_contain_text("beta")
    tab_to(admin, f"Redrive delivery {delivery_id}")
    admin.keyboard.press("Enter")
    admin.wait_for_url(re.compile(r".*/admin/ops/dead-letters\?redriven=1$"))
    expect(admin.get_by_role("status")).to_contain_text("1 delivery re-armed")
    assert status_in_log(site, delivery_id) == RETRYING


def test_the_redrive_of_a_connector_re_arms_its_dead_letters(admin: Page, site: Site) -> None:
    ids = [dead_letter(site, "acme")[0] for _ in range(2)]
    last = admin.get_by_role("button", name=f"Redrive delivery {ids[-1]}")
    goto_fresh(admin, "/admin/ops/dead-letters", last)
    admin.get_by_role("button", name="Redrive every email dead letter").click()
    admin.wait_for_url(re.compile(r".*redriven=\d+$"))
    assert [status_in_log(site, the_id) for the_id in ids] == [RETRYING, RETRYING]


def test_a_webhook_subscriptions_failure_and_dead_letter_show_and_are_redriven(
    admin: Page, site: Site
) -> None:
    delivery_id, _ = dead_letter(site, "gamma", "subscriber gone", WEBHOOK)
    row = admin.locator("tr", has_text="Webhook subscription").filter(has_text="gamma")
    goto_fresh(admin, "/admin/ops/integrations", row.filter(has_text="subscriber gone"))
    expect(row).to_contain_text("sub-ops-1")
    expect(row).to_contain_text("HTTP 550: subscriber gone")
    button = admin.get_by_role("button", name=f"Redrive delivery {delivery_id}")
    goto_fresh(admin, "/admin/ops/dead-letters", button)
    expect(admin.locator("tr").filter(has=button)).to_contain_text("webhookssub-ops-1")
    expect(admin.get_by_role("button", name="Redrive every webhooks dead letter")).to_be_visible()
    button.click()
    admin.wait_for_url(re.compile(r".*/admin/ops/dead-letters\?redriven=1$"))
    assert status_in_log(site, delivery_id, WEBHOOK) == RETRYING


def test_a_spark_course_sync_failing_for_one_course_shows_on_the_sync_page(
    admin: Page, site: Site
) -> None:
    fake = FakeSpark()
    fake.add_course("c-bio", "Biology", [{"id": "a-1", "title": "Essay"}])
    fake.add_course("c-civ", "Civics", [])
    del fake.assignments["c-civ"]  # its assignments answer 404
    box = SecretBox.from_text("ops page tests")
    with serve(fake) as spark_url:
        connect_spark(site.runtime.hub, box, "delta", spark_url)
        with pytest.raises(SparkApiError):
            sync_tenant(site.runtime.hub, SparkClients(box), "delta")
    row = admin.locator("tr", has_text="spark courses").filter(has_text="delta")
    goto_fresh(admin, "/admin/ops/sync", row)
    expect(row).to_contain_text("failed")
    expect(row).to_contain_text("/api/courses/c-civ/assignments")
    expect(row).to_contain_text("courses")


def test_a_redrive_without_the_csrf_token_is_refused(
    admin: Page, site: Site, http: httpx.Client
) -> None:
    delivery_id, _ = dead_letter(site, "acme")
    [cookie] = [c for c in admin.context.cookies() if c["name"] == "hub_admin"]
    answer = http.post(
        "/admin/ops/dead-letters/redrive",
        data={"connector": "email", "delivery_id": delivery_id, "csrf": "forged"},
        headers={"Cookie": f"hub_admin={cookie['value']}", "Accept": "text/html"},
    )
    assert answer.status_code == 403
    assert "csrf-refused" in answer.text
    assert status_in_log(site, delivery_id) == DEAD


def test_a_redrive_of_nothing_known_is_refused(admin: Page, http: httpx.Client) -> None:
    [cookie] = [c for c in admin.context.cookies() if c["name"] == "hub_admin"]
    headers = {"Cookie": f"hub_admin={cookie['value']}", "Accept": "text/html"}
    page = http.get("/admin/ops/projections", headers=headers)
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page.text)[0]
    for fields, status, slug in [
        ({"connector": "email", "delivery_id": "acme.Delivery.nope"}, 404, "no-such-delivery"),
        ({"connector": "email", "delivery_id": "acme:Delivery:nope"}, 422, "ops-form-invalid"),
        ({"connector": "carrier-pigeon"}, 422, "ops-form-invalid"),
        ({"connector": "email", "delivery_id": "<script>"}, 422, "ops-form-invalid"),
    ]:
        answer = http.post(
            "/admin/ops/dead-letters/redrive", data={**fields, "csrf": csrf}, headers=headers
        )
        assert (answer.status_code, slug in answer.text) == (status, True), answer.text


def test_the_rebuild_button_rebuilds_with_progress_to_100(admin: Page, site: Site) -> None:
    def live_version() -> int | None:
        [status] = [
            s
            for s in projection_statuses(site.runtime.hub, site.engine)
            if s.name == "event_counts"
        ]
        return status.live_version

    before = live_version()
    assert before is not None
    admin.goto("/admin/ops/projections")
    row = admin.locator("tr#event_counts")
    tab_to(admin, "Rebuild event_counts")
    admin.keyboard.press("Enter")
    admin.wait_for_url("**/admin/ops/projections#event_counts")
    expect(row.get_by_role("status")).to_have_text(
        f"100% · live version {before + 1}", timeout=60_000
    )
    assert row.locator("progress").evaluate("p => p.value") == 100
    assert live_version() == before + 1
    screenshot(admin, "admin-ops-projections-rebuilt")


def test_metrics_read_projection_lag_and_deliveries_at_scrape(
    site: Site, http: httpx.Client
) -> None:
    dead_letter(site, "acme")
    samples, _ = scrape(http)
    assert ("hub_projection_lag_events", (("projection", "event_counts"), ("upstream", "hub"))) in (
        samples
    )
    position = value(samples, "hub_projection_position", projection="event_counts", upstream="hub")
    assert position >= 1
    assert value(samples, "hub_deliveries", connector="email", status="dead-lettered") >= 1
