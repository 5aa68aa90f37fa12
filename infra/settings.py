"""The hub's settings, read from `HUB_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting has a safe default for the embedded mode.

    `nats_url` unset means: start the bundled nats-server in `data_dir/nats`.
    `database_url` unset means: a SQLite file in `data_dir`.
    """

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    nats_url: str | None = None
    database_url: str | None = None
    stream_prefix: str = Field(default="hub", pattern=r"^[a-z][a-z0-9_]{0,15}$")
    host: str = "127.0.0.1"
    port: int = 8000
    log_json: bool | None = None
    log_level: str = "INFO"
    secret_key: SecretStr | None = None
    admin_token: SecretStr | None = None
    nats_timeout_s: float = Field(default=2.0, gt=0)
    demo_tenant: str | None = "demo"
    # Off by default: measured (bench_spark), it did not speed up sign-ins and it
    # lengthened the webhook's tail latency (saved aggregates are cached too).
    aggregate_cache_size: int = Field(default=0, ge=0)
    # Inbound signals over NATS (<prefix>.inbound.<tenant>.spark.<kind>), served with HTTP.
    inbound_nats: bool = True

    @field_validator("nats_url", "database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hub.sqlite3').resolve()}"

    def require_production_secrets(self) -> None:
        """Refuse to start in production without an explicit secret key."""
        for name in ("secret_key", "admin_token"):
            if self.env == "production" and getattr(self, name) is None:
                msg = f"HUB_{name.upper()} must be set when HUB_ENV=production"
                raise ValueError(msg)

    # Accounts and mail (issue 9). The hub's address as people reach it, for the links in
    # emails (default: http://<host>:<port>). SMTP unset: the embedded mode's outbox folder.
    public_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "hub@localhost"
    sign_in_per_address_per_minute: int = Field(default=120, gt=0)
    sign_in_failures_per_account: int = Field(default=5, gt=0)  # in 15 minutes

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    # The developer API (issue 8): access tokens' lifetime, how long a process trusts what it
    # read of a client (the bound on a revocation reaching every process), and the default
    # rate limits per minute (a tenant's own override them, set through the admin API).
    api_token_ttl_s: int = Field(default=3600, gt=0, le=86_400)
    api_client_cache_s: float = Field(default=30.0, gt=0)
    api_rate_limit_tenant_per_minute: int = Field(default=60_000, gt=0)
    api_rate_limit_client_per_minute: int = Field(default=12_000, gt=0)
    api_rate_limit_address_per_minute: int = Field(default=60_000, gt=0)
