"""The inbound subscribers run with the served app, and not at all when the setting is off."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.bootstrap import Runtime, build_runtime
from hub.http import create_app, runtime_readiness
from hub.inbound.install import install_inbound
from infra.settings import Settings
from infra.sql import make_engine
from tests.hub.http.live_server import live_server
from tests.hub.inbound.publisher import answer, publisher
from tests.hub.spark.signals import Partner, head, submission


def test_the_served_app_consumes_inbound_signals(
    runtime: Runtime, acme: Partner, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    app = create_app(runtime, readiness=runtime_readiness(runtime, engine))
    install_inbound(app, runtime)
    start = head(runtime)

    async def publish_and_hear() -> dict[str, object]:
        async with publisher(runtime) as partner:
            sent = await partner.publish("acme", "submission", submission(), acme.webhook_secret)
            return await answer(sent)

    with live_server(app):
        verdict = asyncio.run(publish_and_hear())
    engine.dispose()
    assert verdict["status"] == 202
    assert head(runtime) == start + 1


def test_the_setting_turns_the_subscribers_off(
    nats_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix, inbound_nats=False)
    off = build_runtime(settings, nats_url)
    engine = make_engine(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    app = create_app(off, readiness=runtime_readiness(off, engine))
    lifespan = app.router.lifespan_context
    install_inbound(app, off)
    assert app.router.lifespan_context is lifespan
    with live_server(app):
        assert not hasattr(app.state, "inbound")
    engine.dispose()
    off.hub.close()
