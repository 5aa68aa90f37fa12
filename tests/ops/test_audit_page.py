"""The audit log page in headless Chromium: signed in through the form, every verdict in the
table, filters (a GET form) that find each one, the next-page link, a wrong filter explained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.hub.http.conftest import ADMIN_TOKEN
from tests.hub.pages.browser import DESKTOP, PHONE, chromium, screenshot
from tests.hub.pages.test_browser import check_accessible
from tests.projections.audit_world import TENANT, AuditWorld, Verdicts, audit_world

PATH = "/admin/ops/audit"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
Row = tuple[str, str, str]
"""(verdict, source, reason) as the table shows them"""
ADMIN: Row = ("admin", "http:admin", "")
ACCEPTED: Row = ("accepted", "spark", "hmac-sha256")
SPARK_REJECTED: Row = ("rejected", "spark:submission", "signature_mismatch")
LTI_REJECTED: Row = ("rejected", "lti_ags", "token_missing")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as made:
        yield made


@pytest.fixture
def world(nats_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[AuditWorld]:
    url = f"sqlite:///{tmp_path / 'read.sqlite3'}"
    with audit_world(nats_url, stream_prefix, url, tmp_path) as made:
        yield made


@pytest.fixture
def sent(world: AuditWorld) -> Verdicts:
    verdicts = world.send_verdicts()
    world.project(verdicts)
    return verdicts


def signed_in(browser: Browser, world: AuditWorld, viewport: dict[str, int]) -> BrowserContext:
    """A browser context signed in through the sign-in form, landing on the audit page."""
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        base_url=str(world.client.base_url),
    )
    page = context.new_page()
    page.goto(PATH)
    assert page.url.endswith(f"/admin/sign-in?next={PATH}")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{PATH}")
    page.close()
    return context


@pytest.fixture
def admin(browser: Browser, world: AuditWorld) -> Iterator[Page]:
    context = signed_in(browser, world, DESKTOP)
    yield context.new_page()
    context.close()


def rows(page: Page) -> list[Row]:
    cells = page.locator("table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return [(cells[1], cells[3], cells[4]) for cells in cells]


def search(page: Page, **fields: str) -> None:
    labels = {
        "tenant": "Tenant",
        "source": "Source",
        "reason": "Reason",
        "since": "Since (UTC)",
        "until": "Until (UTC)",
        "limit": "Per page",
    }
    page.goto(PATH)
    for name, value in fields.items():
        if name == "verdict":
            page.get_by_label("Verdict").select_option(value)
        else:
            page.get_by_label(labels[name]).fill(value)
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()


def test_without_a_session_the_page_sends_to_sign_in(world: AuditWorld) -> None:
    answer = world.client.get(PATH, headers={"Accept": "text/html"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/sign-in?next={PATH}"


def test_every_verdict_on_a_desktop_and_a_phone(
    browser: Browser, admin: Page, world: AuditWorld, sent: Verdicts
) -> None:
    admin.goto(PATH)
    assert admin.get_by_role("heading", level=1, name="Audit log").is_visible()
    link = admin.get_by_role("navigation", name="Operations").get_by_role("link", name="Audit log")
    assert link.get_attribute("aria-current") == "page"
    assert rows(admin) == [LTI_REJECTED, SPARK_REJECTED, ACCEPTED, ADMIN]
    assert admin.get_by_role("link", name="Next page").count() == 0
    table = admin.locator("table tbody")
    assert table.get_by_text("X-Spark-Signature does not match the body").is_visible()
    assert table.get_by_text(f"events #{sent.admin_position}").is_visible()
    check_accessible(admin)
    screenshot(admin, "admin-ops-audit")
    phone = signed_in(browser, world, PHONE)
    try:
        page = phone.new_page()
        page.goto(PATH)
        assert rows(page) == [LTI_REJECTED, SPARK_REJECTED, ACCEPTED, ADMIN]
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        check_accessible(page)
        screenshot(page, "admin-ops-audit-phone")
    finally:
        phone.close()


def test_the_filters_find_each_verdict(admin: Page, sent: Verdicts) -> None:
    search(admin, source="spark", verdict="rejected")
    assert "source=spark" in admin.url
    assert "verdict=rejected" in admin.url
    assert rows(admin) == [SPARK_REJECTED]
    assert admin.get_by_label("Source").input_value() == "spark"  # the form keeps its filters
    search(admin, reason="token_missing", tenant=TENANT)
    assert rows(admin) == [LTI_REJECTED]
    search(admin, verdict="admin")
    assert rows(admin) == [ADMIN]
    search(admin, source="spark")
    assert rows(admin) == [SPARK_REJECTED, ACCEPTED]
    # A time without a zone is UTC, as the labels say.
    midway = sent.midway.replace(tzinfo=None).isoformat()
    search(admin, since=midway)
    assert rows(admin) == [LTI_REJECTED, SPARK_REJECTED]
    search(admin, until=midway)
    assert rows(admin) == [ACCEPTED, ADMIN]
    search(admin, tenant="beta")
    assert rows(admin) == []
    assert admin.get_by_text("Nothing matches these filters.").is_visible()


def test_the_next_page_link_walks_every_row_once(admin: Page, sent: Verdicts) -> None:
    search(admin, limit="1")
    seen = rows(admin)
    for _ in range(5):
        following = admin.get_by_role("link", name="Next page")
        if following.count() == 0:
            break
        following.click()
        admin.wait_for_load_state()
        assert "cursor=" in admin.url
        assert "limit=1" in admin.url
        seen += rows(admin)
    assert seen == [LTI_REJECTED, SPARK_REJECTED, ACCEPTED, ADMIN]
    admin.get_by_role("link", name="First page").click()
    admin.wait_for_load_state()
    assert rows(admin) == [LTI_REJECTED]


def test_a_wrong_filter_is_explained_not_searched(admin: Page) -> None:
    search(admin, limit="0", since="last tuesday")
    alert = admin.get_by_role("alert")
    assert alert.is_visible()
    text = alert.inner_text()
    assert "limit" in text
    assert "since" in text
    assert admin.locator("table").count() == 0
    assert admin.get_by_label("Since (UTC)").input_value() == "last tuesday"
    answer = admin.goto(f"{PATH}?verdict=maybe")
    assert answer is not None
    assert answer.status == 422
    assert "verdict" in admin.get_by_role("alert").inner_text()
