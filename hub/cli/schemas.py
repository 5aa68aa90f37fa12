"""`hub schemas`: write the event types' JSON Schemas and the NATS AsyncAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

schemas_app = typer.Typer(
    help="JSON Schemas of the event types; AsyncAPI of the NATS subjects.", no_args_is_help=True
)
Root = Annotated[Path, typer.Option(help="The checkout to write into (default: here).")]
EVENTS_FOLDER = Path("schemas") / "events"
ASYNCAPI_FILE = Path("docs") / "asyncapi.json"


def asyncapi_text(prefix: str = "hub") -> str:
    from hub.eventschemas.asyncapi import hub_asyncapi  # noqa: PLC0415 - keeps `hub --help` fast

    return json.dumps(hub_asyncapi(prefix), indent=2, sort_keys=True) + "\n"


@schemas_app.command("write")
def write(root: Root = Path()) -> None:
    """Write schemas/events/<Type>.json (+ index.json) and docs/asyncapi.json."""
    from hub.eventschemas.generate import write_schemas  # noqa: PLC0415

    changed = write_schemas(root / EVENTS_FOLDER)
    asyncapi = root / ASYNCAPI_FILE
    text = asyncapi_text()
    if not asyncapi.exists() or asyncapi.read_text() != text:
        asyncapi.parent.mkdir(parents=True, exist_ok=True)
        asyncapi.write_text(text)
        changed.append(str(ASYNCAPI_FILE))
    typer.echo(f"{len(changed)} file(s) changed" + "".join(f"\n  {name}" for name in changed))


@schemas_app.command("asyncapi")
def asyncapi(
    prefix: Annotated[str, typer.Option(help="The stream prefix (HUB_STREAM_PREFIX).")] = "hub",
) -> None:
    """Print the AsyncAPI 3.0 document of the NATS subjects (JSON)."""
    typer.echo(asyncapi_text(prefix), nl=False)
