"""Leases in the NATS key-value bucket, on a real server."""

from __future__ import annotations

from pathlib import Path
from time import monotonic, sleep

import pytest

from hub.bootstrap import eventsourcing_env
from infra.errors import LeaseLostError
from infra.lease import lease_for
from infra.settings import Settings


@pytest.fixture
def env(nats_url: str, stream_prefix: str, tmp_path: Path) -> dict[str, str]:
    return eventsourcing_env(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)


def test_a_lease_has_one_holder_until_it_lapses(env: dict[str, str]) -> None:
    a = lease_for(env, "projection.probe", owner="a", ttl=1.0)
    b = lease_for(env, "projection.probe", owner="b", ttl=1.0)
    assert b.holder() is None

    assert a.try_acquire()
    assert not b.try_acquire()
    a.refresh()
    assert not b.try_acquire()
    assert b.holder() == "a"

    # a stops refreshing (it died): b gets the lease once the TTL has run out.
    deadline = monotonic() + 30
    while not b.try_acquire():
        assert monotonic() < deadline, "the lease never lapsed"
        sleep(0.05)
    assert a.holder() == "b"
    with pytest.raises(LeaseLostError):
        a.refresh()
    assert not a.held

    # Released, it is free at once.
    b.release()
    assert b.holder() is None
    assert a.try_acquire()
    a.release()
