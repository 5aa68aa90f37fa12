"""The showcase: the learner sets a slug and a visibility (events), and `/portfolio/<slug>`
shows the portfolio to whom the visibility allows, in its tenant only."""

from __future__ import annotations

import httpx
import pytest

from hub.domain.showcases import ShowcaseInvalidError, check_slug, showcase_id, showcase_slug_id
from tests.hub.pages.site import Site

PROBLEM = "https://hub.example/problems/"


@pytest.fixture(scope="module")
def learners(site: Site) -> dict[str, str]:
    made = {
        "kim": site.world.learner("acme", "u-kim", "Kim", "Park"),
        "lee": site.world.learner("acme", "u-lee", "Lee", "Chan"),
        "max": site.world.learner("beta", "u-max", "Max", "Berg"),
    }
    site.course("acme", "c-civ", "Civics", ("a-vote", "Run a class vote civics", 1))
    site.complete("acme", made["kim"], "a-vote", text="We voted")
    site.settle()
    return made


def put(http: httpx.Client, site: Site, tenant: str, who: str, **body: str) -> httpx.Response:
    return http.put("/api/v1/me/showcase", json=body, headers=site.headers(tenant, who))


def names(site: Site, aggregate_id: str) -> list[str]:
    events = site.runtime.hub.repository.event_store.get(aggregate_id)
    return [type(event).__qualname__ for event in events]


def test_setting_a_showcase_records_events_and_reads_back(
    site: Site, http: httpx.Client, learners: dict[str, str]
) -> None:
    kim = learners["kim"]
    before = http.get("/api/v1/me/showcase", headers=site.headers("acme", kim)).json()
    assert (before["slug"], before["visibility"], before["url"]) == ("", "private", None)
    made = put(http, site, "acme", kim, slug="kim-civics", visibility="public")
    assert made.status_code == 200, made.text
    assert made.json()["url"] == "/t/acme/portfolio/kim-civics"
    assert made.json()["changed"] is True
    again = put(http, site, "acme", kim, slug="kim-civics", visibility="public")
    assert again.json()["changed"] is False  # nothing recorded twice
    assert names(site, showcase_id("acme", kim)) == ["Showcase.Opened"]
    assert names(site, showcase_slug_id("acme", "kim-civics")) == ["ShowcaseSlug.Claimed"]


def test_the_public_page_shows_the_portfolio_to_anyone_of_the_tenant_only(
    site: Site, http: httpx.Client, learners: dict[str, str]
) -> None:
    put(http, site, "acme", learners["kim"], slug="kim-civics", visibility="public")
    for path in ("/t/acme/portfolio/kim-civics", "/portfolio/kim-civics?tenant=acme"):
        page = http.get(path)
        assert page.status_code == 200, page.text
        assert "Kim Park" in page.text
        assert "Run a class vote civics" in page.text
    elsewhere = http.get("/t/beta/portfolio/kim-civics")
    assert elsewhere.status_code == 404
    assert elsewhere.json()["type"] == PROBLEM + "portfolio-not-found"
    # Signed in to beta, the slug is looked up in beta.
    as_max = http.get("/portfolio/kim-civics", headers=site.headers("beta", learners["max"]))
    assert as_max.status_code == 404
    assert http.get("/portfolio/kim-civics").json()["type"] == PROBLEM + "tenant-required"


@pytest.mark.parametrize("visibility", ["private", "observers"])
def test_a_private_or_observers_only_page_is_403_to_others(
    site: Site, http: httpx.Client, learners: dict[str, str], visibility: str
) -> None:
    kim = learners["kim"]
    put(http, site, "acme", kim, slug="kim-civics", visibility=visibility)
    lee = site.headers("acme", learners["lee"])
    as_lee = "forbidden" if visibility == "private" else "not-linked"
    for headers, problem in (({}, "forbidden"), (lee, as_lee)):
        refused = http.get("/t/acme/portfolio/kim-civics", headers=headers)
        assert refused.status_code == 403
        assert refused.json()["type"] == PROBLEM + problem
    assert http.get("/t/acme/portfolio/kim-civics", headers=site.headers("acme", kim)).is_success
    put(http, site, "acme", kim, slug="kim-civics", visibility="public")
    assert names(site, showcase_id("acme", kim))[-1] == "Showcase.VisibilityChanged"
    # The slug keeps the visibility too (the public page reads only the slug).
    assert names(site, showcase_slug_id("acme", "kim-civics"))[-1] == (
        "ShowcaseSlug.VisibilityChanged"
    )


