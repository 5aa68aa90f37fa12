"""Family's observer invitations, emailed through the outbox (called by its invite route)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from hub.accounts import commands
from hub.accounts.problems import run_command


async def email_invitation(
    request: Request, tenant: str, student_id: str, asked: Any, sent: Any
) -> None:
    """Queue the email of an invitation just sent (`asked`: its request, with email and
    name; `sent`: what `invite_observer` returned, with the code)."""
    runtime = request.app.state.runtime
    await run_command(
        request,
        "session",
        commands.email_invitation,
        runtime.hub,
        runtime.box,
        runtime.settings.resolved_public_url,
        tenant,
        student_id,
        invitation_id=sent.invitation_id,
        code=sent.code,
        email=asked.email,
        name=asked.name,
        expires_at=sent.expires_at,
    )
