"""What the webhook tests share: the hub's key, quick settings, running and reading the loops."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager

from connectors.deliveries import Entry, load_index
from connectors.runner import UpstreamLog
from connectors.webhooks import CONNECTOR, NAME, SPEC, WebhookDeliverySettings, run_deliveries
from hub.application import Hub
from hub.domain.quests import Quest
from infra.secrets import SecretBox
from tests.caliper.loops import Loop
from tests.connectors.world import running, wait_for

KEY = "the webhook tests' key"
BOX = SecretBox.from_text(KEY)
FAST = WebhookDeliverySettings(
    retry_schedule_s="0.05,0.05", timeout_s=0.4, idle_s=0.02, workers=4, registry_ttl_s=0
)


def quest(hub: Hub, slug: str, key: str) -> str:
    """One `Quest.Synced` of `slug`; the quest's id."""
    made = Quest(tenant=slug, source="spark", external_id=key, details={"title": key})
    hub.save(made)
    return str(made.id)


@contextmanager
def delivering(env: Mapping[str, str], settings: WebhookDeliverySettings = FAST) -> Iterator[None]:
    with running(SPEC, env=env):
        loop = Loop(run_deliveries, env, settings=settings)
        try:
            yield
        finally:
            loop.stop()


def entries(env: Mapping[str, str]) -> list[Entry]:
    with closing(UpstreamLog(NAME, env)) as app:
        return [e for e in load_index(app).entries() if e.connector == CONNECTOR]


def settled(env: Mapping[str, str], count: int, status: str) -> list[Entry]:
    def check() -> list[Entry] | None:
        found = [e for e in entries(env) if e.status == status]
        return found if len(found) >= count else None

    return wait_for(check, f"{count} deliveries {status}")
