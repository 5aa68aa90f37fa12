"""Event counts per tenant and event type, built by a runner from the hub's real log."""

from __future__ import annotations

from sqlalchemy import Engine

from hub.bootstrap import Runtime
from projections import counts, registry, wait_for
from projections.event_counts import all_counts
from tests.projections.helpers import Ledger, record_probes, register_tenants, running

SPEC = registry.get("event_counts")


def test_counts_per_tenant_and_event_type(
    runtime: Runtime, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    ledger = Ledger()
    register_tenants(runtime, ledger, ["alpha", "beta"])
    record_probes(runtime.hub, ledger, ["alpha"], per_tenant=3)

    with running(SPEC, env, sql_url):
        wait_for(engine, "event_counts", ledger.head, timeout=30)
        alpha, beta = counts(engine, "alpha"), counts(engine, "beta")
        # Events recorded while the runner follows the log live are counted too.
        register_tenants(runtime, ledger, ["gamma"])
        record_probes(runtime.hub, ledger, ["beta"], per_tenant=2)
        wait_for(engine, "event_counts", ledger.head, timeout=30)
        gamma, beta_later = counts(engine, "gamma"), counts(engine, "beta")

    made = ledger.last["alpha", "Probe.Made"]
    assert alpha == [
        ("Probe.Made", 3, made),
        ("Tenant.Registered", 1, ledger.last["alpha", "Tenant.Registered"]),
    ]
    assert beta == [("Tenant.Registered", 1, ledger.last["beta", "Tenant.Registered"])]
    assert gamma == [("Tenant.Registered", 1, ledger.last["gamma", "Tenant.Registered"])]
    assert beta_later == [
        ("Probe.Made", 2, ledger.last["beta", "Probe.Made"]),
        ("Tenant.Registered", 1, ledger.last["beta", "Tenant.Registered"]),
    ]
    assert all_counts(engine) == ledger.rows()
    assert counts(engine, "nobody") == []


def test_readers_before_any_run_see_nothing(engine: Engine) -> None:
    assert counts(engine, "alpha") == []
    assert all_counts(engine) == []
