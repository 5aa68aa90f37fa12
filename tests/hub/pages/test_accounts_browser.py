"""Sign-in, the emailed link through the outbox page, and handing in evidence, in headless
Chromium: screenshots, labels and alerts, contrast, a phone's viewport, the real forms (a
browser's multipart upload, its empty file field) and what they lead to (the portfolio)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext

from connectors import evidence, outbox, progress
from connectors.domain import progress_id
from connectors.runner import Backoff
from hub.bootstrap import eventsourcing_env
from hub.quests import commands as quests
from infra.mail import FolderMailbox
from tests.connectors.world import Logs, running, wait_for
from tests.hub.family.people import person
from tests.hub.pages.browser import DESKTOP, PHONE, chromium, screenshot
from tests.hub.pages.site import ADMIN_TOKEN, Site, png
from tests.hub.pages.test_browser import check_accessible, signed_in

PASSWORD = "correct horse battery staple"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@dataclass(frozen=True)
class People:
    ana: str  # a student with a password
    ben: str  # a student enrolled in a native quest
    plant: str  # Ben's tasks
    harvest: str


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as made:
        yield made


@pytest.fixture(scope="module")
def env(site: Site, nats_url: str) -> dict[str, str]:
    return eventsourcing_env(site.runtime.settings, nats_url)


@pytest.fixture(scope="module")
def people(site: Site, http: httpx.Client) -> People:
    ana = person(site.runtime.hub, "acme", "ana")
    answer = http.put(
        "/api/v1/me/password", json={"password": PASSWORD}, headers=site.headers("acme", ana)
    )
    assert answer.status_code == 200, answer.text
    ben = person(site.runtime.hub, "acme", "ben")
    hub = site.runtime.hub
    details = {"title": "Grow a garden", "description": "", "pillar": "wellness", "order": 1}
    quest = quests.save_quest(hub, "acme", "garden", details).aggregate_id
    task = {"description": "", "pillar": "wellness", "xp": 80, "required": True}
    plant = quests.save_task(hub, "acme", quest, "plant", {**task, "title": "Plant", "order": 1})
    harvest = quests.save_task(
        hub, "acme", quest, "harvest", {**task, "title": "Harvest", "order": 2}
    )
    quests.enrol(hub, "acme", ben, quest)
    return People(ana, ben, plant.aggregate_id, harvest.aggregate_id)


def anonymous(browser: Browser, site: Site, viewport: dict[str, int] = DESKTOP) -> BrowserContext:
    return browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        base_url=site.url,
    )


@contextmanager
def outbox_running(env: dict[str, str]) -> Iterator[None]:
    """The outbox process application and its delivery loop, on the site's logs."""
    stop = threading.Event()
    loop = threading.Thread(
        target=outbox.run_deliveries,
        args=(env, stop),
        kwargs={"lease_ttl": 1.5, "backoff": Backoff(0.01, 0.1), "idle_s": 0.05},
        daemon=True,
    )
    with running(outbox.SPEC, env=env):
        loop.start()
        try:
            yield
        finally:
            stop.set()
            loop.join(timeout=30)


def test_signing_in_with_a_password(browser: Browser, site: Site, people: People) -> None:
    context = anonymous(browser, site)
    page = context.new_page()
    page.goto("/sign-in?tenant=acme")
    assert page.title() == "Sign in"
    check_accessible(page)
    screenshot(page, "sign-in")
    page.get_by_label("Email address").fill("ana@example.org")
    page.get_by_label("Password").fill("not my password")
    page.get_by_label("Password").press("Enter")  # the keyboard alone
    alert = page.get_by_role("alert")
    assert "The email address or the password is wrong" in alert.inner_text()
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Email address").input_value() == "ana@example.org"
    check_accessible(page)
    screenshot(page, "sign-in-refused")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    assert page.get_by_role("heading", name="Ana Example", level=1).is_visible()
    context.close()


