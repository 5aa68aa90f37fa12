"""`hub roster connectors add|run`, `hub lti tools update|links add|rate-limits|platforms add`,
`hub badges update`: the admin routes' code from the shell, its events recorded as `cli:admin`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from hub.domain.badges import badge_book_id
from hub.domain.lti_limits import rate_limits_id
from hub.domain.lti_platform import registration_id, resource_link_id
from hub.domain.lti_tool import registration_id as platform_registration_id
from hub.domain.quests import Quest
from hub.domain.roster import sis_connection_id
from tests.hub.cli_support import Opener, contexts, hub
from tests.hub.http.test_badges_admin import SCHOLAR
from tests.hub.test_partner_cli import CLI, write
from tests.lti.platform.world import tool_settings
from tests.roster.bundles import school, write_bundle

TOOL = tool_settings(client_id="quiz-1", jwks_url="https://quiz.example/jwks")


def printed(out: str) -> Any:
    """The JSON the command printed (the runner mixes in the log lines of stderr)."""
    return json.loads(out[out.index("{\n") :])


def acme(open_runtime: Opener) -> None:
    first = open_runtime()
    first.hub.register_tenant("acme", "Acme", first.box)


def test_roster_connectors_add_registers_a_scheduled_connection(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    acme(open_runtime)
    body = {
        "name": "district",
        "kind": "oneroster-rest",
        "config": {"base_url": "https://sis.example/ims/oneroster/rostering/v1p2"},
        "secret": "rest-client-secret-0123456789",
        "schedule": "0 2 * * *",
    }
    file = write(tmp_path, "connector.json", body)
    code, out = hub(cli_env, "roster", "connectors", "add", "acme", "--file", file)
    assert code == 0, out
    assert json.loads(out)["schedule"] == "0 2 * * *"
    assert body["secret"] not in out
    found = open_runtime().hub.repository.get(sis_connection_id("acme", "district"))
    assert (found.kind, found.schedule) == ("oneroster-rest", "0 2 * * *")
    assert {c[1:] for c in contexts(open_runtime(), found.id)} == {CLI}
    assert hub(cli_env, "roster", "connectors", "add", "acme", "--file", file)[0] == 1  # exists
    bad = write(tmp_path, "bad.json", body | {"name": "other", "schedule": "daily"})
    code, out = hub(cli_env, "roster", "connectors", "add", "acme", "--file", bad)
    assert (code, "five fields" in out) == (1, True)


def test_roster_connectors_run_dry_runs_then_runs_a_csv_folder(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    acme(open_runtime)
    folder = tmp_path / "drop"
    folder.mkdir()
    with zipfile.ZipFile(write_bundle(tmp_path / "b.zip", school())) as bundle:
        bundle.extractall(folder)
    body = {"name": "csv", "kind": "oneroster-csv", "config": {"path": str(folder)}}
    file = write(tmp_path, "connector.json", body)
    assert hub(cli_env, "roster", "connectors", "add", "acme", "--file", file)[0] == 0

    code, out = hub(cli_env, "roster", "connectors", "run", "acme", "csv", "--dry-run")
    assert code == 0, out
    dry = printed(out)
    assert (dry["dryRun"], dry["importId"], dry["error"]) == (True, None, None)
    assert dry["stats"]["users"]["creates"] == 4
    assert open_runtime().hub.repository.get(sis_connection_id("acme", "csv")).cursor is None
    code, out = hub(cli_env, "roster", "connectors", "run", "acme", "csv")
    assert code == 0, out
    assert printed(out)["importId"] is not None
    ran = open_runtime().hub.repository.get(sis_connection_id("acme", "csv"))
    assert ran.cursor is not None
    assert ran.last_run_at is not None
    assert hub(cli_env, "roster", "connectors", "run", "acme", "nothing")[0] == 1


def test_lti_tools_update_records_the_new_settings(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    acme(open_runtime)
    assert hub(cli_env, "lti", "tools", "add", "acme", "--file", write(tmp_path, "t", TOOL))[0] == 0
    changed = write(tmp_path, "tool.json", TOOL | {"name": "Quiz tool 2"})
    code, out = hub(cli_env, "lti", "tools", "update", "acme", "quiz-1", "--file", changed)
    assert code == 0, out
    assert json.loads(out)["changed"] is True
    tool = open_runtime().hub.repository.get(registration_id("acme", "quiz-1"))
    assert tool.settings["name"] == "Quiz tool 2"
    assert contexts(open_runtime(), tool.id)[-1][1:] == CLI
    code, out = hub(cli_env, "lti", "tools", "update", "acme", "nobody", "--file", changed)
    assert code == 1


def test_lti_links_add_places_a_tool_in_a_quest(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    acme(open_runtime)
    quest = Quest("acme", "spark", "course-1", {"title": "Algebra I"})
    open_runtime().hub.save(quest)
    assert hub(cli_env, "lti", "tools", "add", "acme", "--file", write(tmp_path, "t", TOOL))[0] == 0
    link = {
        "client_id": "quiz-1",
        "deployment_id": "dep-1",
        "context_id": quest.id.rsplit(".", 1)[1],
        "title": "Homework 7 quiz",
    }
    code, out = hub(cli_env, "lti", "links", "add", "acme", "--file", write(tmp_path, "l", link))
    assert code == 0, out
    link_id = json.loads(out)["link_id"]
    placed = open_runtime().hub.repository.get(resource_link_id("acme", link_id))
    assert placed.title == "Homework 7 quiz"
    assert {c[1:] for c in contexts(open_runtime(), placed.id)} == {CLI}
    elsewhere = write(tmp_path, "x", link | {"deployment_id": "dep-9"})
    assert hub(cli_env, "lti", "links", "add", "acme", "--file", elsewhere)[0] == 1


def test_lti_rate_limits_set_and_show(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    acme(open_runtime)
    code, out = hub(cli_env, "lti", "rate-limits", "show", "acme")
    assert code == 0, out
    assert json.loads(out)["tenant"]["launch"] == 1200  # the default
    limits = write(tmp_path, "limits.json", {"tenant": {"launch": 60}})
    code, out = hub(cli_env, "lti", "rate-limits", "set", "acme", "--file", limits)
    assert code == 0, out
    assert json.loads(out)["changed"] is True
    code, out = hub(cli_env, "lti", "rate-limits", "show", "acme")
    assert json.loads(out)["tenant"]["launch"] == 60
    assert {c[1:] for c in contexts(open_runtime(), rate_limits_id("acme"))} == {CLI}
    bad = write(tmp_path, "bad.json", {"tenant": {"teleport": 5}})
    assert hub(cli_env, "lti", "rate-limits", "set", "acme", "--file", bad)[0] == 1


def test_lti_platforms_add_registers_a_platform_that_launches_the_hub(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    acme(open_runtime)
    body = {
        "name": "Canvas",
        "issuer": "https://canvas.example",
        "client_id": "10000000000001",
        "deployment_ids": ["dep-1"],
        "auth_login_url": "https://canvas.example/auth",
        "auth_token_url": "https://canvas.example/token",
        "jwks_url": "https://canvas.example/jwks",
    }
    file = write(tmp_path, "platform.json", body)
    code, out = hub(cli_env, "lti", "platforms", "add", "acme", "--file", file)
    assert code == 0, out
    shown = json.loads(out)
    assert (shown["issuer"], shown["client_id"]) == (body["issuer"], body["client_id"])
    made = platform_registration_id("acme", body["issuer"], body["client_id"])
    assert open_runtime().hub.repository.get(made).name == "Canvas"
    assert {c[1:] for c in contexts(open_runtime(), made)} == {CLI}
    assert hub(cli_env, "lti", "platforms", "add", "nobody", "--file", file)[0] == 1


def test_badges_update_changes_the_rule(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    acme(open_runtime)
    file = write(tmp_path, "badge.json", SCHOLAR)
    assert hub(cli_env, "badges", "define", "acme", "--file", file)[0] == 0
    rule = {k: v for k, v in SCHOLAR.items() if k != "key"} | {"min_xp": 2000}
    changed = write(tmp_path, "rule.json", rule)
    code, out = hub(cli_env, "badges", "update", "acme", "stem-scholar", "--file", changed)
    assert code == 0, out
    assert json.loads(out)["min_xp"] == 2000
    code, out = hub(cli_env, "badges", "list", "acme")
    assert [b["min_xp"] for b in json.loads(out)] == [2000]
    assert {c[1:] for c in contexts(open_runtime(), badge_book_id("acme"))} == {CLI}
    assert hub(cli_env, "badges", "update", "acme", "nothing", "--file", changed)[0] == 1
