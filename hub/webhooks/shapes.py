"""What the webhooks API takes and answers: path parameters, bodies, views (never a secret
except in the two answers that show one once)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field, HttpUrl

from hub.domain.base import TENANT_SLUG
from hub.domain.webhooks import Subscription
from hub.webhooks.delivery_log import DeliveryRecord

DEFAULT_OVERLAP_S = 24 * 3600
MAX_OVERLAP_S = 7 * 24 * 3600

TenantPath = Annotated[str, Path(pattern=TENANT_SLUG.pattern, description="The tenant's slug.")]
WebhookPath = Annotated[
    str, Path(pattern=r"^whk_[0-9a-f]{24}$", description="The subscription's id.")
]
DeliveryPath = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}\.Delivery\.[0-9a-f]{32}$", description="A delivery."),
]
EventTypeName = Annotated[
    str, Field(min_length=1, max_length=100, examples=["Submission.Received"])
]
EventTypes = Annotated[
    list[EventTypeName],
    Field(
        min_length=1,
        max_length=200,
        description='Public event type names (`Submission.Received`), or `["*"]` for all.',
    ),
]
Url = Annotated[HttpUrl, Field(max_length=2048, description="https (http for allowed hosts).")]
Description = Annotated[str, Field(max_length=500)]
Status = Literal["retrying", "delivered", "dead-lettered"]


class WebhookBody(BaseModel):
    url: Url
    event_types: EventTypes
    description: Description = ""


class WebhookChange(BaseModel):
    """What to change; absent fields stay as they are."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    paused: bool | None = Field(default=None, description="Paused: nothing is scheduled.")


class WebhookView(BaseModel):
    """A subscription as stored (never its signing secret)."""

    id: str
    tenant: str
    url: str
    event_types: list[str]
    description: str
    paused: bool
    subscribed_at: str
    previous_secret_valid_until: str | None = Field(
        description="During a rotation's overlap, the old secret signs too until then."
    )


class WebhookCreated(WebhookView):
    """The new subscription and its signing secret: shown here once, never again."""

    secret: str = Field(description="`whsec_<base64>`: verify the `webhook-signature` with it.")
    position: int = Field(description="The log position of the subscription.")


class RotationBody(BaseModel):
    overlap_seconds: Annotated[
        int, Field(ge=0, le=MAX_OVERLAP_S, description="How long the old secret still signs.")
    ] = DEFAULT_OVERLAP_S


class SecretRotated(BaseModel):
    """The new signing secret: shown here once, never again."""

    id: str
    secret: str
    previous_secret_valid_until: str


class AllowedHosts(BaseModel):
    allowed_hosts: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=253)]],
        Field(
            max_length=20,
            description="Hosts a URL may name over http and that may resolve to private "
            "addresses (loopback for development).",
        ),
    ]


class EventTypeCatalogue(BaseModel):
    event_types: list[str]


class AttemptView(BaseModel):
    at: str
    outcome: str
    status_code: int | None
    duration_ms: float | None
    error: str


class DeliveryView(BaseModel):
    delivery_id: str = Field(description="Sent as `webhook-id`: the same on every attempt.")
    event_id: str
    event_type: str
    position: int | None
    scheduled_at: str
    status: str
    next_attempt_at: str | None
    attempts: list[AttemptView]
    redriven_at: list[str]


class DeliveryLog(BaseModel):
    webhook_id: str
    deliveries: list[DeliveryView]


class Redriven(BaseModel):
    redriven: list[str]


def view_of(tenant: str, subscription: Subscription) -> WebhookView:
    return WebhookView(
        id=subscription.id,
        tenant=tenant,
        url=subscription.url,
        event_types=list(subscription.event_types),
        description=subscription.description,
        paused=subscription.paused,
        subscribed_at=subscription.subscribed_at,
        previous_secret_valid_until=subscription.previous_valid_until,
    )


def delivery_view(record: DeliveryRecord) -> DeliveryView:
    return DeliveryView(
        delivery_id=record.delivery_id,
        event_id=record.event_id,
        event_type=record.event_type,
        position=record.position,
        scheduled_at=record.scheduled_at,
        status=record.status,
        next_attempt_at=record.next_attempt_at,
        attempts=[AttemptView(**vars(a)) for a in record.attempts],
        redriven_at=list(record.redriven_at),
    )
