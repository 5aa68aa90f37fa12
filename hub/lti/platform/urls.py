"""The platform's URLs for one tenant: its issuer and the endpoints tools are configured with.

Everything is under `/t/<tenant>/`, lower-case (pylti1p3 lower-cases the `Link` header,
URL included), and the authorization URL carries no query string (pylti1p3 appends one).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request


@dataclass(frozen=True)
class PlatformUrls:
    base: str  # scheme://host[:port], no trailing slash
    tenant: str

    @classmethod
    def of(cls, request: Request, tenant: str) -> PlatformUrls:
        return cls(str(request.base_url).rstrip("/"), tenant)

    @property
    def issuer(self) -> str:
        return f"{self.base}/t/{self.tenant}"

    @property
    def api(self) -> str:
        return f"{self.issuer}/api/lti"

    @property
    def authorize(self) -> str:
        return f"{self.api}/platform/authorize"

    @property
    def token(self) -> str:
        return f"{self.api}/platform/token"

    @property
    def jwks(self) -> str:
        return f"{self.api}/jwks.json"

    @property
    def deep_link_return(self) -> str:
        return f"{self.api}/platform/deep-link/return"

    def line_items(self, context_id: str) -> str:
        return f"{self.api}/ags/contexts/{context_id}/lineitems"

    def line_item(self, context_id: str, line_item_id: str) -> str:
        return f"{self.line_items(context_id)}/{line_item_id}"

    def memberships(self, context_id: str) -> str:
        return f"{self.api}/nrps/contexts/{context_id}/memberships"
