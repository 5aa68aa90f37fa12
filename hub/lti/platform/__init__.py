"""The hub as LTI 1.3 platform: registrations, OIDC login, token endpoint, AGS, NRPS."""
