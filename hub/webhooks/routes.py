"""The webhook subscriptions API: `/api/v1/tenants/{tenant}/webhooks` (secrets shown once)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from hub.api.scopes import WEBHOOKS_MANAGE, Caller, require_scope
from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.base import event_context, tenant_of
from hub.domain.deliveries import DEAD, Delivery
from hub.domain.webhooks import (
    WILDCARD,
    Subscription,
    UnknownSubscriptionError,
    WebhookRegistry,
)
from hub.http.admin_context import admin_context
from hub.http.deps import RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    CONCURRENT_CHANGE,
    NOT_FOUND,
    VALIDATION_FAILED,
    ProblemError,
    ProblemType,
    problem_responses,
)
from hub.webhooks.delivery_log import WEBHOOKS_APP, DeliveryRecord, dead_ids, read_deliveries
from hub.webhooks.event_types import UnknownEventTypeError, public_event_types
from hub.webhooks.shapes import (
    AllowedHosts,
    DeliveryLog,
    DeliveryPath,
    EventTypeCatalogue,
    Redriven,
    RotationBody,
    SecretRotated,
    Status,
    TenantPath,
    WebhookBody,
    WebhookChange,
    WebhookCreated,
    WebhookPath,
    WebhookView,
    delivery_view,
    view_of,
)
from hub.webhooks.subscriptions import (
    Registries,
    UnknownTenantError,
    WebhookError,
    read_registry,
)

WebhooksGuard = Annotated[Caller, Depends(require_scope(WEBHOOKS_MANAGE))]
"""The one guard of every route here: the hub admin token, or a client of the tenant with
the `webhooks:manage` (or `admin`) scope."""

NOT_DEAD = ProblemType("delivery-not-dead", "The delivery is not dead-lettered", 409)
T = TypeVar("T")

router = APIRouter(
    prefix="/api/v1/tenants/{tenant}/webhooks",
    tags=["webhooks"],
    responses=problem_responses(400, 401, 404, 409, 422, 503),
)


async def _run(request: Request, tenant: str, command: Callable[[], T]) -> T:
    """`command` in a thread, its events carrying the request; domain errors as problems."""
    bind_tenant(request, tenant)
    context = admin_context(request)

    def run() -> T:
        with event_context(context):
            return command()

    try:
        return await run_in_threadpool(run)
    except (UnknownTenantError, UnknownSubscriptionError) as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    except UnknownEventTypeError as error:
        raise ProblemError(
            VALIDATION_FAILED,
            str(error),
            errors=[
                {"field": "body.event_types", "message": f"unknown: {n}", "code": "unknown"}
                for n in error.unknown
            ],
        ) from error
    except WebhookError as error:
        raise ProblemError(VALIDATION_FAILED, str(error)) from error
    except IntegrityError as error:
        raise ProblemError(
            CONCURRENT_CHANGE, "the subscriptions changed meanwhile; read them and try again"
        ) from error


def _now() -> datetime:
    return datetime.now(UTC)


def _registry(runtime: Runtime, tenant: str) -> WebhookRegistry | None:
    """The tenant's registry (None: no subscription yet); raises for an unknown tenant."""
    registry = read_registry(runtime.hub, tenant)
    if registry is None and runtime.hub.tenant(tenant) is None:
        msg = f"no tenant {tenant!r} is registered"
        raise UnknownTenantError(msg)
    return registry


@router.get("/event-types", summary="The event type names a webhook can subscribe to")
async def get_event_types(tenant: TenantPath, _: WebhooksGuard) -> EventTypeCatalogue:
    return EventTypeCatalogue(event_types=[WILDCARD, *sorted(public_event_types())])


@router.get("/allowed-hosts", summary="The hosts the tenant's webhook URLs may name privately")
async def get_allowed_hosts(
    tenant: TenantPath, request: Request, runtime: RuntimeDep, _: WebhooksGuard
) -> AllowedHosts:
    registry = await _run(request, tenant, lambda: _registry(runtime, tenant))
    return AllowedHosts(allowed_hosts=[] if registry is None else list(registry.allowed_hosts))


@router.put("/allowed-hosts", summary="Set the hosts the tenant's webhook URLs may name privately")
async def put_allowed_hosts(
    tenant: TenantPath,
    body: AllowedHosts,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
) -> AllowedHosts:
    registries = Registries(runtime.hub, runtime.box)
    hosts = await _run(request, tenant, lambda: registries.allow_hosts(tenant, body.allowed_hosts))
    return AllowedHosts(allowed_hosts=hosts)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to event types (the signing secret is shown once)",
)
async def create_webhook(
    tenant: TenantPath,
    body: WebhookBody,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
) -> WebhookCreated:
    registries = Registries(runtime.hub, runtime.box)
    made = await _run(
        request,
        tenant,
        lambda: registries.subscribe(
            tenant,
            url=str(body.url),
            event_types=list(body.event_types),
            description=body.description,
            now=_now(),
        ),
    )
    view = view_of(tenant, made.subscription)
    return WebhookCreated(**view.model_dump(), secret=made.secret, position=made.position)


@router.get("", summary="The tenant's webhook subscriptions (without secrets)")
async def list_webhooks(
    tenant: TenantPath, request: Request, runtime: RuntimeDep, _: WebhooksGuard
) -> list[WebhookView]:
    registry = await _run(request, tenant, lambda: _registry(runtime, tenant))
    return [] if registry is None else [view_of(tenant, s) for s in registry.listed()]


