"""Development tools: a Spark simulator to run beside the hub, and a client that signs what
Spark sends (SSO links, webhooks). Not for production."""

from __future__ import annotations

from hub.dev.spark_client import (
    embedded_file,
    roster_payload,
    send_webhook,
    sign,
    sso_link,
    sso_token,
    submission_payload,
    url_file,
)
from hub.dev.spark_demo import DemoFile, demo_catalogue, demo_files
from hub.dev.spark_sim import SimulatorError, SparkSimulator
from hub.dev.spark_state import Fault, FileDownload, GradeRequest

__all__ = [
    "DemoFile",
    "Fault",
    "FileDownload",
    "GradeRequest",
    "SimulatorError",
    "SparkSimulator",
    "demo_catalogue",
    "demo_files",
    "embedded_file",
    "roster_payload",
    "send_webhook",
    "sign",
    "sso_link",
    "sso_token",
    "submission_payload",
    "url_file",
]