def test_a_slug_held_by_another_learner_is_409_and_a_released_one_is_free(
    site: Site, http: httpx.Client, learners: dict[str, str]
) -> None:
    kim, lee = learners["kim"], learners["lee"]
    put(http, site, "acme", kim, slug="kim-civics", visibility="public")
    taken = put(http, site, "acme", lee, slug="kim-civics", visibility="public")
    assert taken.status_code == 409
    assert taken.json()["type"] == PROBLEM + "slug-taken"
    # Another tenant has its own slugs.
    assert put(
        http, site, "beta", learners["max"], slug="kim-civics", visibility="public"
    ).is_success
    moved = put(http, site, "acme", kim, slug="kim-park", visibility="public")
    assert moved.is_success
    assert http.get("/t/acme/portfolio/kim-civics").status_code == 404
    assert http.get("/t/acme/portfolio/kim-park").status_code == 200
    assert put(http, site, "acme", lee, slug="kim-civics", visibility="public").is_success
    holders = names(site, showcase_slug_id("acme", "kim-civics"))
    assert [name for name in holders if not name.endswith("VisibilityChanged")] == [
        "ShowcaseSlug.Claimed",
        "ShowcaseSlug.Released",
        "ShowcaseSlug.Reclaimed",
    ]
    put(http, site, "acme", kim, slug="kim-civics", visibility="public")  # lee holds it
    assert http.get("/t/acme/portfolio/kim-civics").text.count("Lee Chan") >= 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"slug": "A B", "visibility": "public"}, "showcase-invalid"),
        ({"slug": "-ab", "visibility": "public"}, "showcase-invalid"),
        ({"slug": "abc", "visibility": "friends"}, "showcase-invalid"),
        ({"slug": "abc"}, "validation-failed"),
    ],
)
def test_bad_settings_are_422_and_record_nothing(
    site: Site, http: httpx.Client, learners: dict[str, str], body: dict[str, str], problem: str
) -> None:
    lee = learners["lee"]
    before = names(site, showcase_id("acme", lee))
    response = put(http, site, "acme", lee, **body)
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM + problem
    assert names(site, showcase_id("acme", lee)) == before


def test_settings_need_a_session_and_the_hub_s_own_origin(
    site: Site, http: httpx.Client, learners: dict[str, str]
) -> None:
    anonymous = http.put("/api/v1/me/showcase", json={"slug": "abc", "visibility": "public"})
    assert anonymous.status_code == 401
    headers = {**site.headers("acme", learners["lee"]), "Origin": "https://evil.example"}
    form = http.post(
        "/dashboard/showcase",
        content="slug=evil-one&visibility=public",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 403
    assert form.json()["type"] == PROBLEM + "cross-site-form"
    assert http.get("/t/acme/portfolio/evil-one").status_code == 404


def test_the_dashboard_form_saves_and_redirects(
    site: Site, http: httpx.Client, learners: dict[str, str]
) -> None:
    headers = {
        **site.headers("acme", learners["lee"]),
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": site.url,
    }
    saved = http.post(
        "/dashboard/showcase", content="slug=lee-chan&visibility=observers", headers=headers
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/dashboard?saved=showcase"
    state = http.get("/api/v1/me/showcase", headers=site.headers("acme", learners["lee"])).json()
    assert (state["slug"], state["visibility"]) == ("lee-chan", "observers")


@pytest.mark.parametrize("slug", ["ab", "a" * 41, "ab-", "a--b", "Ab1", "ab_c"])
def test_slugs_are_checked(slug: str) -> None:
    with pytest.raises(ShowcaseInvalidError):
        check_slug(slug)


def test_a_form_past_its_size_is_413(
    site: Site, http: httpx.Client, learners: dict[str, str]
) -> None:
    headers = {
        **site.headers("acme", learners["lee"]),
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": site.url,
    }
    form = "slug=lee-big&visibility=public&pad=" + "x" * 40_000
    response = http.post("/dashboard/showcase", content=form, headers=headers)
    assert response.status_code == 413
    assert response.json()["type"] == PROBLEM + "form-too-large"