def _subscription(runtime: Runtime, tenant: str, webhook_id: str) -> Subscription:
    registry = _registry(runtime, tenant)
    if registry is None:
        msg = f"no webhook subscription {webhook_id!r}"
        raise UnknownSubscriptionError(msg)
    return registry.subscription(webhook_id)


@router.get("/{webhook_id}", summary="A webhook subscription (without its secret)")
async def get_webhook(
    tenant: TenantPath,
    webhook_id: WebhookPath,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
) -> WebhookView:
    found = await _run(request, tenant, lambda: _subscription(runtime, tenant, webhook_id))
    return view_of(tenant, found)


@router.patch("/{webhook_id}", summary="Change a subscription's URL, event types or pause it")
async def change_webhook(
    tenant: TenantPath,
    webhook_id: WebhookPath,
    body: WebhookChange,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
) -> WebhookView:
    registries = Registries(runtime.hub, runtime.box)
    changed = await _run(
        request,
        tenant,
        lambda: registries.change(
            tenant,
            webhook_id,
            url=None if body.url is None else str(body.url),
            event_types=None if body.event_types is None else list(body.event_types),
            description=body.description,
            paused=body.paused,
        ),
    )
    return view_of(tenant, changed)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a subscription (its pending deliveries are dead-lettered)",
)
async def delete_webhook(
    tenant: TenantPath,
    webhook_id: WebhookPath,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
) -> Response:
    registries = Registries(runtime.hub, runtime.box)
    await _run(request, tenant, lambda: registries.unsubscribe(tenant, webhook_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="A new signing secret (shown once); the old one signs too during the overlap",
)
async def rotate_secret(
    tenant: TenantPath,
    webhook_id: WebhookPath,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
    body: RotationBody | None = None,
) -> SecretRotated:
    registries = Registries(runtime.hub, runtime.box)
    overlap = timedelta(seconds=(body or RotationBody()).overlap_seconds)
    rotated, secret = await _run(
        request,
        tenant,
        lambda: registries.rotate_secret(tenant, webhook_id, overlap=overlap, now=_now()),
    )
    return SecretRotated(
        id=rotated.id, secret=secret, previous_secret_valid_until=rotated.previous_valid_until or ""
    )


def _deliveries(runtime: Runtime, tenant: str, webhook_id: str) -> list[DeliveryRecord]:
    _subscription(runtime, tenant, webhook_id)  # 404 for an unknown subscription
    settings = runtime.settings
    return read_deliveries(runtime.nats_url, settings.stream_prefix, tenant, webhook_id)


@router.get("/{webhook_id}/deliveries", summary="The subscription's deliveries and attempts")
async def get_deliveries(
    tenant: TenantPath,
    webhook_id: WebhookPath,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
    *,
    delivery_status: Annotated[
        Status | None, Query(alias="status", description="Only this status.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="At most this many, newest first.")
    ] = 100,
) -> DeliveryLog:
    found = await _run(request, tenant, lambda: _deliveries(runtime, tenant, webhook_id))
    shown = [d for d in found if delivery_status is None or d.status == delivery_status]
    return DeliveryLog(webhook_id=webhook_id, deliveries=[delivery_view(d) for d in shown[:limit]])


@contextmanager
def _delivery_app(runtime: Runtime) -> Iterator[Application[str]]:
    """The `webhooks` log (as `hub deliveries` opens it: `hub` loads no connector module)."""
    from connectors.runner import UpstreamLog  # noqa: PLC0415

    env = eventsourcing_env(runtime.settings, runtime.nats_url)
    with closing(UpstreamLog(WEBHOOKS_APP, env)) as app:
        yield app


def _redrive(runtime: Runtime, ids: list[str]) -> list[str]:
    from connectors.deliveries import redrive  # noqa: PLC0415

    with _delivery_app(runtime) as app:
        return redrive(app, ids, by="api: webhooks redrive")


def _redrive_one(runtime: Runtime, tenant: str, webhook_id: str, delivery_id: str) -> list[str]:
    _subscription(runtime, tenant, webhook_id)
    missing = ProblemError(NOT_FOUND, f"no delivery {delivery_id!r} of webhook {webhook_id!r}")
    if tenant_of(delivery_id) != tenant:
        raise missing
    with _delivery_app(runtime) as app:
        try:
            delivery: Delivery = app.repository.get(delivery_id)
        except AggregateNotFoundError as error:
            raise missing from error
    if delivery.payload.get("subscription_id") != webhook_id:
        raise missing
    if delivery.status != DEAD:
        raise ProblemError(
            NOT_DEAD, f"the delivery is {delivery.status}; only dead letters are redriven"
        )
    return _redrive(runtime, [delivery_id])


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redrive",
    summary="Re-arm one dead-lettered delivery (attempted again from the first attempt)",
)
async def redrive_delivery(
    tenant: TenantPath,
    webhook_id: WebhookPath,
    delivery_id: DeliveryPath,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
) -> Redriven:
    done = await _run(
        request, tenant, lambda: _redrive_one(runtime, tenant, webhook_id, delivery_id)
    )
    return Redriven(redriven=done)


@router.post("/{webhook_id}/redrive", summary="Re-arm every dead-lettered delivery of a webhook")
async def redrive_webhook(
    tenant: TenantPath,
    webhook_id: WebhookPath,
    request: Request,
    runtime: RuntimeDep,
    _: WebhooksGuard,
) -> Redriven:
    def redrive_all() -> list[str]:
        return _redrive(runtime, dead_ids(_deliveries(runtime, tenant, webhook_id)))

    return Redriven(redriven=await _run(request, tenant, redrive_all))


def install_webhooks(app: FastAPI, runtime: Runtime) -> None:
    """The webhook subscriptions API."""
    app.include_router(router)
