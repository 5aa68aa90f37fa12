"""Why the LTI platform refuses a request: one reason code per problem type (no imports of
the HTTP layer here: the handlers raise these, the routes turn them into problems).

    LtiRejectedError            a request was refused; `reason` is the stable code the
                                audit stream records and the problem's type is built from

The OAuth endpoints (token, AGS, NRPS) also put the RFC 6749/6750 `error` code in the
problem's body, so OAuth clients read what they expect.
"""

from __future__ import annotations

# reason -> (title, status, OAuth error code or "")
_REASONS: dict[str, tuple[str, int, str]] = {
    "tenant_unknown": ("Unknown tenant", 404, ""),
    "session_required": ("Sign in to the hub first", 401, ""),
    "registration_unknown": ("No tool is registered with this client_id", 400, "invalid_client"),
    "deployment_unknown": ("The deployment is not registered for this tool", 400, ""),
    "link_unknown": ("No such resource link", 404, ""),
    "context_unknown": ("No such context", 404, ""),
    "request_invalid": ("The authorization request is not valid", 400, "invalid_request"),
    "redirect_uri_unregistered": ("The redirect_uri is not registered", 400, "invalid_request"),
    "hint_invalid": ("The lti_message_hint is not one the hub issued", 400, "invalid_request"),
    "hint_expired": ("The lti_message_hint has expired", 400, "invalid_request"),
    "login_hint_mismatch": ("The login_hint is not the launching user", 400, "login_required"),
    "launch_replayed": ("This launch was already completed", 400, "invalid_request"),
    "grant_type_unsupported": (
        "Only client_credentials is supported",
        400,
        "unsupported_grant_type",
    ),
    "assertion_missing": ("The client assertion is missing", 400, "invalid_request"),
    "assertion_malformed": ("The client assertion is not a JWT", 401, "invalid_client"),
    "assertion_algorithm": (
        "The JWT's algorithm is not accepted (RS256 only)",
        401,
        "invalid_client",
    ),
    "assertion_kid": ("The JWT's kid is not among the tool's keys", 401, "invalid_client"),
    "assertion_signature": ("The JWT's signature is not valid", 401, "invalid_client"),
    "assertion_claims": ("The JWT's claims are missing or invalid", 401, "invalid_client"),
    "assertion_audience": ("The JWT is addressed to another audience", 401, "invalid_client"),
    "assertion_expired": ("The JWT has expired", 401, "invalid_client"),
    "assertion_not_yet_valid": ("The JWT is not valid yet", 401, "invalid_client"),
    "assertion_replayed": ("The JWT's jti was already used", 401, "invalid_client"),
    "tool_keys_unavailable": ("The tool's JWKS cannot be fetched", 400, "invalid_client"),
    "scope_not_allowed": ("A requested scope is not allowed for this tool", 400, "invalid_scope"),
    "token_missing": ("An access token is required", 401, "invalid_request"),
    "token_invalid": ("The access token is not valid", 401, "invalid_token"),
    "token_expired": ("The access token has expired", 401, "invalid_token"),
    "token_tenant": ("The access token belongs to another tenant", 401, "invalid_token"),
    "scope_insufficient": (
        "The access token lacks the scope this needs",
        403,
        "insufficient_scope",
    ),
    "media_type": ("The body's media type is not the one this endpoint takes", 415, ""),
    "body_invalid": ("The body is not valid", 400, ""),
    "line_item_unknown": ("No such line item", 404, ""),
    "score_conflict": ("Scores for this user and line item collided", 409, ""),
    "deep_link_invalid": ("The Deep Linking response is not valid", 400, ""),
    "rate_limited": ("Too many requests", 429, ""),
}


def problem_of(reason: str) -> tuple[str, str, int]:
    """(type slug, title, status) of a reason's problem."""
    title, status, _ = _REASONS[reason]
    return "lti-" + reason.replace("_", "-"), title, status


def reasons() -> list[str]:
    return list(_REASONS)


def oauth_error(reason: str) -> str:
    return _REASONS[reason][2]


class LtiRejectedError(Exception):
    """A request was refused; `reason` is a key of `LTI_REJECTIONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in _REASONS:  # a typo would otherwise become a 500 later
            msg = f"unknown LTI rejection reason {reason!r}"
            raise ValueError(msg)
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
