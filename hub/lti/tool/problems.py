"""The LTI tool's problem types: one per rejection reason (the audit stream's code)."""

from __future__ import annotations

from hub.http.problems import ProblemType

LTI_TOOL_REJECTIONS: dict[str, ProblemType] = {
    reason: ProblemType("lti-" + reason.replace("_", "-"), title, status)
    for reason, title, status in (
        ("tenant_missing", "No tenant was named", 400),
        ("unknown_tenant", "Unknown tenant", 404),
        ("login_invalid", "The login initiation is missing parameters", 400),
        ("platform_unknown", "The platform is not registered for this tenant", 400),
        ("form_invalid", "The launch needs the id_token and state form fields", 400),
        ("token_malformed", "The id_token is not a JWT", 401),
        ("token_algorithm", "The id_token's algorithm is not accepted", 401),
        ("kid_missing", "The id_token names no key", 401),
        ("audience_mismatch", "The id_token is not for the hub", 401),
        ("azp_mismatch", "The id_token's authorized party is not the hub", 401),
        ("deployment_unknown", "The deployment is not registered", 401),
        ("jwks_unavailable", "The platform's keys could not be fetched", 502),
        ("kid_unknown", "The id_token's key is not the platform's", 401),
        ("kid_ambiguous", "The platform publishes that key twice", 401),
        ("signature_invalid", "The id_token's signature is not valid", 401),
        ("token_expired", "The id_token has expired", 401),
        ("token_not_yet_valid", "The id_token is not valid yet", 401),
        ("state_unknown", "The login state is unknown", 401),
        ("state_replayed", "The login state was already used", 401),
        ("state_expired", "The login state has expired", 401),
        ("state_mismatch", "The login state belongs to another platform", 401),
        ("nonce_mismatch", "The id_token's nonce is not the login's", 401),
        ("claims_missing", "Required LTI claims are missing", 422),
        ("claims_invalid", "Some LTI claims are not valid", 422),
        ("ticket_invalid", "The deep linking page has expired or was forged", 401),
        ("not_deep_linking", "The launch was not a deep linking request", 409),
        ("deep_link_responded", "The deep linking request was already answered", 409),
        ("items_invalid", "The chosen items are not valid", 422),
        ("rate_limited", "Too many requests", 429),
    )
}
