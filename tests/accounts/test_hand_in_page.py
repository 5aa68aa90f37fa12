"""Evidence from the dashboard over HTTP: a form per open native task; handing in runs the
API's completion (the same `Submission.Received`); a refused upload shows its form again
with its precise status and changes nothing; someone else's task is an error page."""

from __future__ import annotations

import re

import httpx

from hub.quests.uploads import MAX_FILE_BYTES
from tests.accounts.conftest import World
from tests.accounts.test_quests import enrol, make_quest, make_task, submissions
from tests.connectors.world import PNG

HTML = {"Accept": "text/html"}
BIG = PNG + bytes(MAX_FILE_BYTES)  # a real PNG's head, over the limit


def hand_in(
    world: World, learner: str, task: str, *, text: str = "", files: object = None
) -> httpx.Response:
    return world.http.post(
        f"/dashboard/tasks/{task}/complete",
        data={"text": text},
        files=files or {"files": ("", b"", "application/octet-stream")},  # an empty field
        headers={**HTML, **world.cookie(learner, "student")},
    )


def test_the_dashboard_has_a_form_per_open_task_and_handing_in_records_it(world: World) -> None:
    tenant = world.tenant()
    quest = make_quest(world, tenant)
    plant = make_task(world, quest, "plant", order=1, description="Plant <b>seeds</b>")
    harvest = make_task(world, quest, "harvest", order=2, required=False)
    sam = world.learner(tenant, "sam")
    enrol(world, sam, quest)

    page = world.http.get("/dashboard", headers={**HTML, **world.cookie(sam, "student")}).text
    actions = re.findall(r'action="/dashboard/tasks/([^"]+)/complete"', page)
    assert actions == [plant, harvest]  # in the quest's order
    assert 'enctype="multipart/form-data"' in page
    assert "Plant &lt;b&gt;seeds&lt;/b&gt;" in page
    [accept] = set(re.findall(r'type="file" [^>]*accept="([^"]+)"', page))
    assert {"application/pdf", "image/png"} <= set(accept.split(","))

    done = hand_in(
        world, sam, plant, text="Tomatoes!", files={"files": ("p.png", PNG, "image/png")}
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/dashboard?saved=handed-in")
    [received] = submissions(world, tenant)
    event = world.hub.mapper.to_domain_event(received)
    assert (event.source, event.learner_key, event.text) == ("hub", sam, "Tomatoes!")
    assert [f["filename"] for f in event.files] == ["p.png"]

    text_only = hand_in(world, sam, harvest, text="Picked them.")  # the empty file field
    assert text_only.status_code == 303
    assert len(submissions(world, tenant)) == 2
    notice = world.http.get(done.headers["location"], headers=world.cookie(sam, "student"))
    assert "Your work is handed in" in notice.text


def test_a_refused_upload_shows_the_form_again_and_keeps_nothing(world: World) -> None:
    tenant = world.tenant()
    quest = make_quest(world, tenant)
    task = make_task(world, quest, "plant")
    sam = world.learner(tenant, "sam")
    enrol(world, sam, quest)
    refusals = [
        (
            {"files": ("x.exe", b"MZ\x90\x00", "application/x-msdownload")},
            415,
            "evidence-type-refused",
        ),
        ({"files": ("fake.png", b"not a png", "image/png")}, 415, "evidence-type-refused"),
        (None, 422, "evidence-empty"),
        (
            {"files": ("big.png", PNG + bytes(MAX_FILE_BYTES), "image/png")},
            413,
            "evidence-too-large",
        ),
    ]
    for files, status, slug in refusals:
        answer = hand_in(world, sam, task, text="  ", files=files)
        assert answer.status_code == status, answer.text
        assert f'data-problem="{slug}"' in answer.text
        assert f'action="/dashboard/tasks/{task}/complete"' in answer.text  # the form again
        assert 'aria-invalid="true"' in answer.text  # the field it concerns is marked
    assert submissions(world, tenant) == []


def test_another_learners_or_tenants_task_is_refused(world: World) -> None:
    tenant, other = world.tenant(), world.tenant()
    quest = make_quest(world, tenant)
    task = make_task(world, quest, "plant")
    sam, zoe = world.learner(tenant, "sam"), world.learner(tenant, "zoe")
    enrol(world, sam, quest)
    ola = world.learner(other, "ola")
    png = {"files": ("p.png", PNG, "image/png")}

    not_hers = hand_in(world, zoe, task, text="mine now", files=png)
    assert (not_hers.status_code, 'data-problem="task-not-yours"' in not_hers.text) == (403, True)
    elsewhere = hand_in(world, ola, task, text="mine now", files=png)
    assert (elsewhere.status_code, 'data-problem="task-not-found"' in elsewhere.text) == (404, True)
    nobody = world.http.post(f"/dashboard/tasks/{task}/complete", data={"text": "x"}, headers=HTML)
    assert nobody.status_code == 401
    cross_site = world.http.post(
        f"/dashboard/tasks/{task}/complete",
        data={"text": "x"},
        headers={**HTML, **world.cookie(sam, "student"), "Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert submissions(world, tenant) == []
    assert submissions(world, other) == []
