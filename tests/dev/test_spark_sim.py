"""The Spark simulator as a real server: its API, file URLs, the grades receiver and control."""

from __future__ import annotations

import time
import types
from collections.abc import Iterator

import httpx
import pytest

import hub.dev
from hub.dev import SimulatorError, SparkSimulator, demo_catalogue
from hub.domain.rules import Pillar, calculate_xp, detect_pillar
from infra.sniff import matches
from schemas.spark import SparkAssignmentList, SparkCourseList

GRADE = {
    "spark_user_id": "user_123",
    "spark_assignment_id": "assignment_bio_lab",
    "score": 95.5,
    "max_score": 100,
    "completed_at": "2025-01-15T14:30:00Z",
}


@pytest.fixture
def spark() -> Iterator[SparkSimulator]:
    with SparkSimulator(api_key="spark-test-key") as simulator:
        yield simulator


@pytest.fixture
def client(spark: SparkSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=spark.url, timeout=10) as http:
        yield http


def bearer(spark: SparkSimulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {spark.api_key}"}


def test_serves_on_a_free_loopback_port_until_stopped() -> None:
    simulator = SparkSimulator().start()
    try:
        assert simulator.url.startswith("http://127.0.0.1:")
        assert simulator.api_key.startswith("spark_sim_")
        assert httpx.get(simulator.url, timeout=10).json()["simulator"] == "spark"
    finally:
        simulator.stop()
    with pytest.raises(SimulatorError, match="not started"):
        _ = simulator.url


def test_a_taken_port_is_a_clear_error(spark: SparkSimulator) -> None:
    with pytest.raises(SimulatorError, match="cannot listen"):
        SparkSimulator(port=spark.port).start()


def test_the_api_needs_the_bearer_api_key(spark: SparkSimulator, client: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": spark.api_key}):
        response = client.get("/api/courses", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/courses/course_bio/assignments").status_code == 401


def test_courses_and_assignments_have_the_seed_shapes(
    spark: SparkSimulator, client: httpx.Client
) -> None:
    courses = SparkCourseList.model_validate_json(
        client.get("/api/courses", headers=bearer(spark)).content
    ).courses
    assert [c.id for c in courses] == [c["id"] for c in demo_catalogue()]
    for course in courses:
        answer = client.get(f"/api/courses/{course.id}/assignments", headers=bearer(spark))
        listed = SparkAssignmentList.model_validate_json(answer.content)
        assert listed.course_id == course.id
        assert [a.id for a in listed.assignments] == course.assignments

    missing = client.get("/api/courses/nope/assignments", headers=bearer(spark))
    assert missing.status_code == 404
    assert "nope" in missing.json()["error"]


def test_the_demo_courses_exercise_every_pillar_and_the_xp_range() -> None:
    assignments = [a for course in demo_catalogue() for a in course["assignments"]]
    pillars = {detect_pillar(a["title"], a["assignment_type"]) for a in assignments}
    assert pillars == set(Pillar)
    xp = {calculate_xp(a["estimated_hours"]) for a in assignments}
    assert min(xp) == 50
    assert max(xp) == 500


def test_the_api_keeps_sparks_rate_limit() -> None:
    with SparkSimulator(api_rate_limit=3) as spark, httpx.Client(timeout=10) as client:
        answers = [client.get(f"{spark.url}/api/courses", headers=bearer(spark)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert spark.state.api_calls == 4


def test_the_catalogue_can_be_replaced(spark: SparkSimulator, client: httpx.Client) -> None:
    course = {"id": "c1", "title": "Chemistry", "assignments": [{"id": "a1", "title": "Lab"}]}
    assert client.put("/_control/courses", json={"courses": [course]}).status_code == 200
    listed = client.get("/api/courses", headers=bearer(spark)).json()["courses"]
    assert listed == [{"id": "c1", "title": "Chemistry", "assignments": ["a1"]}]
    assert client.put("/_control/courses", json={"nope": 1}).status_code == 422


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("essay.pdf", "application/pdf"), ("diagram.png", "image/png"), ("photo.jpg", "image/jpeg")],
)
def test_files_have_their_content_type_and_matching_bytes(
    spark: SparkSimulator, name: str, content_type: str
) -> None:
    response = httpx.get(spark.file_url(name), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert matches(content_type, response.content)
    assert name in response.headers["Content-Disposition"]


def test_a_file_can_lie_about_its_type(spark: SparkSimulator) -> None:
    response = httpx.get(spark.file_url("wrong-type.pdf"), timeout=10)
    assert response.headers["Content-Type"] == "application/pdf"
    assert not matches("application/pdf", response.content)
    assert matches("image/png", response.content)


@pytest.mark.parametrize(("name", "has_length"), [("huge.pdf", True), ("huge-chunked.pdf", False)])
def test_huge_files_stream(spark: SparkSimulator, name: str, has_length: bool) -> None:
    with httpx.Client(timeout=10) as client, client.stream("GET", spark.file_url(name)) as answer:
        assert answer.status_code == 200
        assert ("Content-Length" in answer.headers) is has_length
        received = 0
        for chunk in answer.iter_bytes():
            received += len(chunk)
    assert received == 32 * 1024 * 1024


def test_file_urls_expire(spark: SparkSimulator, client: httpx.Client) -> None:
    assert client.get(spark.file_url("essay.pdf", ttl_s=-1)).status_code == 403
    assert client.get("/files/essay.pdf").status_code == 403
    assert client.get(spark.file_url("nope.pdf")).status_code == 404
    assert [(d.name, d.status) for d in spark.downloads()] == [
        ("essay.pdf", 403),
        ("essay.pdf", 403),
        ("nope.pdf", 404),
    ]


def test_files_can_fail_then_recover_and_be_added(
    spark: SparkSimulator, client: httpx.Client
) -> None:
    url = spark.add_file("mine.txt", b"hello", "text/plain")
    assert client.post("/_control/files", json={"fail_with": 503, "times": 2}).json() == {
        "faults_left": 2
    }
    assert [client.get(url).status_code for _ in range(3)] == [503, 503, 200]
    added = client.put(
        "/_control/files/other.png", content=b"\x89PNG", headers={"Content-Type": "image/png"}
    )
    assert added.status_code == 201
    assert client.get(spark.file_url("other.png")).content == b"\x89PNG"
    assert "mine.txt" in client.get("/_control/files").json()["files"]


def test_grades_fail_n_times_then_arrive_once(spark: SparkSimulator, client: httpx.Client) -> None:
    assert client.post("/_control/grades", json={"fail_with": 503, "times": 5}).status_code == 200
    headers = {**bearer(spark), "Idempotency-Key": "grade-1"}
    statuses = [client.post("/grades", json=GRADE, headers=headers).status_code for _ in range(7)]
    assert statuses == [503] * 5 + [200, 200]

    arrived = client.get("/_control/grades").json()
    assert [r["status"] for r in arrived["requests"]] == statuses
    assert all(r["idempotency_key"] == "grade-1" for r in arrived["requests"])
    [delivered] = arrived["delivered"]
    assert delivered["body"] == GRADE
    assert [g.duplicate for g in spark.grades()][-2:] == [False, True]
    assert len(spark.delivered_grades()) == 1

    assert client.delete("/_control/grades").status_code == 204
    assert client.get("/_control/grades").json()["requests"] == []


def test_grades_429_says_when_to_retry(spark: SparkSimulator, client: httpx.Client) -> None:
    client.post("/_control/grades", json={"fail_with": 429, "retry_after": 1})
    throttled = client.post("/grades", json=GRADE, headers=bearer(spark))
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert client.post("/grades", json=GRADE, headers=bearer(spark)).status_code == 200


def test_grades_need_the_api_key_and_a_valid_body(
    spark: SparkSimulator, client: httpx.Client
) -> None:
    assert client.post("/grades", json=GRADE).status_code == 401
    assert client.post("/grades", json={"score": 1}, headers=bearer(spark)).status_code == 422
    assert [(g.status, g.authorized, g.delivered) for g in spark.grades()] == [
        (401, False, False),
        (422, True, False),
    ]


def test_a_slow_grade_makes_the_client_time_out(spark: SparkSimulator) -> None:
    spark.fail_grades(None, delay_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{spark.url}/grades", json=GRADE, headers=bearer(spark), timeout=0.05)
    deadline = time.monotonic() + 10
    while not spark.grades() and time.monotonic() < deadline:
        time.sleep(0.05)
    # Answered after the client gave up: Spark recorded it, the hub does not know.
    assert [g.status for g in spark.grades()] == [200]


def test_public_api_is_what_all_lists() -> None:
    public = {
        name
        for name, value in vars(hub.dev).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public.discard("annotations")
    assert set(hub.dev.__all__) == public
    assert hub.dev.__all__ == sorted(hub.dev.__all__)
