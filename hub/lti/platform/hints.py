"""The `lti_message_hint` the hub issues when it starts a launch, sealed with the hub's key.

The hint is the launch's server-side state, carried through the browser: who launches
which link (or asks for Deep Linking in which context), until when. AES-GCM under the
tenant's context makes it opaque and unforgeable; its `hint_id` makes it single use
(the `LtiLaunch` aggregate of that id exists once the launch was accepted).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag

from hub.lti.platform.errors import LtiRejectedError
from infra.secrets import SecretBox

HINT_LIFETIME_S = 600


@dataclass(frozen=True)
class LaunchHint:
    hint_id: str
    client_id: str
    deployment_id: str
    message_type: str
    user_id: str
    role: str
    context_id: str | None
    link_id: str | None
    expires_at: int


def _context(tenant: str) -> str:
    return f"{tenant}:lti-message-hint"


def issue_hint(
    box: SecretBox,
    tenant: str,
    *,
    client_id: str,
    deployment_id: str,
    message_type: str,
    user_id: str,
    role: str,
    context_id: str | None,
    link_id: str | None,
    now: int,
) -> str:
    hint = LaunchHint(
        hint_id=secrets.token_hex(16),
        client_id=client_id,
        deployment_id=deployment_id,
        message_type=message_type,
        user_id=user_id,
        role=role,
        context_id=context_id,
        link_id=link_id,
        expires_at=now + HINT_LIFETIME_S,
    )
    return box.encrypt(json.dumps(asdict(hint), separators=(",", ":")), context=_context(tenant))


def open_hint(box: SecretBox, tenant: str, sealed: str, *, now: int) -> LaunchHint:
    """The hint, if this tenant's hub issued it and it has not expired."""
    try:
        hint = LaunchHint(**json.loads(box.decrypt(sealed, context=_context(tenant))))
    except (InvalidTag, ValueError, TypeError) as error:
        raise LtiRejectedError(
            "hint_invalid", "start the launch again from the hub: this hint is not ours"
        ) from error
    if hint.expires_at < now:
        raise LtiRejectedError("hint_expired", "start the launch again from the hub")
    return hint
