"""The composition root: builds the hub's parts from settings (tests call it with their own)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.application import Hub
from infra.secrets import SecretBox, load_or_create_key_file
from infra.settings import Settings


def eventsourcing_env(settings: Settings, nats_url: str) -> dict[str, str]:
    """The environment the eventsourcing applications are built with."""
    env = {
        "PERSISTENCE_MODULE": "infra.jetstream",
        "NATS_URL": nats_url,
        "NATS_STREAM_PREFIX": settings.stream_prefix,
        "NATS_TIMEOUT": str(settings.nats_timeout_s),
        "HUB_DATA_DIR": str(settings.data_dir.resolve()),
    }
    if settings.aggregate_cache_size:
        # Aggregates stay in memory, fast-forwarded on each read (one Direct Get from the
        # newest sequence seen): reading a learner whose events are spread through the
        # log would otherwise make the server scan its whole history each time.
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
    # eventsourcing reads `<APP NAME>_<KEY>` before `<KEY>`, from os.environ too: for the
    # application named "hub" that is HUB_NATS_URL & co, our own settings' namespace.
    # Pin them, so the process environment cannot override what the settings resolved.
    return env | {f"HUB_{key}": value for key, value in env.items()}


def secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        return SecretBox.from_text(settings.secret_key.get_secret_value())
    settings.require_production_secrets()
    return SecretBox.from_text(load_or_create_key_file(settings.data_dir / "secret.key"))


@dataclass
class Runtime:
    """Everything a process of the hub needs, built once."""

    settings: Settings
    nats_url: str
    hub: Hub
    box: SecretBox


def build_runtime(settings: Settings, nats_url: str) -> Runtime:
    return Runtime(
        settings=settings,
        nats_url=nats_url,
        hub=Hub(env=eventsourcing_env(settings, nats_url)),
        box=secret_box(settings),
    )
