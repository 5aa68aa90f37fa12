"""`hub dev spark`: run a Spark simulator, and act as Spark towards a running hub."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from hub.dev.spark_sim import SparkSimulator

dev_app = typer.Typer(help="Development tools (not for production).", no_args_is_help=True)
spark_dev_app = typer.Typer(
    help="A Spark simulator, and Spark's side of SSO and webhooks.", no_args_is_help=True
)
dev_app.add_typer(spark_dev_app, name="spark")

Tenant = Annotated[str, typer.Option(envvar="HUB_DEV_TENANT", help="The tenant's slug in the hub.")]
HubUrl = Annotated[str, typer.Option("--hub-url", envvar="HUB_URL", help="The hub's base URL.")]
WebhookSecret = Annotated[
    str,
    typer.Option(
        "--secret",
        envvar="SPARK_WEBHOOK_SECRET",
        help="The tenant's Spark webhook secret (`hub spark connect` printed it).",
    ),
]


@spark_dev_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: a free one).")] = 0,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="SPARK_API_KEY", help="The API key to accept (default: a new one)."),
    ] = None,
    rate_limit: Annotated[
        int, typer.Option(help="API requests per minute before 429 (0: no limit).")
    ] = 100,
) -> None:
    """Serve a fake Spark (courses, file URLs, /grades) until Ctrl-C."""
    from hub.dev.spark_sim import SimulatorError, SparkSimulator  # noqa: PLC0415

    simulator = SparkSimulator(
        api_key=api_key, host=host, port=port, api_rate_limit=rate_limit or None, access_log=True
    )
    try:
        simulator.serve(on_ready=_print_ready)
    except SimulatorError as error:
        typer.echo(f"hub: {error}", err=True)
        raise typer.Exit(2) from error


def _print_ready(simulator: SparkSimulator) -> None:
    url = simulator.url
    typer.echo(
        "\n".join(
            [
                "The Spark simulator is running.",
                f"  URL          {url}   (API docs {url}/docs)",
                f"  API key      {simulator.api_key}",
                f"  courses      {url}/api/courses   (Authorization: Bearer <API key>)",
                f"  a file URL   {simulator.file_url('essay.pdf')}",
                f"  grades       {url}/_control/grades   (what the hub passed back)",
                "Connect a tenant to it:",
                f"  hub spark connect demo --api-url {url} --allow-host {simulator.host} "
                "--api-key <API key>",
                "Press Ctrl-C to stop.",
            ]
        )
    )
    sys.stdout.flush()


@spark_dev_app.command("sso-link")
def sso_link(  # noqa: PLR0917 - a typer command takes its options as parameters
    sub: Annotated[str, typer.Option(help="Spark's user id (the `sub` claim).")],
    email: Annotated[str, typer.Option(help="The user's email.")],
    secret: Annotated[
        str,
        typer.Option(
            envvar="SPARK_SSO_SECRET",
            help="The tenant's Spark SSO secret (`hub spark connect` printed it).",
        ),
    ],
    tenant: Tenant = "demo",
    hub_url: HubUrl = "http://127.0.0.1:8000",
    given_name: Annotated[str, typer.Option(help="First name.")] = "",
    family_name: Annotated[str, typer.Option(help="Last name.")] = "",
    role: Annotated[str, typer.Option(help="student, parent or admin.")] = "student",
    course: Annotated[
        list[str] | None, typer.Option(help="A Spark course id to enrol in (repeatable).")
    ] = None,
    issuer: Annotated[str | None, typer.Option(help="The `iss` claim.")] = None,
    lifetime: Annotated[int, typer.Option(help="Seconds until `exp`.")] = 600,
    no_nonce: Annotated[
        bool, typer.Option("--no-nonce", help="Leave the nonce out (single use by hash).")
    ] = False,
) -> None:
    """Print a signed SSO link: open it in a browser to sign in to the hub as this user."""
    from hub.dev import spark_client  # noqa: PLC0415

    token = spark_client.sso_token(
        secret,
        sub=sub,
        email=email,
        given_name=given_name,
        family_name=family_name,
        role=role,
        course_ids=course or (),
        issuer=issuer,
        nonce=None if no_nonce else "",
        lifetime_s=lifetime,
    )
    typer.echo(spark_client.sso_link(hub_url, tenant, token))


@spark_dev_app.command("send-submission")
def send_submission(  # noqa: PLR0917 - a typer command takes its options as parameters
    user: Annotated[str, typer.Option(help="Spark's user id.")],
    assignment: Annotated[str, typer.Option(help="Spark's assignment id.")],
    secret: WebhookSecret,
    tenant: Tenant = "demo",
    hub_url: HubUrl = "http://127.0.0.1:8000",
    course: Annotated[
        str | None,
        typer.Option(help="Spark's course id (default: the demo course of the assignment)."),
    ] = None,
    text: Annotated[str, typer.Option(help="The submission's text.")] = "",
    file: Annotated[
        list[str] | None,
        typer.Option(help="A file URL, or a simulator file name with --spark-url (repeatable)."),
    ] = None,
    embed: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="A local file to embed (repeatable)."),
    ] = None,
    grade: Annotated[float | None, typer.Option(help="The grade Spark gave.")] = None,
    submitted_at: Annotated[
        datetime | None, typer.Option(help="When it was submitted (default: now, UTC).")
    ] = None,
    spark_url: Annotated[
        str | None,
        typer.Option(envvar="SPARK_SIM_URL", help="The simulator, for file names in --file."),
    ] = None,
) -> None:
    """Send a signed submission webhook to the hub, as Spark does when work is handed in."""
    from hub.dev import spark_client  # noqa: PLC0415

    files = [spark_client.url_file(_file_url(f, spark_url)) for f in file or ()]
    files += [spark_client.embedded_file(path) for path in embed or ()]
    payload = spark_client.submission_payload(
        user=user,
        assignment=assignment,
        course=course or _demo_course_of(assignment),
        text=text,
        files=files,
        grade=grade,
        submitted_at=submitted_at,
    )
    _send(hub_url, tenant, "submission", payload, secret)


@spark_dev_app.command("send-roster")
def send_roster(  # noqa: PLR0917 - a typer command takes its options as parameters
    user: Annotated[str, typer.Option(help="Spark's user id.")],
    course: Annotated[str, typer.Option(help="Spark's course id.")],
    secret: WebhookSecret,
    action: Annotated[str, typer.Option(help="enroll or drop.")] = "enroll",
    tenant: Tenant = "demo",
    hub_url: HubUrl = "http://127.0.0.1:8000",
) -> None:
    """Send a signed roster webhook (enroll or drop) to the hub."""
    from hub.dev import spark_client  # noqa: PLC0415

    if action not in ("enroll", "drop"):
        typer.echo("hub: --action is enroll or drop", err=True)
        raise typer.Exit(2)
    chosen: Literal["enroll", "drop"] = "enroll" if action == "enroll" else "drop"
    payload = spark_client.roster_payload(user=user, course=course, action=chosen)
    _send(hub_url, tenant, "roster", payload, secret)


def _file_url(value: str, spark_url: str | None) -> str:
    if "://" in value:
        return value
    if spark_url is None:
        typer.echo(
            f"hub: {value!r} is not a URL; give --spark-url (or SPARK_SIM_URL) to use a "
            "simulator file name",
            err=True,
        )
        raise typer.Exit(2)
    from hub.dev.spark_sim import DEFAULT_FILE_TTL_S  # noqa: PLC0415

    expires = int(time.time() + DEFAULT_FILE_TTL_S)
    return f"{spark_url.rstrip('/')}/files/{value}?expires={expires}"


def _demo_course_of(assignment: str) -> str:
    from hub.dev.spark_demo import demo_catalogue  # noqa: PLC0415

    for found in demo_catalogue():
        if any(a["id"] == assignment for a in found["assignments"]):
            return str(found["id"])
    typer.echo(f"hub: {assignment!r} is not a demo assignment; give --course", err=True)
    raise typer.Exit(2)


def _send(
    hub_url: str,
    tenant: str,
    kind: Literal["submission", "roster"],
    payload: dict[str, object],
    secret: str,
) -> None:
    import httpx  # noqa: PLC0415

    from hub.dev import spark_client  # noqa: PLC0415

    try:
        response = spark_client.send_webhook(hub_url, tenant, kind, dict(payload), secret)
    except httpx.HTTPError as error:
        typer.echo(f"hub: cannot reach the hub at {hub_url}: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"HTTP {response.status_code}")
    typer.echo(response.text)
    if not response.is_success:
        raise typer.Exit(1)
