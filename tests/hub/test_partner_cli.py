"""`hub lti|roster connectors|caliper|badges`: the admin routes' code, from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.caliper.settings import caliper_settings_id
from hub.domain.badges import badge_book_id
from tests.hub.cli_support import Opener, contexts, hub
from tests.hub.http.test_badges_admin import SCHOLAR
from tests.lti.platform.world import tool_settings

CLI = ("cli:admin", "operator")


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value) if not isinstance(value, str) else value)
    return str(path)


def test_lti_tools_add_and_show_and_keys_rotate_list_retire(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    first = open_runtime()
    first.hub.register_tenant("acme", "Acme", first.box)
    file = write(
        tmp_path,
        "tool.json",
        tool_settings(client_id="quiz-1", jwks_url="https://quiz.example/jwks"),
    )
    code, out = hub(cli_env, "lti", "tools", "add", "acme", "--file", file)
    assert code == 0, out
    assert json.loads(out)["client_id"] == "quiz-1"
    code, out = hub(cli_env, "lti", "tools", "show", "acme", "quiz-1")
    assert code == 0, out
    assert json.loads(out)["settings"]["name"] == "Quiz tool"
    assert hub(cli_env, "lti", "tools", "add", "acme", "--file", file)[0] == 1  # exists

    code, out = hub(cli_env, "lti", "keys", "rotate", "acme")
    assert code == 0, out
    kid = json.loads(out)["kid"]
    code, out = hub(cli_env, "lti", "keys", "list", "acme")
    keys = json.loads(out)["keys"]
    assert {k["kid"]: k["status"] for k in keys}[kid] == "active"
    assert "d" not in keys[0]  # no private part
    code, out = hub(cli_env, "lti", "keys", "retire", "acme", kid)
    assert code == 1, "the active key cannot be retired"


def test_a_bad_json_file_is_refused_naming_the_field(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    first = open_runtime()
    first.hub.register_tenant("acme", "Acme", first.box)
    file = write(
        tmp_path,
        "tool.json",
        tool_settings(login_url="not a url", jwks_url="https://quiz.example/jwks"),
    )
    code, out = hub(cli_env, "lti", "tools", "add", "acme", "--file", file)
    assert code == 1
    assert "login_url" in out
    code, out = hub(cli_env, "lti", "tools", "add", "acme", "--file", write(tmp_path, "x", "{"))
    assert code == 1
    assert hub(cli_env, "lti", "tools", "add", "nobody", "--file", file)[0] == 1


def test_roster_connectors_list_and_precedence(
    cli_env: dict[str, str], open_runtime: Opener
) -> None:
    first = open_runtime()
    first.hub.register_tenant("acme", "Acme", first.box)
    code, out = hub(cli_env, "roster", "connectors", "list", "acme")
    assert (code, json.loads(out)) == (0, [])
    code, out = hub(cli_env, "roster", "connectors", "precedence", "acme", "sims", "spark")
    assert code == 0, out
    assert json.loads(out) == {"systems": ["sims", "spark"]}


def test_caliper_set_and_show_never_print_the_bearer_token(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    first = open_runtime()
    first.hub.register_tenant("acme", "Acme", first.box)
    token = "caliper-bearer-0123456789-secret"
    settings = {"endpoint_url": "https://lrs.example/caliper", "bearer_token": token}
    code, out = hub(cli_env, "caliper", "set", "acme", "--file", write(tmp_path, "c", settings))
    assert code == 0, out
    assert json.loads(out)["has_bearer_token"] is True
    assert token not in out
    code, out = hub(cli_env, "caliper", "show", "acme")
    assert code == 0, out
    assert json.loads(out)["endpoint_url"] == "https://lrs.example/caliper"
    assert token not in out
    assert contexts(open_runtime(), caliper_settings_id("acme"))[-1][1:] == CLI
    assert hub(cli_env, "caliper", "show", "nobody")[0] == 1


def test_badges_define_list_retire(
    cli_env: dict[str, str], open_runtime: Opener, tmp_path: Path
) -> None:
    first = open_runtime()
    first.hub.register_tenant("acme", "Acme", first.box)
    file = write(tmp_path, "badge.json", SCHOLAR)
    code, out = hub(cli_env, "badges", "define", "acme", "--file", file)
    assert code == 0, out
    assert json.loads(out)["key"] == "stem-scholar"
    assert hub(cli_env, "badges", "define", "acme", "--file", file)[0] == 1  # exists
    code, out = hub(cli_env, "badges", "retire", "acme", "stem-scholar")
    assert code == 0, out
    code, out = hub(cli_env, "badges", "list", "acme")
    assert [(b["key"], b["retired"]) for b in json.loads(out)] == [("stem-scholar", True)]
    assert {c[1:] for c in contexts(open_runtime(), badge_book_id("acme"))} == {CLI}
    assert hub(cli_env, "badges", "retire", "acme", "nothing")[0] == 1
