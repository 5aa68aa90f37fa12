"""The portfolio pages over HTTP: tasks by course with their source, evidence escaped and
served to those allowed, the showcase and its visibility, and nothing across tenants."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import httpx
import pytest

from hub.pages.web import when
from tests.hub.pages.site import Site, png

XSS = '<script>document.title="pwned"</script><img src=x onerror="alert(1)">'


@dataclass(frozen=True)
class Cast:
    """Learners of acme and beta; Sam has a Spark and an LTI completion with files."""

    sam: str
    ana: str
    bea: str
    image: str
    page: str


@pytest.fixture(scope="module")
def cast(site: Site) -> Cast:
    sam = site.world.learner("acme", "u-sam", "Sam", "Rivera")
    ana = site.world.learner("acme", "u-ana", "Ana", "Lopez")
    bea = site.world.learner("beta", "u-bea", "Bea", "Stone")
    site.course("acme", "c-bio", "Minecraft Biology", ("a-biome", "Map a biome science", 2))
    site.course("acme", "c-art", "Digital Art", ("a-draw", "Draw a poster art", 1))
    site.world.enrol(sam, site.world.quest("acme", "c-bio", "Minecraft Biology"))
    image = png(4, 4, (200, 30, 30))
    files = (("biome.png", "image/png", image), ("notes.html", "text/html", b"<b>x</b>"))
    site.complete("acme", sam, "a-biome", text=XSS, files=files)
    site.complete("acme", sam, "a-draw", text="My poster", source="lti")
    site.settle()
    return Cast(
        sam, ana, bea, hashlib.sha256(image).hexdigest(), hashlib.sha256(b"<b>x</b>").hexdigest()
    )


def test_the_learner_sees_tasks_by_course_with_source_and_evidence_text_escaped(
    site: Site, cast: Cast, http: httpx.Client
) -> None:
    page = http.get("/portfolio", headers=site.headers("acme", cast.sam))
    assert page.status_code == 200, page.text
    html = page.text
    # Grouped by course: each course's heading, then its task.
    art, bio = html.index("Spark: Digital Art</h2>"), html.index("Spark: Minecraft Biology</h2>")
    assert art < html.index("Draw a poster art") < bio < html.index("Map a biome science")
    assert ">Spark</span>" in html
    assert ">LTI</span>" in html
    assert XSS not in html
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in html
    assert f'src="/evidence/{cast.sam}/{cast.image}"' in html
    assert "notes.html" in html
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["x-content-type-options"] == "nosniff"


def test_an_evidence_file_is_served_with_its_type_to_the_learner(
    site: Site, cast: Cast, http: httpx.Client
) -> None:
    image = http.get(f"/evidence/{cast.sam}/{cast.image}", headers=site.headers("acme", cast.sam))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-disposition"].startswith('inline; filename="biome.png"')
    assert image.content.startswith(b"\x89PNG")
    html = http.get(f"/evidence/{cast.sam}/{cast.page}", headers=site.headers("acme", cast.sam))
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith('attachment; filename="notes.html"')
    assert "sandbox" in html.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("who", "status", "problem"),
    [
        ("nobody", 403, "forbidden"),
        ("ana", 403, "not-linked"),
        ("bea", 403, "other-tenant"),
        ("beta-session-for-sam", 403, "other-tenant"),
    ],
)
def test_evidence_is_refused_to_anyone_else_while_private(
    site: Site, cast: Cast, http: httpx.Client, who: str, status: int, problem: str
) -> None:
    headers = {
        "nobody": {},
        "ana": site.headers("acme", cast.ana),
        "bea": site.headers("beta", cast.bea),
        "beta-session-for-sam": site.headers("beta", cast.sam),
    }[who]
    response = http.get(f"/evidence/{cast.sam}/{cast.image}", headers=headers)
    assert response.status_code == status
    assert response.json()["type"] == f"https://hub.example/problems/{problem}"


def test_a_blob_that_is_not_the_learner_s_evidence_is_not_served(
    site: Site, cast: Cast, http: httpx.Client
) -> None:
    other = site.blobs.put(b"someone else's file", "text/plain").sha256
    for path in (f"/evidence/{cast.sam}/{other}", f"/evidence/{cast.sam}/not-a-hash"):
        response = http.get(path, headers=site.headers("acme", cast.sam))
        assert response.status_code == 404
        assert response.json()["type"] == "https://hub.example/problems/evidence-not-found"


def test_another_learner_s_portfolio_is_403_for_a_student_and_across_tenants(
    site: Site, cast: Cast, http: httpx.Client
) -> None:
    for headers, problem in (
        (site.headers("acme", cast.ana), "not-linked"),
        (site.headers("acme", cast.ana, "parent"), "not-linked"),
        (site.headers("acme", cast.ana, "observer"), "not-linked"),
        (site.headers("beta", cast.bea), "other-tenant"),
    ):
        response = http.get(f"/learners/{cast.sam}/portfolio", headers=headers)
        assert response.status_code == 403
        assert response.json()["type"] == f"https://hub.example/problems/{problem}"
    own = http.get(f"/learners/{cast.sam}/portfolio", headers=site.headers("acme", cast.sam))
    assert own.status_code == 200


def test_a_browser_gets_a_403_page_not_json(site: Site, cast: Cast, http: httpx.Client) -> None:
    headers = {**site.headers("acme", cast.ana), "Accept": "text/html,*/*;q=0.8"}
    page = http.get(f"/learners/{cast.sam}/portfolio", headers=headers)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-problem="not-linked"' in page.text
    assert "<h1>You are not linked to this learner</h1>" in page.text


def test_without_a_session_the_own_portfolio_is_401(http: httpx.Client) -> None:
    response = http.get("/portfolio")
    assert response.status_code == 401
    assert response.json()["type"] == "https://hub.example/problems/session-required"


def test_the_stylesheet_is_served_by_the_hub(http: httpx.Client) -> None:
    css = http.get("/static/hub.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (f"/evidence/NOT A TENANT.Learner.x/{'a' * 64}", "evidence-not-found"),
        ("/t/NOT-A-TENANT/portfolio/some-slug", "portfolio-not-found"),
        (f"/t/acme/portfolio/{'x' * 300}", "portfolio-not-found"),
        ("/observer/accept/NOT.A.CODE", "invitation-not-found"),
        ("/observer/accept/UPPER.ObserverCircle.code", "invitation-not-found"),
    ],
)
def test_ids_that_cannot_exist_are_404_not_500(http: httpx.Client, path: str, problem: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.json()["type"] == f"https://hub.example/problems/{problem}"


def test_instants_are_shown_as_people_read_them() -> None:
    assert when("2025-01-15T14:30:00Z") == "2025-01-15 14:30 UTC"
    assert when("2025-01-15T16:30:00+02:00") == "2025-01-15 14:30 UTC"
    assert when("soon") == "soon"
    assert when(None) == ""
