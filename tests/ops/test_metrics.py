"""`/metrics` parsed with prometheus_client's own parser: the counters move when a Spark
webhook is accepted and when one is rejected; HTTP latency by route template; projection
lag and deliveries read at scrape time."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.hub.spark.conftest import acme
from tests.hub.spark.signals import Partner, post_signed, submission

__all__ = ["acme"]
URL = "/t/acme/spark/webhook/submission"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client) -> tuple[Samples, set[str]]:
    """Every sample of `/metrics` by (name, labels), and the families' names."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    names = set()
    for family in text_string_to_metric_families(answer.text):
        names.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, names


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_verdicts_and_ingest_move_with_accepted_and_rejected_webhooks(
    client: httpx.Client, acme: Partner
) -> None:
    before, _ = scrape(client)
    accepted = post_signed(client, URL, submission(), acme.webhook_secret)
    assert accepted.status_code == 202, accepted.text
    rejected = post_signed(client, URL, submission(), "not the secret")
    assert rejected.status_code == 401
    reason = rejected.json()["reason"]
    after, _ = scrape(client)

    ok = {"source": "submission", "verdict": "accepted", "reason": "hmac-sha256"}
    refused = {"source": "submission", "verdict": "rejected", "reason": reason}
    name = "hub_signal_verdicts_total"
    assert value(after, name, **ok) == value(before, name, **ok) + 1
    assert value(after, name, **refused) == value(before, name, **refused) + 1
    stored = {"source": "spark", "event_type": "Submission.Received"}
    name = "hub_events_stored_total"
    assert value(after, name, **stored) == value(before, name, **stored) + 1


def test_http_latency_is_by_route_template_and_status_class(
    client: httpx.Client, acme: Partner
) -> None:
    post_signed(client, URL, submission(), acme.webhook_secret)
    samples, _ = scrape(client)
    labels = {"route": "/t/{tenant}/spark/webhook/submission", "method": "POST", "status": "2xx"}
    assert value(samples, "hub_http_request_duration_seconds_count", **labels) >= 1
    assert value(samples, "hub_http_request_duration_seconds_bucket", **labels, le="+Inf") >= 1
    paths = {dict(labels_)["route"] for (n, labels_) in samples if n.startswith("hub_http")}
    assert "/t/acme/spark/webhook/submission" not in paths  # templates, never paths


def test_scrape_time_gauges_are_there(client: httpx.Client) -> None:
    _, names = scrape(client)
    assert {"hub_projection_lag_events", "hub_projection_position", "hub_deliveries"} <= names
    assert {"hub_delivery_outcomes", "hub_events_stored", "hub_signal_verdicts"} <= names
