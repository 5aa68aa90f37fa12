"""Fixtures of the `hub` command's tests."""

from tests.hub.cli_support import cli_env, open_runtime

__all__ = ["cli_env", "open_runtime"]