def test_the_sign_in_pages_on_a_phone(browser: Browser, site: Site) -> None:
    context = anonymous(browser, site, PHONE)
    page = context.new_page()
    for path, name in (
        ("/sign-in?tenant=acme", "sign-in-phone"),
        ("/sign-in/reset?tenant=acme", "password-reset-phone"),
    ):
        page.goto(path)
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        check_accessible(page)
        screenshot(page, name)
    context.close()


def test_an_emailed_link_followed_from_the_outbox_page(
    browser: Browser, site: Site, people: People, env: dict[str, str]
) -> None:
    context = anonymous(browser, site)
    page = context.new_page()
    page.goto("/sign-in?tenant=acme")
    page.get_by_role("link", name="Email me a sign-in link instead").click()
    page.get_by_label("Email address").fill("ana@example.org")
    page.get_by_role("button", name="Send the email").click()
    assert page.get_by_role("status").inner_text().startswith("If the address has an account")

    mailbox = FolderMailbox(site.runtime.settings.data_dir / "outbox")
    with outbox_running(env):
        wait_for(lambda: mailbox.list("acme") or None, "the email in the outbox folder")
    page.goto("/admin/outbox?tenant=acme")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Show the outbox").click()
    assert page.get_by_role("heading", name="Your sign-in link").first.is_visible()
    check_accessible(page)
    screenshot(page, "outbox")

    page.get_by_role("link", name="/accounts/sign-in?token=").first.click()
    assert page.get_by_role("heading", name="Sign in with your link").is_visible()
    check_accessible(page)
    screenshot(page, "sign-in-link")
    page.get_by_role("button", name="Sign me in").click()
    page.wait_for_url("**/dashboard")
    assert page.get_by_role("heading", name="Ana Example", level=1).is_visible()
    page.go_back()  # the same link again: used
    page.get_by_role("button", name="Sign me in").click()
    assert page.get_by_role("alert").get_attribute("data-problem") == "link-used"
    context.close()


def test_handing_in_from_the_dashboard_shows_in_the_portfolio(
    browser: Browser, site: Site, people: People, env: dict[str, str]
) -> None:
    context = signed_in(browser, site, people.ben)
    page = context.new_page()
    page.goto("/dashboard")
    section = page.get_by_role("region", name="Hand in your work")
    assert section.get_by_role("heading", name="Plant").is_visible()
    check_accessible(page)
    screenshot(page, "dashboard-hand-in")

    page.get_by_role("button", name="Hand in “Harvest”").click()  # nothing filled in
    assert page.get_by_role("alert").get_attribute("data-problem") == "evidence-empty"
    assert page.get_by_label("What you did").get_attribute("aria-invalid") == "true"
    check_accessible(page)
    screenshot(page, "hand-in-refused")

    page.goto("/dashboard")
    form = page.get_by_role("form", name="Plant")  # named by its task's heading
    form.get_by_label("What you did").fill("Tomatoes, basil & <b>beans</b>")
    form.get_by_label("Files (optional)").set_input_files(
        {"name": "seedlings.png", "mimeType": "image/png", "buffer": png(6, 6, (20, 140, 60))}
    )
    form.get_by_role("button", name="Hand in “Plant”").click()
    page.wait_for_url("**/dashboard?saved=handed-in*")
    assert "Your work is handed in" in page.get_by_role("status").inner_text()

    harvest = page.get_by_role("form", name="Harvest")
    harvest.get_by_label("What you did").fill("Picked them.")  # its file field left empty
    harvest.get_by_role("button", name="Hand in “Harvest”").click()
    page.wait_for_url("**/dashboard?saved=handed-in*")

    logs = Logs(env)
    try:
        with running(evidence.SPEC, progress.SPEC, env=env):
            found = progress_id("acme", people.ben)
            logs.wait("progress", found, "both tasks completed", lambda p: len(p.completed) == 2)
    finally:
        logs.close()
    site.settle()
    page.goto("/portfolio")
    task = page.locator(".task", has_text="Plant")
    assert task.locator(".evidence-text").inner_text() == "Tomatoes, basil & <b>beans</b>"
    image = task.get_by_role("img", name="seedlings.png")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 6
    assert page.locator(".task", has_text="Picked them.").is_visible()
    screenshot(page, "portfolio-handed-in")
    context.close()
