"""docs/examples/nats_publish.py runs as documented: stored, then a 202 verdict from the hub."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from hub.bootstrap import Runtime
from tests.hub.inbound.publisher import ANSWER_WITHIN_S, consuming
from tests.hub.spark.signals import Partner, head

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "nats_publish.py"


def test_the_documented_publisher_gets_its_submission_stored(
    runtime: Runtime, acme: Partner
) -> None:
    command = [
        sys.executable,
        str(EXAMPLE),
        "--url", runtime.nats_url,
        "--prefix", runtime.settings.stream_prefix,
        "--tenant", "acme",
        "--secret", acme.webhook_secret,
    ]  # fmt: skip
    start = head(runtime)

    async def scenario() -> tuple[int, str]:
        async with consuming(runtime):
            process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
            out, _ = await asyncio.wait_for(process.communicate(), ANSWER_WITHIN_S)
            return process.returncode or 0, out.decode()

    code, printed = asyncio.run(scenario())
    assert code == 0, printed
    stored, verdict = printed.strip().splitlines()
    assert stored.startswith(f"stored in {runtime.settings.stream_prefix.upper()}_INBOUND at ")
    answer = json.loads(verdict)
    assert answer["status"] == 202
    assert answer["result"]["position"] == head(runtime) == start + 1
