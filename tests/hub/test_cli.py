"""The `hub` command as a user runs it: real processes, the bundled nats-server, loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from infra.nats_server import free_port

HUB = str(Path(sys.executable).parent / "hub")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(extra)
    return env


def _hub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUB, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_tenant_create_prints_secrets_once_and_refuses_a_duplicate(
    nats_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    env = _env(HUB_NATS_URL=nats_url, HUB_STREAM_PREFIX=stream_prefix, HUB_DATA_DIR=str(tmp_path))
    first = _hub("tenant", "create", "Acme Academy", env=env)
    assert first.returncode == 0, first.stderr
    assert "tenant acme-academy created" in first.stdout
    assert "hubk_" in first.stdout
    assert "whsec_" in first.stdout
    assert "hubk_" not in first.stderr  # never logged
    again = _hub("tenant", "create", "Acme Academy", env=env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    replayed = _hub("replay", "--tenant", "acme-academy", env=env)
    lines = [json.loads(line) for line in replayed.stdout.splitlines()]
    assert [line["event_type"] for line in lines] == ["Tenant.Registered"]


def test_refuses_an_unreachable_nats_with_one_clear_line(tmp_path: Path) -> None:
    env = _env(HUB_NATS_URL=f"nats://127.0.0.1:{free_port()}", HUB_DATA_DIR=str(tmp_path))
    result = _hub("tenant", "create", "Nobody", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("hub: cannot reach NATS")
    assert len(result.stderr.strip().splitlines()) == 1


def _wait_ready(url: str, process: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if response.status_code == 200:
            return response
        time.sleep(0.2)
    pytest.fail(f"{url} never became ready")


def _nats_pids(data_dir: Path) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-f", f"nats-server.*{data_dir / 'nats'}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(pid) for pid in out.stdout.split()]


def _start_hub(port: int, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [HUB, "run", "--port", str(port), "--data-dir", str(data_dir)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _publish_inbound(url: str, subject: str) -> dict[str, Any]:
    """Publish on an inbound subject and wait for the hub's verdict."""
    client = await nats.connect(url)
    try:
        verdicts = await client.subscribe(client.new_inbox(), max_msgs=1)
        headers = {"X-Spark-Signature": "0" * 64, "reply_to": verdicts.subject}
        await client.jetstream().publish(subject, b"{}", headers=headers)
        answer = await verdicts.next_msg(timeout=30)
        verdict: dict[str, Any] = json.loads(answer.data)
        return verdict
    finally:
        await client.drain()


def test_run_starts_everything_with_a_demo_tenant_and_stops_cleanly(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "var"
    process = _start_hub(port, data_dir)
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        assert ready.json()["status"] == "ready"
        names = [p["name"] for p in ready.json()["checks"]["projections"]]
        assert "event_counts" in names
        assert _nats_pids(data_dir), "the bundled nats-server runs"
        demo = json.loads((data_dir / "demo-tenant.json").read_text())
        assert demo["tenant"] == "demo"
        assert oct((data_dir / "demo-tenant.json").stat().st_mode & 0o777) == "0o600"
        docs = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
        assert docs.status_code == 200
        nats_url = (data_dir / "run" / "nats.url").read_text().strip()
        verdict = asyncio.run(_publish_inbound(nats_url, "hub.inbound.demo.spark.submission"))
        assert verdict["problem"]["reason"] == "spark_not_connected", "inbound runs in `hub run`"
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "The hub is running." in stdout
    assert "hub.inbound.<tenant>.spark.submission|roster" in stdout
    assert f"http://127.0.0.1:{port}" in stdout
    assert demo["api_key"] in stdout  # first start: shown once
    assert "The hub stopped." in stdout
    assert _nats_pids(data_dir) == [], "nats-server stopped with the hub"
    assert not (data_dir / "run" / "nats.url").exists()


def test_sigterm_stops_the_hub_and_its_nats_server(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "var"
    process = _start_hub(port, data_dir)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        assert _nats_pids(data_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "The hub stopped." in stdout
    assert _nats_pids(data_dir) == []
