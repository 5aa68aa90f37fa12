"""The pages in headless Chromium: a screenshot of each, landmarks, labels and contrast, a
phone's viewport, keyboard only, and evidence text with script shown as text, never run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from hub.family import commands
from tests.hub.family.people import person
from tests.hub.pages.browser import DESKTOP, LOWEST_CONTRAST_JS, PHONE, chromium, screenshot
from tests.hub.pages.site import Site, png

XSS = '<script>document.title="pwned"</script><img src=x onerror="alert(1)"> & <b>bold</b>'


@dataclass(frozen=True)
class People:
    zoe: str
    yan: str
    pat: str  # Zoe's parent


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as made:
        yield made


@pytest.fixture(scope="module")
def people(site: Site) -> People:
    zoe = site.world.learner("acme", "u-zoe", "Zoe", "Okafor")
    yan = site.world.learner("acme", "u-yan", "Yan", "Wu")
    quest = site.course(
        "acme",
        "c-robot",
        "Robotics",
        ("a-bot", "Build a robot science", 3),
        ("a-talk", "Present your robot communication", 1),
    )
    site.world.enrol(zoe, quest)
    site.complete(
        "acme", zoe, "a-bot", text=XSS, files=(("robot.png", "image/png", png(8, 8, (9, 90, 200))),)
    )
    site.complete("acme", zoe, "a-talk", text="Slides attached.", source="oneroster")
    pat = person(site.runtime.hub, "acme", "pat", role="parent")
    commands.link_guardian(site.runtime.hub, "acme", pat, zoe, relationship="father", source="sso")
    site.settle()
    return People(zoe, yan, pat)


def signed_in(
    browser: Browser,
    site: Site,
    someone: str,
    *,
    role: str = "student",
    viewport: dict[str, int] = DESKTOP,
) -> BrowserContext:
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        base_url=site.url,
    )
    cookie = site.cookie("acme", someone, role)
    context.add_cookies([{"name": "hub_session", "value": cookie, "url": site.url}])
    return context


@pytest.fixture
def zoe_page(browser: Browser, site: Site, people: People) -> Iterator[Page]:
    context = signed_in(browser, site, people.zoe)
    yield context.new_page()
    context.close()


def check_accessible(page: Page) -> None:
    """One of each landmark, a top heading, and text contrast at least 4.5:1 (WCAG AA)."""
    for role in ("banner", "main", "contentinfo"):
        assert page.get_by_role(role).count() == 1, role
    assert page.get_by_role("heading", level=1).count() == 1
    ratio, text = page.evaluate(LOWEST_CONTRAST_JS)
    assert ratio >= 4.5, f"contrast {ratio:.2f} for {text!r}"
    assert page.evaluate("document.documentElement.lang") == "en"


def test_the_dashboard(zoe_page: Page) -> None:
    zoe_page.goto("/dashboard")
    assert zoe_page.title() == "Zoe Okafor: dashboard"
    assert zoe_page.get_by_role("heading", name="Zoe Okafor").is_visible()
    assert zoe_page.get_by_label("Email").is_visible()  # the observers' invitation form
    assert zoe_page.get_by_role("navigation", name="Main").is_visible()
    assert zoe_page.get_by_label("Page address").is_visible()
    assert zoe_page.get_by_label("Who can see it").is_visible()
    check_accessible(zoe_page)
    screenshot(zoe_page, "dashboard")


def test_the_portfolio_with_evidence_as_text(zoe_page: Page) -> None:
    dialogs: list[str] = []
    zoe_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    zoe_page.goto("/portfolio")
    assert zoe_page.title() == "Zoe Okafor: portfolio"
    task = zoe_page.locator(".task", has_text="Build a robot science")
    assert task.locator(".evidence-text").inner_text() == XSS  # shown, as text
    assert zoe_page.locator("script").count() == 0
    assert zoe_page.locator("b", has_text="bold").count() == 0
    assert (
        zoe_page.locator(".task", has_text="Present your robot")
        .get_by_text("OneRoster class")
        .is_visible()
    )
    image = task.get_by_role("img", name="robot.png")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 8  # served, and shown
    assert dialogs == []
    check_accessible(zoe_page)
    screenshot(zoe_page, "portfolio")


def test_the_public_showcase_and_a_403_page(browser: Browser, site: Site, people: People) -> None:
    setter = signed_in(browser, site, people.zoe)
    answer = setter.request.put(
        f"{site.url}/api/v1/me/showcase",
        data={"slug": "zoe-robots", "visibility": "public"},
        headers={"Origin": site.url},
    )
    assert answer.ok, answer.text()
    setter.close()
    anonymous = browser.new_context(viewport=DESKTOP, base_url=site.url)  # type: ignore[arg-type]
    page = anonymous.new_page()
    page.goto("/t/acme/portfolio/zoe-robots")
    assert page.get_by_role("heading", name="Zoe Okafor's portfolio").is_visible()
    check_accessible(page)
    screenshot(page, "showcase")
    refused = page.goto(f"/learners/{people.zoe}/portfolio")
    assert refused is not None
    assert refused.status == 401
    yan = signed_in(browser, site, people.yan).new_page()
    refused = yan.goto(f"/learners/{people.zoe}/portfolio")
    assert refused is not None
    assert refused.status == 403
    alert = yan.get_by_role("alert")
    assert (
        alert.inner_text()
        == "only the learner, their linked parents and their observers can see this"
    )
    assert alert.get_attribute("data-problem") == "not-linked"
    check_accessible(yan)
    screenshot(yan, "forbidden")
    yan.context.close()
    anonymous.close()


def test_on_a_phone_nothing_scrolls_sideways(browser: Browser, site: Site, people: People) -> None:
    context = signed_in(browser, site, people.zoe, viewport=PHONE)
    page = context.new_page()
    for path, name in (("/dashboard", "dashboard-phone"), ("/portfolio", "portfolio-phone")):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert page.evaluate("window.innerWidth") == PHONE["width"]
        screenshot(page, name)
    context.close()


def test_the_dashboard_works_from_the_keyboard_alone(zoe_page: Page) -> None:
    zoe_page.goto("/dashboard")
    zoe_page.keyboard.press("Tab")
    assert zoe_page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert zoe_page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    zoe_page.keyboard.press("Enter")
    assert zoe_page.evaluate("location.hash") == "#main"
    for _ in range(30):  # on through the page to the form
        zoe_page.keyboard.press("Tab")
        if zoe_page.evaluate("document.activeElement.id") == "slug":
            break
    assert zoe_page.evaluate("document.activeElement.id") == "slug"
    zoe_page.keyboard.press("Control+A")
    zoe_page.keyboard.type("zoe-keys")
    zoe_page.keyboard.press("Tab")
    assert zoe_page.evaluate("document.activeElement.id") == "visibility"
    zoe_page.keyboard.type("Anyone")
    zoe_page.keyboard.press("Tab")
    assert zoe_page.evaluate("document.activeElement.type") == "submit"
    zoe_page.keyboard.press("Enter")
    zoe_page.wait_for_url("**/dashboard?saved=showcase")
    assert zoe_page.get_by_role("status").inner_text() == "Your portfolio settings are saved."
    assert zoe_page.get_by_role("link", name="/t/acme/portfolio/zoe-keys").is_visible()
    assert zoe_page.locator("#visibility").input_value() == "public"


def test_the_parent_dashboard(browser: Browser, site: Site, people: People) -> None:
    context = signed_in(browser, site, people.pat, role="parent")
    page = context.new_page()
    page.goto("/parent")
    student = page.get_by_role("region", name="Zoe Okafor")
    assert student.get_by_text("Learning rhythm: yellow").is_visible()  # submitted long ago
    assert student.get_by_role("rowheader", name="Spark: Robotics").is_visible()
    check_accessible(page)
    screenshot(page, "parent")
    student.get_by_role("link", name="Portfolio").click()
    assert page.get_by_role("heading", name="Zoe Okafor's portfolio").is_visible()
    context.close()


def test_the_invitation_page_and_the_observer_dashboard(
    browser: Browser, site: Site, people: People
) -> None:
    sent = commands.invite_observer(
        site.runtime.hub,
        "acme",
        people.zoe,
        email="aunt@example.org",
        name="Aunt May",
        relationship="aunt",
        now=datetime.now(UTC),
    )
    context = browser.new_context(viewport=DESKTOP, base_url=site.url)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"/observer/accept/{sent.code}")
    assert page.get_by_role("heading", name="Zoe Okafor invites you").is_visible()
    check_accessible(page)
    screenshot(page, "invitation")
    page.get_by_label("Your name").fill("May Parker")
    page.get_by_role("button", name="Accept the invitation").click()
    page.wait_for_url("**/observer")
    site.settle()
    page.reload()
    student = page.get_by_role("region", name="Zoe Okafor")
    assert student.get_by_role("heading", name="Build a robot science").is_visible()
    comment = student.get_by_label("Encourage Zoe Okafor on “Build a robot science”")
    comment.fill("Great robot!")
    check_accessible(page)
    screenshot(page, "observer")
    comment.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/observer?commented=1")
    assert page.get_by_role("status").inner_text() == "Your comment was sent."
    context.close()
