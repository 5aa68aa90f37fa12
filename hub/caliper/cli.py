"""`hub caliper`: the Caliper stream's AsyncAPI document."""

from __future__ import annotations

import json
from typing import Annotated

import typer

caliper_app = typer.Typer(help="Caliper 1.2 analytics: the stream's AsyncAPI document.")


@caliper_app.command("asyncapi")
def asyncapi(
    prefix: Annotated[str, typer.Option(help="The stream prefix (HUB_STREAM_PREFIX).")] = "hub",
) -> None:
    """Print the AsyncAPI 3.0 document of the Caliper stream (JSON)."""
    from hub.caliper.asyncapi import caliper_asyncapi  # noqa: PLC0415 - keeps `hub --help` fast

    typer.echo(json.dumps(caliper_asyncapi(prefix), indent=2, sort_keys=True))
