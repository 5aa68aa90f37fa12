"""The composition root builds the hub on the NATS the settings resolved, whatever else is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.bootstrap import build_runtime
from infra.nats_server import free_port
from infra.settings import Settings


def test_a_stray_hub_nats_url_does_not_redirect_the_event_store(
    nats_url: str, stream_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # eventsourcing looks up `<APP>_<KEY>` in os.environ first: for the app "hub" that is
    # HUB_NATS_URL, which must not win over the URL the runtime was built with.
    monkeypatch.setenv("HUB_NATS_URL", f"nats://127.0.0.1:{free_port()}")
    runtime = build_runtime(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)
    tenant = runtime.hub.register_tenant("stray", "Stray", runtime.box)
    assert tenant.position >= 1
    assert runtime.hub.tenant("stray") is not None
